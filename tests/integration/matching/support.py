"""Helpers for matching tests: a CRM that already holds records, and Kleer records with chosen identifiers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from integration.clients.hubspot import HubSpotClient
from integration.models import ObjectSync, RecordError, SyncRun
from integration.services.sync import object_sync_run
from integration.sync.schema import schema_ensure
from sandbox.hubspot.models import RequestLog
from sandbox.hubspot_crm.selectors import objects_for
from sandbox.kleer import store


def orgno(n: int) -> str:
    """A valid Swedish organisation number (10 digits, Luhn check digit) unique per `n`."""
    digits = f"556{n:06d}"
    total = 0
    for index, char in enumerate(digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return f"{digits}{(10 - total % 10) % 10}"


def hubspot(world) -> HubSpotClient:
    return HubSpotClient(installation=world.portal.installation)


def prepare_schema(world, object_type: str) -> ObjectSync:
    """The kleer_… properties exist in the CRM already (a portal that ran the incumbent app has them too)."""
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type=object_type)
    schema_ensure(object_sync=object_sync, mappings=list(object_sync.mappings.all()), hubspot=hubspot(world))
    return object_sync


def crm_create(world, object_type: str, rows: Iterable[Mapping[str, str]]) -> list[str]:
    """Create records in the fake HubSpot as a user would have (batch/create, 100 a call); their ids."""
    client, rows, ids = hubspot(world), list(rows), []
    for start in range(0, len(rows), 100):
        body = {"inputs": [{"properties": dict(r)} for r in rows[start : start + 100]]}
        answer = client.call("POST", f"{client.objects_path(object_type)}/batch/create", json=body).json()
        ids += [r["id"] for r in answer["results"]]
    return ids


def kleer_set(world, kind: str, kleer_id: int | str, **fields: object) -> None:
    resource = store.resource_get(world.company_id, kind, kleer_id)
    resource.data = {**resource.data, **{k.replace("_", "-"): v for k, v in fields.items()}}
    store.resource_save(resource)


def kleer_ids(world, kind: str) -> list[int]:
    return sorted(
        store.Resource.objects.filter(company_id=world.company_id, kind=kind).values_list("kleer_id", flat=True)
    )


def crm(world, object_type: str) -> dict[str, dict]:
    """The fake HubSpot's live records by id."""
    return {r["id"]: r for r in objects_for(world.hub_id, object_type)}


def run(world, object_type: str) -> SyncRun:
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type=object_type)
    return object_sync_run(object_sync_id=object_sync.pk)


def last_log_id() -> int:
    row = RequestLog.objects.order_by("-id").first()
    return row.pk if row else 0


def writes_since(world, after_id: int) -> list[str]:
    rows = RequestLog.objects.filter(hub_id=world.hub_id, id__gt=after_id).exclude(method="GET")
    return [f"{r.method} {r.path}" for r in rows if not r.path.endswith("/search")]


def dashed(n: int) -> str:
    return f"{orgno(n)[:6]}-{orgno(n)[6:]}"


def ambiguous_world(world_factory, n: int = 1):
    """Two Kleer clients: the first has two candidate companies (same org number), the second none."""
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    prepare_schema(world, "clients")
    ids = [str(i) for i in kleer_ids(world, "client")]
    kleer_set(world, "client", ids[0], orgno=dashed(n), email="", name="Acme AB")
    kleer_set(world, "client", ids[1], orgno=dashed(n + 1), email="")
    crm_ids = crm_create(
        world,
        "companies",
        [{"name": "Acme", "kleer_orgno": dashed(n)}, {"name": "Acme (old)", "kleer_orgno": orgno(n)}],
    )
    first = run(world, "clients")
    assert (first.created, first.matched, first.failed) == (1, 0, 1)
    error = RecordError.objects.get(portal=world.portal, kleer_id=ids[0])
    assert [c["id"] for c in error.candidates] == crm_ids
    return world, ids, crm_ids, error
