"""CRM search: operators, limits, paging and the optional index lag, on both path styles."""

from __future__ import annotations

import json

import pytest
import requests

from tests.sandbox.hubspot_crm.conftest import Api, error


def _search(api: Api, object_type: str, **body) -> requests.Response:
    return api.post(f"{api.objects(object_type)}/search", body)


def _names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["properties"]["name"] for r in response.json()["results"]]


def _where(*filters: dict) -> list[dict]:
    return [{"filters": list(filters)}]


@pytest.fixture
def catalogue(api: Api) -> Api:
    path = api.objects("products")
    for name, price, sku in (
        ("Consulting hour", "1200", "C-1"),
        ("Support plan", "300", "s-2"),
        ("Laptop", "9000", None),
    ):
        props = {"name": name, "price": price}
        if sku:
            props["hs_sku"] = sku
        assert api.post(path, {"properties": props}).status_code == 201
    return api


def test_search_answers_in_hubspots_shape(api, frozen):
    created = api.post(api.objects("companies"), {"properties": {"name": "Acme AB", "city": "Lund"}}).json()["id"]
    response = _search(
        api,
        "companies",
        filterGroups=_where({"propertyName": "city", "operator": "EQ", "value": "LUND"}),
        properties=["name"],
    )
    assert response.status_code == 200
    assert "X-HubSpot-RateLimit-Max" not in response.headers
    assert response.json() == {
        "total": 1,
        "results": [
            {
                "id": created,
                "properties": {
                    "createdate": frozen,
                    "hs_lastmodifieddate": frozen,
                    "hs_object_id": created,
                    "name": "Acme AB",
                },
                "createdAt": frozen,
                "updatedAt": frozen,
                "archived": False,
            }
        ],
    }


def test_filter_operators(catalogue):
    api = catalogue

    def names(*filters: dict) -> list[str]:
        return _names(_search(api, "products", filterGroups=_where(*filters), properties=["name"]))

    assert names({"propertyName": "price", "operator": "GT", "value": "1000"}) == ["Consulting hour", "Laptop"]
    assert names({"propertyName": "price", "operator": "LTE", "value": "1200"}) == ["Consulting hour", "Support plan"]
    assert names({"propertyName": "price", "operator": "LT", "value": "300"}) == []
    assert names({"propertyName": "price", "operator": "GTE", "value": "9000"}) == ["Laptop"]
    assert names({"propertyName": "price", "operator": "BETWEEN", "value": "300", "highValue": "1200"}) == [
        "Consulting hour",
        "Support plan",
    ]
    assert names({"propertyName": "hs_sku", "operator": "NEQ", "value": "c-1"}) == ["Support plan", "Laptop"]
    assert names({"propertyName": "hs_sku", "operator": "HAS_PROPERTY"}) == ["Consulting hour", "Support plan"]
    assert names({"propertyName": "hs_sku", "operator": "NOT_HAS_PROPERTY"}) == ["Laptop"]
    assert names({"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "plan"}) == ["Support plan"]
    assert names({"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "consult*"}) == ["Consulting hour"]
    assert names({"propertyName": "name", "operator": "NOT_CONTAINS_TOKEN", "value": "plan"}) == [
        "Consulting hour",
        "Laptop",
    ]
    # IN on a string property: values must be lowercase (HubSpot's search guide); upper case never matches.
    assert names({"propertyName": "hs_sku", "operator": "IN", "values": ["c-1", "s-2"]}) == [
        "Consulting hour",
        "Support plan",
    ]
    assert names({"propertyName": "hs_sku", "operator": "IN", "values": ["C-1"]}) == []
    assert names({"propertyName": "hs_sku", "operator": "NOT_IN", "values": ["c-1"]}) == ["Support plan", "Laptop"]
    assert names(
        {"propertyName": "price", "operator": "GT", "value": "100"},
        {"propertyName": "name", "operator": "EQ", "value": "laptop"},
    ) == ["Laptop"]
    groups = [
        {"filters": [{"propertyName": "name", "operator": "EQ", "value": "Laptop"}]},
        {"filters": [{"propertyName": "hs_sku", "operator": "EQ", "value": "S-2"}]},
    ]
    assert _names(_search(api, "products", filterGroups=groups, properties=["name"])) == ["Support plan", "Laptop"]


def test_enumerations_compare_case_sensitively(v3):
    v3.post(v3.objects("companies"), {"properties": {"name": "Acme", "lifecyclestage": "customer"}})
    where = _where({"propertyName": "lifecyclestage", "operator": "EQ", "value": "Customer"})
    assert _names(_search(v3, "companies", filterGroups=where, properties=["name"])) == []
    where = _where({"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"})
    assert _names(_search(v3, "companies", filterGroups=where, properties=["name"])) == ["Acme"]


def test_query_sorts_and_paging(catalogue):
    api = catalogue
    assert _names(_search(api, "products", query="support", properties=["name"])) == ["Support plan"]
    assert _names(_search(api, "products", query="c-1", properties=["name"])) == ["Consulting hour"]
    by_price = _search(api, "products", sorts=["-price"], properties=["name"])
    assert _names(by_price) == ["Laptop", "Consulting hour", "Support plan"]
    by_name = _search(api, "products", sorts=[{"propertyName": "name", "direction": "ASCENDING"}], properties=["name"])
    assert _names(by_name) == ["Consulting hour", "Laptop", "Support plan"]
    first = _search(api, "products", limit=2, properties=["name"])
    assert (first.json()["total"], _names(first), first.json()["paging"]) == (
        3,
        ["Consulting hour", "Support plan"],
        {"next": {"after": "2"}},
    )
    last = _search(api, "products", limit=2, after="2", properties=["name"])
    assert _names(last) == ["Laptop"]
    assert "paging" not in last.json()
    two_sorts = _search(api, "products", sorts=["name", "price"])
    assert two_sorts.json() == error(two_sorts, "Only one sort is allowed; got 2")


def test_search_limits(v3):
    cases = [
        ({"limit": 201}, "limit must be at most 200; got 201"),
        ({"after": "10000"}, "Search results are limited to 10000; after=10000 pages past them"),
        ({"filterGroups": [{"filters": []}] * 6}, "Too many filterGroups: 6; the maximum is 5"),
        (
            {"filterGroups": _where(*[{"propertyName": "name", "operator": "HAS_PROPERTY"}] * 7)},
            "Too many filters in a group: 7; the maximum is 6",
        ),
        (
            {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "HAS_PROPERTY"}] * 4}] * 5},
            "Too many filters: 20; the maximum is 18 across all filterGroups",
        ),
        (
            {"filterGroups": _where({"propertyName": "nope", "operator": "EQ", "value": "x"})},
            'Unable to filter on property "nope": it does not exist on 0-2',
        ),
        (
            {"filterGroups": _where({"propertyName": "name", "operator": "LIKE", "value": "x"})},
            "Unknown filter operator 'LIKE'; expected one of "
            "['BETWEEN', 'CONTAINS_TOKEN', 'EQ', 'GT', 'GTE', 'HAS_PROPERTY', 'IN', 'LT', 'LTE', 'NEQ', "
            "'NOT_CONTAINS_TOKEN', 'NOT_HAS_PROPERTY', 'NOT_IN']",
        ),
    ]
    for body, message in cases:
        response = _search(v3, "companies", **body)
        assert (response.status_code, response.json()) == (400, error(response, message)), message
    long_body = {"query": "x" * 3000}
    too_long = _search(v3, "companies", **long_body)
    size = len(json.dumps(long_body))
    assert too_long.json() == error(too_long, f"The search request body is {size} characters; the maximum is 3000")
    assert _search(v3, "companies", limit=200, after="9999").status_code == 200


def test_archived_records_never_appear(v3):
    record = v3.post(v3.objects("companies"), {"properties": {"name": "Gone"}}).json()["id"]
    v3.delete(f"{v3.objects('companies')}/{record}")
    assert _search(v3, "companies").json() == {"total": 0, "results": []}


def test_index_lag_hides_new_records_until_it_passes(api):
    from sandbox.hubspot import clock

    lag = api.put(f"/_fake/crm/{api.hub_id}/search-lag", {"seconds": 30})
    assert lag.json() == {"hubId": api.hub_id, "seconds": 30.0}
    clock.freeze()
    where = _where({"propertyName": "name", "operator": "EQ", "value": "Acme"})
    created = api.post(api.objects("companies"), {"properties": {"name": "Acme"}})
    assert created.status_code == 201
    # The race a search-then-create sync loses: the record exists, search does not see it yet.
    assert _search(api, "companies", filterGroups=where).json() == {"total": 0, "results": []}
    assert api.get(f"{api.objects('companies')}/{created.json()['id']}").status_code == 200
    clock.advance(29)
    assert _search(api, "companies", filterGroups=where).json()["total"] == 0
    clock.advance(1)
    assert _names(_search(api, "companies", filterGroups=where, properties=["name"])) == ["Acme"]


def test_index_lag_shows_the_old_values_of_an_updated_record(v3):
    from sandbox.hubspot import clock

    record = v3.post(v3.objects("companies"), {"properties": {"name": "Old name"}}).json()["id"]
    v3.post(f"/_fake/crm/{v3.hub_id}/search-lag", {"seconds": 10})
    clock.freeze()
    v3.patch(f"{v3.objects('companies')}/{record}", {"properties": {"name": "New name"}})
    assert _names(_search(v3, "companies", properties=["name"])) == ["Old name"]
    new = _where({"propertyName": "name", "operator": "EQ", "value": "new name"})
    assert _search(v3, "companies", filterGroups=new).json()["total"] == 0
    flushed = v3.post(f"/_fake/crm/{v3.hub_id}/search-index/flush")
    assert flushed.json() == {"hubId": v3.hub_id, "flushed": 1}
    assert _names(_search(v3, "companies", filterGroups=new, properties=["name"])) == ["New name"]


BAD_JSON = "Invalid input JSON on line 1, column 1: "


def test_malformed_sorts_and_filters_are_refused(v3):
    """A misspelt sort direction or filter key must not silently change what a search returns (§2.3)."""
    cases = [
        (
            {"sorts": [{"propertyName": "name", "direction": "DESC"}]},
            BAD_JSON + "sort direction must be one of ['ASCENDING', 'DESCENDING'], not 'DESC'",
        ),
        ({"sorts": [{"direction": "DESCENDING"}]}, BAD_JSON + 'Missing required field "propertyName" in sort'),
        (
            {"sorts": [{"propertyName": "name", "order": "DESCENDING"}]},
            BAD_JSON + "Unrecognized field \"order\" in sort; known fields: ['direction', 'propertyName']",
        ),
        (
            {"filterGroups": _where({"propertyName": "name", "operator": "EQ", "value": "A", "values": ["a"], "x": 1})},
            BAD_JSON + 'Unrecognized field "x" in filter; known fields: '
            "['highValue', 'operator', 'propertyName', 'value', 'values']",
        ),
        (
            {"filterGroups": [{"filters": [], "filter": []}]},
            BAD_JSON + "Unrecognized field \"filter\" in filter group; known fields: ['filters']",
        ),
        ({"filterGroups": [{"filters": {"propertyName": "name"}}]}, BAD_JSON + "filters must be an array"),
        (
            {"filterGroups": _where({"propertyName": "name", "operator": "IN", "values": "acme"})},
            BAD_JSON + "filter values must be an array, not 'acme'",
        ),
        (
            {"filterGroups": _where({"propertyName": "name", "operator": "EQ", "value": {"eq": "A"}})},
            BAD_JSON + "filter values must be strings, numbers or booleans: "
            "{'eq': 'A'} is not a valid property value; values must be strings.",
        ),
    ]
    for body, message in cases:
        response = _search(v3, "companies", **body)
        assert (response.status_code, response.json()) == (400, error(response, message)), message
