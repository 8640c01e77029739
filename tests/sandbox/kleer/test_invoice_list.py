"""GET /client/invoice: paging, filters, free text and date bounds (kleer-api.md §1.8, §2.4, §5.4 row 14)."""

from __future__ import annotations

import pytest

from sandbox.kleer.testing import KleerApi

from .conftest import all_invoices


@pytest.fixture
def api(kleer_factory) -> KleerApi:
    return kleer_factory(clients=12, products=6, invoices=250, agreements=4)


def test_default_page_and_paging_numbers(api: KleerApi) -> None:
    first = api.get("/client/invoice").json()
    assert (len(first["client-invoices"]), first["offset"], first["limit"], first["size"]) == (100, 0, 100, 250)
    last = api.get("/client/invoice", params={"offset": 200, "limit": 100}).json()
    assert (len(last["client-invoices"]), last["offset"], last["limit"], last["size"]) == (50, 200, 50, 250)
    beyond = api.get("/client/invoice", params={"offset": 300}).json()
    assert beyond == {"offset": 300, "limit": 0, "size": 250}


def test_limit_is_lowered_to_the_maximum(api: KleerApi) -> None:
    assert api.get("/client/invoice", params={"limit": 1000}).json()["limit"] == 250  # all of them, under 500
    api.set_options(max_limit=120, default_limit=30)
    assert api.get("/client/invoice", params={"limit": 1000}).json()["limit"] == 120
    assert api.get("/client/invoice").json()["limit"] == 30


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": "abc"}, {"offset": -1}, {"filter": "paid"}, {"filter": "Certified"}]
)
def test_bad_list_parameters_are_500(api: KleerApi, params: dict) -> None:
    response = api.get("/client/invoice", params=params)
    assert response.status_code == 500
    assert response.json()["message"].startswith("Invalid value")


def test_pages_cover_every_invoice_once_in_id_order(api: KleerApi) -> None:
    seen: list[int] = []
    while True:
        body = api.get("/client/invoice", params={"offset": len(seen), "limit": 37}).json()
        seen += [i["id"] for i in body.get("client-invoices", [])]
        if len(seen) >= body["size"]:
            break
    assert len(seen) == 250
    assert seen == sorted(set(seen))


def test_filters(api: KleerApi) -> None:
    invoices = all_invoices(api)
    expected = {
        "all": len(invoices),
        "certified": sum(i["certified"] for i in invoices),
        "certifiable": sum(not i["certified"] and not i["disabled"] for i in invoices),
        "sendable": sum(i["certified"] and not i["sent"] and not i["disabled"] for i in invoices),
    }
    assert all(expected.values()), expected  # the seed has every kind
    for name, count in expected.items():
        body = api.get("/client/invoice", params={"filter": name, "limit": 500}).json()
        assert body["size"] == count, name
        assert len(body["client-invoices"]) == count, name
    sendable = api.get("/client/invoice", params={"filter": "sendable", "limit": 500}).json()["client-invoices"]
    assert all(i["certified"] and not i["sent"] for i in sendable)


def test_invoice_date_bounds_are_inclusive(api: KleerApi) -> None:
    invoices = all_invoices(api)
    dates = sorted({i["invoice-date"] for i in invoices})
    low, high = dates[10], dates[40]
    body = api.get("/client/invoice", params={"invoiceDateLower": low, "invoiceDateUpper": high, "limit": 500}).json()
    expected = [i["id"] for i in invoices if low <= i["invoice-date"] <= high]
    assert [i["id"] for i in body["client-invoices"]] == expected
    assert {i["invoice-date"] for i in body["client-invoices"]} >= {low, high}
    one_day = api.get("/client/invoice", params={"invoiceDateLower": low, "invoiceDateUpper": low}).json()
    assert one_day["size"] == sum(i["invoice-date"] == low for i in invoices)
    assert api.get("/client/invoice", params={"invoiceDateLower": "2025-13-01"}).status_code == 500


def test_query_matches_number_client_name_foreign_id_and_reference(api: KleerApi) -> None:
    invoices = all_invoices(api)
    numbered = next(i for i in invoices if i["invoice-nr"] > 1100)
    hits = api.get("/client/invoice", params={"query": str(numbered["invoice-nr"])}).json()["client-invoices"]
    assert [i["id"] for i in hits] == [i["id"] for i in invoices if str(numbered["invoice-nr"]) in str(i["invoice-nr"])]

    client = api.get(f"/client/{numbered['client-ref']['id']}").json()
    word = client["name"].split()[0].lower()
    names = {c["id"]: c["name"].lower() for c in api.get("/client").json()["clients"]}
    body = api.get("/client/invoice", params={"query": word, "limit": 500}).json()
    by_name = {i["id"] for i in body["client-invoices"]}
    assert {i["id"] for i in invoices if word in names[i["client-ref"]["id"]]} <= by_name
    assert numbered["id"] in by_name

    api.control("POST", f"/record/invoice/{numbered['id']}", {"foreign-id": "ORDER-XyZ-1", "your-reference": "Bo Ek"})
    for text in ("order-xyz", "bo ek"):
        found = api.get("/client/invoice", params={"query": text}).json()["client-invoices"]
        assert [i["id"] for i in found] == [numbered["id"]], text


def test_client_name_is_matched_as_it_is_now(api: KleerApi) -> None:
    invoice = all_invoices(api)[0]
    client_id = invoice["client-ref"]["id"]
    api.control("POST", f"/record/client/{client_id}", {"name": "Zyxwvu Unik AB"})
    found = api.get("/client/invoice", params={"query": "zyxwvu", "limit": 500}).json()["client-invoices"]
    assert invoice["id"] in {i["id"] for i in found}
    assert all(i["client-ref"]["id"] == client_id for i in found)


def test_ignore_files_drops_attachments(api: KleerApi) -> None:
    invoice = all_invoices(api)[0]
    files = {"files": [{"filename": "avtal.pdf", "data": "JVBERi0="}]}
    api.control("POST", f"/record/invoice/{invoice['id']}", {"files": files})
    params = {"invoiceDateLower": invoice["invoice-date"], "invoiceDateUpper": invoice["invoice-date"]}
    with_files = api.get("/client/invoice", params=params).json()["client-invoices"]
    assert next(i for i in with_files if i["id"] == invoice["id"])["files"] == files
    without = api.get("/client/invoice", params={**params, "ignoreFiles": "true"}).json()["client-invoices"]
    assert "files" not in next(i for i in without if i["id"] == invoice["id"])
