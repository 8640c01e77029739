"""Client agreements (kleer-api.md §2.5, §5.4 row 21): revisions, soft delete, and agreement runs."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.kleer.testing import KleerApi

from .conftest import domestic_client

CONSULTING, LICENCE = 2_055_001, 2_055_004


@pytest.fixture
def api(kleer_factory) -> KleerApi:
    return kleer_factory(clients=5, products=6)


def agreement_body(client_id: int, **changes: Any) -> dict[str, Any]:
    body = {
        "foreign-id": "sub-9", "client-ref": {"id": client_id}, "description": "Support",
        "start-invoice-date": "2025-07-01", "invoice-interval-months": 1, "invoice-day": "invoice_at_start",
        "your-reference": "", "po-nr": "", "subscription-nr": "S-1",
        "first-invoice-rows": {"rows": [{"quantity": 1, "price": 250_000, "product": {"id": CONSULTING},
                                         "unit": "st", "description": "Uppstart"}]},
        "recurring-rows": {"rows": [{"quantity": 1, "price": 49_900, "product": {"id": LICENCE}, "unit": "mån",
                                     "description": "Licens"}]},
    }  # fmt: skip
    return body | changes


def create(api: KleerApi, body: dict[str, Any]) -> dict[str, Any]:
    response = api.put("/client/agreement", body)
    assert response.status_code == 200, response.text
    return api.get(f"/client/agreement/{response.json()['id']}").json()


def test_create_starts_at_revision_one(api: KleerApi) -> None:
    client = domestic_client(api)
    agreement = create(api, agreement_body(client["id"]))
    me = api.get("/user/me").json()
    assert (agreement["revision-nr"], agreement["deleted"], agreement["invoice-day"]) == (1, False, "INVOICE_AT_START")
    assert agreement["start-date"] == agreement["start-invoice-date"] == agreement["next-invoice-date"] == "2025-07-01"
    assert (agreement["currency"], agreement["payment-days"]) == ("SEK", client["payment-days"])
    assert agreement["registration-user"] == {"id": me["id"]}
    assert agreement["agreement-nr"] == "101"  # the seed numbers agreements from 101
    assert "end-date" not in agreement  # null, left out (J7)
    assert api.get("/client/agreement").json()["client-agreements"] == [agreement]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"foreign-id": None}, "Tekniskt fel"),
        ({"invoice-interval-months": 0}, '"invoice-interval-months" must be at least 1'),
        ({"end-date": "2025-01-01"}, '"end-date" is before "start-invoice-date"'),
        ({"invoice-day": "whenever"}, 'Unknown value "whenever" for "invoice-day"'),
    ],
)
def test_create_refuses_bad_agreements(api: KleerApi, change: dict[str, Any], message: str) -> None:
    body = {k: v for k, v in (agreement_body(domestic_client(api)["id"]) | change).items() if v is not None}
    response = api.put("/client/agreement", body)
    assert (response.status_code, response.json()) == (500, {"message": message})
    assert api.get("/client/agreement").json() == {}


def test_update_bumps_the_revision_wrapped_or_bare(api: KleerApi) -> None:
    agreement = create(api, agreement_body(domestic_client(api)["id"]))
    path = f"/client/agreement/{agreement['id']}"
    assert api.post(path, {"client-agreement": {"description": "Ny text"}}).json() == {"revision-nr": 2}
    assert api.post(path, {"start-date": "2020-01-01", "start-invoice-date": "2025-08-01"}).json() == {"revision-nr": 3}
    again = api.get(path).json()
    assert (again["revision-nr"], again["description"]) == (3, "Ny text")
    assert again["start-date"] == again["start-invoice-date"] == "2025-08-01"  # start-date is read-only
    assert again["recurring-rows"] == agreement["recurring-rows"]


def test_delete_is_soft_and_final(api: KleerApi) -> None:
    agreement = create(api, agreement_body(domestic_client(api)["id"]))
    path = f"/client/agreement/{agreement['id']}"
    assert api.delete(path).json() == {"id": agreement["id"]}
    assert api.get(path).json()["deleted"] is True
    assert [a["deleted"] for a in api.get("/client/agreement").json()["client-agreements"]] == [True]
    assert (api.post(path, {"description": "x"}).status_code, api.delete(path).status_code) == (500, 500)
    assert api.get(path).json()["revision-nr"] == 1


def test_unknown_agreement_is_404(api: KleerApi) -> None:
    assert api.get("/client/agreement/4410999").status_code == 404
    assert api.post("/client/agreement/4410999", {"description": "x"}).status_code == 404


def test_runs_generate_invoices_with_first_rows_once(api: KleerApi) -> None:
    agreement = create(api, agreement_body(domestic_client(api)["id"]))
    first = api.control("POST", f"/client/agreement/{agreement['id']}/run").json()
    assert first["invoice-date"] == "2025-07-01"
    assert [r["description"] for r in first["rows"]["rows"]] == ["Uppstart", "Licens"]
    assert (first["amount"], first["vat"], first["certified"]) == (299_900, 74_975, False)
    assert (first["agreement-nr"], first["subscription-nr"]) == ("101", "S-1")
    assert first["client-agreement-ref"] == {"id": agreement["id"]}
    assert first["period"] == {"start-date": "2025-07-01", "end-date": "2025-07-31"}
    assert api.get(f"/client/agreement/{agreement['id']}").json()["next-invoice-date"] == "2025-08-01"
    second = api.control("POST", f"/client/agreement/{agreement['id']}/run", {"certify": True}).json()
    assert second["invoice-date"] == "2025-08-01"
    assert [r["description"] for r in second["rows"]["rows"]] == ["Licens"]
    assert (second["certified"], second["remaining"]) == (True, 49_900 + 12_475)
    assert api.get("/client/invoice").json()["size"] == 2


def test_run_after_the_end_date_is_refused(api: KleerApi) -> None:
    agreement = create(api, agreement_body(domestic_client(api)["id"], **{"end-date": "2025-07-15"}))
    path = f"/client/agreement/{agreement['id']}/run"
    assert api.control("POST", path).status_code == 200
    assert api.get(f"/client/agreement/{agreement['id']}").json().get("next-invoice-date") is None
    refused = api.control("POST", path, {"date": "2025-08-01"})
    assert (refused.status_code, refused.json()) == (409, {"error": "Avtalet upphörde 2025-07-15"})
    assert api.get("/client/invoice").json()["size"] == 1


@pytest.mark.parametrize("field", ["client-ref", "foreign-id", "invoice-day"])
def test_update_cannot_null_a_required_element(api: KleerApi, field: str) -> None:
    """§1.9: a null on a required element is refused (option required_null_on_update), no new revision."""
    agreement = create(api, agreement_body(domestic_client(api)["id"]))
    response = api.post(f"/client/agreement/{agreement['id']}", {field: None, "description": "x"})
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert api.get(f"/client/agreement/{agreement['id']}").json() == agreement
