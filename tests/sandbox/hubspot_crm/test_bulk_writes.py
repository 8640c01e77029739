"""Set-based batch writes (`sandbox/hubspot_crm/bulk.py`): a batch of 100 in a few queries, the same answers as
input by input, and the per-portal latency knob."""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sandbox.hubspot_crm import bulk, registry, seed
from sandbox.hubspot_crm.models import Association, CrmObject, UniqueValue
from sandbox.hubspot_crm.schema import load
from tests.sandbox.hubspot_crm.test_batch import KLEER_ID


def _upsert_inputs(count: int, prefix: str = "K-") -> list[dict]:
    return [
        {
            "id": f"{prefix}{n}",
            "idProperty": "kleer_id",
            "properties": {"name": f"Bolag {n}"},
            "objectWriteTraceId": f"{n}",
        }
        for n in range(count)
    ]


def test_a_batch_upsert_of_100_takes_a_few_queries_and_answers_every_input(v3):
    assert v3.post(v3.properties("companies"), KLEER_ID).status_code == 201
    path = f"{v3.objects('companies')}/batch/upsert"
    assert v3.post(path, {"inputs": _upsert_inputs(50)}).status_code == 200  # 50 exist, 50 are new below
    schema = load(v3.hub_id, registry.OBJECT_TYPES[registry.COMPANIES])
    inputs = _upsert_inputs(100)
    for item in inputs[:50]:
        item["properties"]["name"] += " AB"
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        state = seed.lock_portal(v3.hub_id)
        written = bulk.write_upserts(schema, state, inputs)
    assert written is not None
    results = bulk.upsert_results(schema, written)  # as the view does, once the portal lock is released
    assert [r["new"] for r in results] == [False] * 50 + [True] * 50
    assert [r["properties"]["name"] for r in results][:2] == ["Bolag 0 AB", "Bolag 1 AB"]
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    # The portal lock, the clock, holders of the keys (which also answer for the new records' one unique value),
    # one statement for the id counter, the new records and their unique values, one update of the 50 changed.
    assert len(statements) == 5
    assert CrmObject.objects.filter(hub_id=v3.hub_id).count() == 100
    assert UniqueValue.objects.filter(hub_id=v3.hub_id, property_name="kleer_id").count() == 100


def test_an_invalid_input_sends_the_batch_input_by_input_with_the_same_207(v3):
    v3.post(v3.properties("companies"), KLEER_ID)
    inputs = _upsert_inputs(3)
    inputs[1]["properties"]["nope"] = "x"
    answer = v3.post(f"{v3.objects('companies')}/batch/upsert", {"inputs": inputs})
    assert answer.status_code == 207
    assert [r["objectWriteTraceId"] for r in answer.json()["results"]] == ["0", "2"]
    assert answer.json()["errors"][0]["context"] == {"objectWriteTraceId": ["1"]}


def test_a_unique_value_held_by_another_record_falls_back_to_the_per_input_error(v3):
    v3.post(v3.properties("companies"), KLEER_ID)
    v3.post(v3.properties("companies"), {**KLEER_ID, "name": "org_nr", "label": "Org nr"})
    path = f"{v3.objects('companies')}/batch/upsert"
    v3.post(path, {"inputs": [{"id": "A", "idProperty": "kleer_id", "properties": {"name": "A", "org_nr": "556"}}]})
    taken = {"id": "B", "idProperty": "kleer_id", "properties": {"org_nr": "556"}, "objectWriteTraceId": "b"}
    clash = v3.post(path, {"inputs": [*_upsert_inputs(1), taken]})
    assert clash.status_code == 207
    assert clash.json()["errors"][0]["context"]["objectWriteTraceId"] == ["b"]
    assert CrmObject.objects.filter(hub_id=v3.hub_id).count() == 2


def test_a_new_record_taking_a_unique_value_that_an_addressed_record_holds_falls_back(v3):
    """The keys' holders answer for the new records' unique values they cover: here the second input's org_nr is
    the first input's key, held by the record that input updates."""
    v3.post(v3.properties("companies"), KLEER_ID)
    v3.post(v3.properties("companies"), {**KLEER_ID, "name": "org_nr", "label": "Org nr"})
    path = f"{v3.objects('companies')}/batch/upsert"
    v3.post(path, {"inputs": [{"id": "A", "idProperty": "kleer_id", "properties": {"name": "A", "org_nr": "556"}}]})
    inputs = [
        {"id": "556", "idProperty": "org_nr", "properties": {"name": "A2"}, "objectWriteTraceId": "a"},
        {"id": "B", "idProperty": "kleer_id", "properties": {"org_nr": "556"}, "objectWriteTraceId": "b"},
    ]
    clash = v3.post(path, {"inputs": inputs})
    assert clash.status_code == 207
    assert [r["objectWriteTraceId"] for r in clash.json()["results"]] == ["a"]
    assert clash.json()["errors"][0]["context"]["objectWriteTraceId"] == ["b"]
    assert CrmObject.objects.filter(hub_id=v3.hub_id).count() == 1


def three_companies_and_deals(v3) -> tuple[list[dict], list[dict]]:
    """Three companies and three deals created through the API (their answers' results)."""
    companies = v3.post(
        f"{v3.objects('companies')}/batch/create", {"inputs": [{"properties": {"name": f"C{n}"}} for n in range(3)]}
    ).json()["results"]
    stage = {"pipeline": "default", "dealstage": "appointmentscheduled"}
    deals = [{"properties": {"dealname": f"D{n}", **stage}} for n in range(3)]
    deals = v3.post(f"{v3.objects('deals')}/batch/create", {"inputs": deals}).json()["results"]
    return companies, deals


def test_an_association_batch_answers_the_labels_stored_before_and_by_it(v3):
    companies, deals = three_companies_and_deals(v3)
    unlabelled = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]
    primary = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]
    labelled_before = f"{v3.record_associations('deals', deals[0]['id'])}/companies/{companies[0]['id']}"
    assert v3.put(labelled_before, primary).status_code == 201
    inputs = [
        {"from": {"id": deals[0]["id"]}, "to": {"id": companies[0]["id"]}, "types": unlabelled},
        {"from": {"id": deals[1]["id"]}, "to": {"id": companies[1]["id"]}, "types": [*unlabelled, *primary]},
        {"from": {"id": deals[2]["id"]}, "to": {"id": companies[2]["id"]}, "types": unlabelled},
    ]
    answer = v3.post(f"{v3.associations('deals', 'companies')}/batch/create", {"inputs": inputs})
    assert answer.status_code == 201
    assert [(r["fromObjectId"], r["labels"]) for r in answer.json()["results"]] == [
        (int(deals[0]["id"]), ["Primary"]),
        (int(deals[1]["id"]), ["Primary"]),
        (int(deals[2]["id"]), []),
    ]
    # Each pair and its inverse, per type: the labelled pair stored before has both types now.
    edges = Association.objects.filter(hub_id=v3.hub_id)
    assert sorted(edges.values_list("type_id", flat=True)) == [5, 5, 6, 6, 341, 341, 341, 342, 342, 342]
    assert sorted(edges.filter(type_id__in=[5, 6]).values_list("label", flat=True)) == ["Primary"] * 4


def test_a_batch_of_association_pairs_is_written_set_based_and_answered_per_pair(v3):
    companies, deals = three_companies_and_deals(v3)
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]
    inputs = [
        {"from": {"id": d["id"]}, "to": {"id": c["id"]}, "types": types} for d, c in zip(deals, companies, strict=True)
    ]
    answer = v3.post(f"{v3.associations('deals', 'companies')}/batch/create", {"inputs": inputs})
    assert answer.status_code == 201
    assert [(r["fromObjectId"], r["toObjectId"]) for r in answer.json()["results"]] == [
        (int(d["id"]), int(c["id"])) for d, c in zip(deals, companies, strict=True)
    ]
    assert Association.objects.filter(hub_id=v3.hub_id).count() == 6  # each pair and its inverse


def test_a_missing_record_in_an_association_batch_gets_its_own_error(v3):
    company = v3.post(f"{v3.objects('companies')}", {"properties": {"name": "C"}}).json()
    deal = v3.post(
        f"{v3.objects('deals')}",
        {"properties": {"dealname": "D", "pipeline": "default", "dealstage": "appointmentscheduled"}},
    ).json()
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]
    inputs = [
        {"from": {"id": deal["id"]}, "to": {"id": company["id"]}, "types": types},
        {"from": {"id": deal["id"]}, "to": {"id": "999"}, "types": types},
    ]
    answer = v3.post(f"{v3.associations('deals', 'companies')}/batch/create", {"inputs": inputs})
    assert answer.status_code == 207
    assert len(answer.json()["results"]) == 1
    context = answer.json()["errors"][0]["context"]
    assert (context["fromObjectId"], context["toObjectId"]) == ([deal["id"]], ["999"])


def test_latency_is_set_per_portal_and_delays_each_call(v3, live_server):
    import requests

    control = f"{live_server.url}/sandbox/hubspot/_fake/portals/{v3.hub_id}/latency"
    assert requests.put(control, json={"latency_ms": 300, "jitter_ms": 400}, timeout=10).status_code == 400
    assert requests.put(control, json={"latency_ms": 300, "jitter_ms": 50}, timeout=10).json() == {
        "latency_ms": 300,
        "jitter_ms": 50,
    }
    started = time.monotonic()
    assert v3.get(v3.objects("companies")).status_code == 200
    assert time.monotonic() - started >= 0.25
    requests.put(control, json={"latency_ms": 0}, timeout=10)
    assert requests.get(control, timeout=10).json() == {"latency_ms": 0, "jitter_ms": 0}
