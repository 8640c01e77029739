"""The searches that match existing records before a first sync, as the fake answers them.

Batched IN filters on a custom org-number property, `domain`, `hs_sku` and `name` (string IN values match only
in lower case), the 3,000-character body limit counted with those values, the per-record `kleer_id` a match
writes through batch/update by record id, and the `hasUniqueValue` refusal when another record holds it.
"""

from __future__ import annotations

import json

from tests.sandbox.hubspot_crm.conftest import Api, error

ORGNO = {
    "name": "kleer_orgno",
    "label": "Org. number",
    "type": "string",
    "fieldType": "text",
    "groupName": "companyinformation",
}
KLEER_ID = {**ORGNO, "name": "kleer_id", "label": "Kleer id", "hasUniqueValue": True}


def _companies(api: Api, *rows: dict[str, str]) -> list[str]:
    for definition in (ORGNO, KLEER_ID):
        assert api.post(api.properties("companies"), definition).status_code == 201
    ids = []
    for props in rows:
        created = api.post(api.objects("companies"), {"properties": props})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


def _search(api: Api, object_type: str, name: str, values: list[str], props: list[str]) -> dict:
    body = {
        "filterGroups": [{"filters": [{"propertyName": name, "operator": "IN", "values": values}]}],
        "properties": props,
        "limit": 200,
    }
    response = api.post(f"{api.objects(object_type)}/search", body)
    assert response.status_code == 200, response.text
    return response.json()


def _found(answer: dict, *names: str) -> list[tuple]:
    return [(r["id"], *(r["properties"].get(n) for n in names)) for r in answer["results"]]


def test_in_filters_on_org_number_and_domain_find_every_spelling_given(api):
    a, b, c, d = _companies(
        api,
        {"name": "Acme AB", "kleer_orgno": "556899-5681", "domain": "acme.se"},
        {"name": "Acme Holding", "kleer_orgno": "SE556899568101"},
        {"name": "Beta AB", "kleer_orgno": "5566778899", "domain": "Beta.SE"},
        {"name": "Gamma", "domain": "gamma.se", "kleer_id": "77"},
    )
    by_orgno = _search(
        api, "companies", "kleer_orgno", ["556899-5681", "se556899568101", "5566778899"], ["name", "kleer_orgno"]
    )
    assert _found(by_orgno, "name", "kleer_orgno") == [
        (a, "Acme AB", "556899-5681"),
        (b, "Acme Holding", "SE556899568101"),
        (c, "Beta AB", "5566778899"),
    ]
    # IN compares string values given in lower case; a value in upper case never matches.
    assert _search(api, "companies", "kleer_orgno", ["SE556899568101"], ["name"])["total"] == 0
    by_domain = _search(api, "companies", "domain", ["beta.se", "gamma.se", "nowhere.se"], ["domain", "kleer_id"])
    assert _found(by_domain, "domain", "kleer_id") == [(c, "Beta.SE", None), (d, "gamma.se", "77")]


def test_in_filters_on_sku_and_name_of_products(api):
    made = [
        api.post(api.objects("products"), {"properties": props}).json()["id"]
        for props in (
            {"name": "Konsulttimme", "hs_sku": "KT-1"},
            {"name": "Support", "hs_sku": "sup"},
            {"name": "Konsulttimme"},
        )
    ]
    assert _found(_search(api, "products", "hs_sku", ["kt-1", "sup"], ["hs_sku"]), "hs_sku") == [
        (made[0], "KT-1"),
        (made[1], "sup"),
    ]
    assert _found(_search(api, "products", "name", ["konsulttimme"], ["name"]), "name") == [
        (made[0], "Konsulttimme"),
        (made[2], "Konsulttimme"),
    ]
    assert _search(api, "products", "name", ["Konsulttimme"], ["name"])["total"] == 0


def test_archived_candidates_are_not_found(v3):
    (gone,) = _companies(v3, {"name": "Old AB", "domain": "old.se"})
    assert v3.delete(f"{v3.objects('companies')}/{gone}").status_code == 204
    assert _search(v3, "companies", "domain", ["old.se"], ["name"]) == {"total": 0, "results": []}


def test_a_search_body_over_3000_characters_is_refused_whatever_makes_it_long(v3):
    _companies(v3)
    values = [f"{n:010d}" for n in range(250)]
    body = {
        "filterGroups": [{"filters": [{"propertyName": "kleer_orgno", "operator": "IN", "values": values}]}],
        "properties": ["name"],
        "limit": 200,
    }
    response = v3.post(f"{v3.objects('companies')}/search", body)
    size = len(json.dumps(body))
    assert size > 3000
    assert (response.status_code, response.json()) == (
        400,
        error(response, f"The search request body is {size} characters; the maximum is 3000"),
    )


def test_writing_kleer_id_onto_a_matched_record_by_its_id(v3):
    first, second = _companies(v3, {"name": "Acme AB"}, {"name": "Acme AB (dup)", "kleer_id": "42"})
    path = f"{v3.objects('companies')}/batch/update"
    linked = v3.post(path, {"inputs": [{"id": first, "objectWriteTraceId": "7", "properties": {"kleer_id": "7"}}]})
    assert linked.status_code == 200
    assert [(r["id"], r["properties"]["kleer_id"], r["objectWriteTraceId"]) for r in linked.json()["results"]] == [
        (first, "7", "7")
    ]
    # The upsert by kleer_id now updates that record instead of creating one.
    upsert = v3.post(
        f"{v3.objects('companies')}/batch/upsert",
        {"inputs": [{"id": "7", "idProperty": "kleer_id", "properties": {"phone": "08-1"}}]},
    )
    assert [(r["id"], r["new"]) for r in upsert.json()["results"]] == [(first, False)]
    # A kleer_id another record holds is refused for that input alone (hasUniqueValue).
    taken = v3.post(path, {"inputs": [{"id": first, "objectWriteTraceId": "42", "properties": {"kleer_id": "42"}}]})
    assert taken.status_code == 207
    (problem,) = taken.json()["errors"]
    assert (problem["category"], problem["context"]["objectWriteTraceId"]) == ("VALIDATION_ERROR", ["42"])
    assert f"already has that value on 0-2 {second}" in problem["message"]
