"""Batch object endpoints: limits, 207 Multi-Status, all-or-nothing, upserts, on both path styles."""

from __future__ import annotations

import pytest

from tests.sandbox.hubspot_crm.conftest import error, invalid

KLEER_ID = {
    "name": "kleer_id",
    "label": "Kleer id",
    "type": "string",
    "fieldType": "text",
    "groupName": "companyinformation",
    "hasUniqueValue": True,
}
UNKNOWN = 'Property "nope" does not exist'
MISSING = "Could not get some COMPANY objects, they may be deleted or not exist. Check that ids are valid."


def _record(record_id: str, t: str, **props: str) -> dict:
    return {
        "id": record_id,
        "properties": {"createdate": t, "hs_lastmodifieddate": t, "hs_object_id": record_id, **props},
        "createdAt": t,
        "updatedAt": t,
        "archived": False,
    }


def test_batch_create_answers_201_when_every_input_is_valid(api, frozen):
    t = frozen
    response = api.post(
        f"{api.objects('companies')}/batch/create",
        {"inputs": [{"properties": {"name": "A"}}, {"properties": {"name": "B"}}]},
    )
    assert response.status_code == 201
    assert response.json() == {
        "status": "COMPLETE",
        "results": [_record("1000000001", t, name="A"), _record("1000000002", t, name="B")],
        "startedAt": t,
        "completedAt": t,
    }


def test_batch_create_with_trace_ids_answers_207_and_keeps_the_valid_inputs(api, frozen):
    t = frozen
    inputs = [
        {"properties": {"name": "A"}, "objectWriteTraceId": "t1"},
        {"properties": {"name": "B", "nope": "1"}, "objectWriteTraceId": "t2"},
        {"properties": {"name": "C"}, "objectWriteTraceId": "t3"},
    ]
    response = api.post(f"{api.objects('companies')}/batch/create", {"inputs": inputs})
    assert response.status_code == 207
    problem = invalid(response, api.hub_id, ("nope", "PROPERTY_DOESNT_EXIST", UNKNOWN))
    assert response.json() == {
        "status": "COMPLETE",
        "results": [
            {**_record("1000000001", t, name="A"), "objectWriteTraceId": "t1"},
            # The refused input was never given an id.
            {**_record("1000000002", t, name="C"), "objectWriteTraceId": "t3"},
        ],
        "numErrors": 1,
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": problem["message"],
                "context": {"objectWriteTraceId": ["t2"]},
                "errors": problem["errors"],
                "links": {},
            }
        ],
        "startedAt": t,
        "completedAt": t,
    }
    names = [r["properties"]["name"] for r in api.get(api.objects("companies")).json()["results"]]
    assert names == ["A", "C"]


def test_errors_can_be_set_to_name_no_input_as_some_real_207s_do(api, monkeypatch):
    from sandbox.hubspot_crm.views import batch

    monkeypatch.setattr(batch, "ERROR_CONTEXT", "none")
    inputs = [
        {"properties": {"name": "A"}, "objectWriteTraceId": "t1"},
        {"properties": {"name": "B", "nope": "1"}, "objectWriteTraceId": "t2"},
    ]
    response = api.post(f"{api.objects('companies')}/batch/create", {"inputs": inputs})
    problem = invalid(response, api.hub_id, ("nope", "PROPERTY_DOESNT_EXIST", UNKNOWN))
    assert (response.status_code, response.json()["numErrors"]) == (207, 1)
    assert response.json()["errors"] == [
        {"status": "error", "category": "VALIDATION_ERROR", "message": problem["message"]}
    ]


@pytest.mark.parametrize("traced", [(), ("t1",)], ids=["no trace ids", "some trace ids"])
def test_batch_create_without_trace_ids_on_every_input_is_all_or_nothing(api, traced):
    inputs = [{"properties": {"name": "A"}}, {"properties": {"name": "B", "nope": "1"}}]
    for item, trace in zip(inputs, traced, strict=False):
        item["objectWriteTraceId"] = trace
    response = api.post(f"{api.objects('companies')}/batch/create", {"inputs": inputs})
    assert response.status_code == 400
    assert response.json() == invalid(response, api.hub_id, ("nope", "PROPERTY_DOESNT_EXIST", UNKNOWN))
    assert api.get(api.objects("companies")).json() == {"results": []}


@pytest.mark.parametrize("action", ["create", "read", "update", "upsert", "archive"])
def test_more_than_100_inputs_are_refused(v3, action):
    item = {
        "create": {"properties": {"name": "x"}},
        "read": {"id": "1"},
        "update": {"id": "1", "properties": {"name": "x"}},
        "upsert": {"id": "1", "idProperty": "kleer_id", "properties": {}},
        "archive": {"id": "1"},
    }[action]
    inputs = [dict(item, id=str(i)) if "id" in item else item for i in range(101)]
    response = v3.post(f"{v3.objects('companies')}/batch/{action}", {"inputs": inputs})
    assert response.status_code == 400
    assert response.json() == error(
        response,
        "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again",
    )


def test_batch_read_answers_200_207_and_404(api):
    path = api.objects("companies")
    a = api.post(path, {"properties": {"name": "A", "domain": "a.se"}}).json()["id"]
    b = api.post(path, {"properties": {"name": "B"}}).json()["id"]
    ok = api.post(
        f"{path}/batch/read", {"inputs": [{"id": a}, {"id": b}], "properties": ["domain"], "propertiesWithHistory": []}
    )
    assert ok.status_code == 200
    assert [(r["id"], r["properties"]) for r in ok.json()["results"]] == [
        (a, {"domain": "a.se"}),
        (b, {"domain": None}),
    ]
    some = api.post(
        f"{path}/batch/read", {"inputs": [{"id": a}, {"id": "42"}], "properties": [], "propertiesWithHistory": []}
    )
    assert some.status_code == 207
    assert some.json()["numErrors"] == 1
    assert some.json()["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": MISSING,
            "context": {"ids": ["42"]},
            "errors": [],
            "links": {},
        }
    ]
    none = api.post(
        f"{path}/batch/read", {"inputs": [{"id": "42"}, {"id": "43"}], "properties": [], "propertiesWithHistory": []}
    )
    assert none.status_code == 404
    assert none.json() == error(
        none,
        MISSING,
        "OBJECT_NOT_FOUND",
        context={"ids": ["42", "43"]},
    )


def test_batch_read_by_id_property_and_history_limit(v3):
    assert v3.post(v3.properties("companies"), KLEER_ID).status_code == 201
    path = v3.objects("companies")
    v3.post(path, {"properties": {"name": "A", "kleer_id": "K-1"}})
    read = v3.post(f"{path}/batch/read", {"inputs": [{"id": "K-1"}], "idProperty": "kleer_id", "properties": ["name"]})
    assert read.json()["results"][0]["properties"] == {"name": "A"}
    non_unique = v3.post(f"{path}/batch/read", {"inputs": [{"id": "A"}], "idProperty": "name"})
    assert non_unique.json() == error(non_unique, "Unable to perform read by non-unique 0-2 property name")
    history = v3.post(
        f"{path}/batch/read", {"inputs": [{"id": str(i)} for i in range(51)], "propertiesWithHistory": ["name"]}
    )
    assert history.json() == error(
        history, "The maximum number of inputs supported in a batch request for property histories is 50"
    )


def test_batch_update(api):
    path = api.objects("companies")
    a = api.post(path, {"properties": {"name": "A"}}).json()["id"]
    b = api.post(path, {"properties": {"name": "B"}}).json()["id"]
    ok = api.post(f"{path}/batch/update", {"inputs": [{"id": a, "properties": {"city": "Lund"}}]})
    assert ok.status_code == 200
    assert ok.json()["results"][0]["properties"]["city"] == "Lund"
    some = api.post(
        f"{path}/batch/update",
        {"inputs": [{"id": b, "properties": {"city": "Umeå"}}, {"id": "77", "properties": {"city": "x"}}]},
    )
    assert some.status_code == 207
    assert some.json()["errors"][0]["context"] == {"ids": ["77"]}
    assert [r["id"] for r in some.json()["results"]] == [b]
    bad = api.post(
        f"{path}/batch/update",
        {"inputs": [{"id": a, "properties": {"city": "Visby"}}, {"id": b, "properties": {"nope": "1"}}]},
    )
    assert bad.status_code == 400
    assert api.get(f"{path}/{a}", params={"properties": "city"}).json()["properties"] == {"city": "Lund"}
    dup = api.post(f"{path}/batch/update", {"inputs": [{"id": a, "properties": {}}, {"id": a, "properties": {}}]})
    assert dup.json() == error(
        dup, f"Duplicate IDs found in batch input: [{a}]. IDs must be unique", context={"ids": [a]}
    )


def test_upsert_by_a_unique_property_creates_then_updates(api, frozen):
    assert api.post(api.properties("companies"), KLEER_ID).status_code == 201
    path = f"{api.objects('companies')}/batch/upsert"
    first = api.post(path, {"inputs": [{"id": "K-1", "idProperty": "kleer_id", "properties": {"name": "Acme"}}]})
    assert first.status_code == 200
    assert first.json() == {
        "status": "COMPLETE",
        "results": [{**_record("1000000001", frozen, name="Acme", kleer_id="K-1"), "new": True}],
        "startedAt": frozen,
        "completedAt": frozen,
    }
    second = api.post(path, {"inputs": [{"id": "K-1", "idProperty": "kleer_id", "properties": {"name": "Acme AB"}}]})
    assert second.json()["results"] == [{**_record("1000000001", frozen, name="Acme AB", kleer_id="K-1"), "new": False}]
    assert len(api.get(api.objects("companies")).json()["results"]) == 1


def test_upsert_by_a_non_unique_property_is_refused(api):
    path = f"{api.objects('companies')}/batch/upsert"
    by_domain = api.post(path, {"inputs": [{"id": "acme.se", "idProperty": "domain", "properties": {"name": "A"}}]})
    assert by_domain.status_code == 400
    assert by_domain.json() == error(by_domain, "Unable to perform update/upsert by non-unique 0-2 property domain")
    deals = api.post(
        f"{api.objects('deals')}/batch/upsert", {"inputs": [{"id": "A", "idProperty": "dealname", "properties": {}}]}
    )
    assert deals.json() == error(deals, "Unable to perform update/upsert by non-unique 0-3 property dealname")
    no_id_property = api.post(path, {"inputs": [{"id": "1", "properties": {"name": "A"}}]})
    assert no_id_property.json() == error(
        no_id_property, "Unable to perform update/upsert by non-unique 0-2 property hs_object_id"
    )
    unknown = api.post(path, {"inputs": [{"id": "1", "idProperty": "nope", "properties": {}}]})
    assert unknown.json() == error(unknown, "Unable to perform update/upsert by non-unique 0-2 property nope")
    assert api.get(api.objects("companies")).json() == {"results": []}


def test_upsert_refuses_duplicate_ids_and_reports_partial_failures(v3):
    v3.post(v3.properties("companies"), KLEER_ID)
    path = f"{v3.objects('companies')}/batch/upsert"
    twice = {"id": "K-1", "idProperty": "kleer_id", "properties": {"name": "A"}}
    dup = v3.post(path, {"inputs": [twice, twice]})
    assert dup.status_code == 400
    assert dup.json() == error(
        dup, "Duplicate IDs found in batch input: [K-1]. IDs must be unique", context={"ids": ["K-1"]}
    )
    traced = v3.post(
        path,
        {
            "inputs": [
                {"id": "K-1", "idProperty": "kleer_id", "properties": {"name": "A"}, "objectWriteTraceId": "a"},
                {"id": "K-2", "idProperty": "kleer_id", "properties": {"nope": "B"}, "objectWriteTraceId": "b"},
            ]
        },
    )
    assert traced.status_code == 207
    assert [r["properties"]["kleer_id"] for r in traced.json()["results"]] == ["K-1"]
    assert traced.json()["errors"][0]["context"] == {"objectWriteTraceId": ["b"]}
    untraced = v3.post(
        path,
        {
            "inputs": [
                {"id": "K-3", "idProperty": "kleer_id", "properties": {"name": "C"}},
                {"id": "K-4", "idProperty": "kleer_id", "properties": {"nope": "D"}},
            ]
        },
    )
    assert untraced.status_code == 400
    assert [r["properties"]["name"] for r in v3.get(v3.objects("companies")).json()["results"]] == ["A"]


def test_batch_archive_is_idempotent(api):
    path = api.objects("products")
    a = api.post(path, {"properties": {"name": "A"}}).json()["id"]
    first = api.post(f"{path}/batch/archive", {"inputs": [{"id": a}, {"id": "999"}]})
    assert (first.status_code, first.content) == (204, b"")
    assert api.post(f"{path}/batch/archive", {"inputs": [{"id": a}]}).status_code == 204
    assert api.get(path).json() == {"results": []}


def test_batch_read_refuses_malformed_property_lists_and_ids(v3):
    """A bare string is not split into characters and an object id is not looked up (both used to be quiet)."""
    path = f"{v3.objects('companies')}/batch/read"
    a = v3.post(v3.objects("companies"), {"properties": {"name": "A"}}).json()["id"]
    as_string = v3.post(path, {"inputs": [{"id": a}], "properties": "name"})
    assert (as_string.status_code, as_string.json()) == (
        400,
        error(
            as_string,
            "Invalid input JSON on line 1, column 1: properties must be an array of property names, not 'name'",
        ),
    )
    history = v3.post(path, {"inputs": [{"id": a}], "propertiesWithHistory": "name"})
    assert history.json()["message"].endswith("propertiesWithHistory must be an array of property names, not 'name'")
    object_id = v3.post(path, {"inputs": [{"id": {"value": a}}]})
    assert (object_id.status_code, object_id.json()) == (
        400,
        error(object_id, f"Invalid input JSON on line 1, column 1: id must be a string, not {{'value': '{a}'}}"),
    )
    archive = v3.post(f"{v3.objects('companies')}/batch/archive", {"inputs": [{"id": [a]}]})
    assert archive.json() == error(archive, f"Invalid input JSON on line 1, column 1: id must be a string, not ['{a}']")
    assert v3.get(f"{v3.objects('companies')}/{a}").status_code == 200
