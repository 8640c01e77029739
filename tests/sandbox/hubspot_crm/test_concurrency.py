"""`hasUniqueValue` under concurrency: racing requests over real sockets never create duplicates."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests

from tests.sandbox.hubspot_crm.conftest import Api

THREADS = 6


def _race(work: Callable[[int], requests.Response]) -> list[requests.Response]:
    """Run `work(i)` in THREADS threads released at the same instant."""
    barrier = threading.Barrier(THREADS)
    responses: list[requests.Response | None] = [None] * THREADS

    def run(index: int) -> None:
        barrier.wait()
        responses[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(response is not None for response in responses)
    return responses  # type: ignore[return-value]


def _unique_property(api: Api) -> None:
    created = api.post(
        api.properties("companies"),
        {
            "name": "kleer_id",
            "label": "Kleer id",
            "type": "string",
            "fieldType": "text",
            "groupName": "companyinformation",
            "hasUniqueValue": True,
        },
    )
    assert created.status_code == 201


@pytest.mark.concurrent_db
def test_racing_upserts_of_one_unique_value_create_exactly_one_record(v3):
    _unique_property(v3)
    path = f"{v3.objects('companies')}/batch/upsert"

    def upsert(index: int) -> requests.Response:
        return v3.post(
            path, {"inputs": [{"id": "K-1", "idProperty": "kleer_id", "properties": {"name": f"Acme {index}"}}]}
        )

    responses = _race(upsert)
    assert [r.status_code for r in responses] == [200] * THREADS
    results = [r.json()["results"][0] for r in responses]
    assert sorted(result["new"] for result in results) == [False] * (THREADS - 1) + [True]
    assert len({result["id"] for result in results}) == 1
    records = v3.get(v3.objects("companies"), params={"properties": "kleer_id"}).json()["results"]
    assert [record["properties"] for record in records] == [{"kleer_id": "K-1"}]


@pytest.mark.concurrent_db
def test_racing_creates_with_one_unique_value_leave_one_record(v3):
    _unique_property(v3)

    def create(index: int) -> requests.Response:
        return v3.post(v3.objects("companies"), {"properties": {"name": f"Acme {index}", "kleer_id": "K-9"}})

    statuses = sorted(r.status_code for r in _race(create))
    assert statuses == [201] + [400] * (THREADS - 1)
    assert len(v3.get(v3.objects("companies")).json()["results"]) == 1


def test_the_database_refuses_a_duplicate_unique_value(transactional_db):
    """The last line of defence: the unique constraint itself, without the portal lock."""
    import pytest
    from django.db import IntegrityError, transaction

    from sandbox.hubspot_crm.clock import now
    from sandbox.hubspot_crm.models import CrmObject, UniqueValue

    stamp = now()
    rows = [
        CrmObject.objects.create(
            hub_id=1, object_type_id="0-2", object_id=i, created_at=stamp, updated_at=stamp, index_due_at=stamp
        )
        for i in (1, 2)
    ]
    fields = {"hub_id": 1, "object_type_id": "0-2", "property_name": "kleer_id", "digest": "d" * 64, "value": "K"}
    UniqueValue.objects.create(crm_object=rows[0], **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        UniqueValue.objects.create(crm_object=rows[1], **fields)
