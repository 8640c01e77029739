"""Invoice writes: PUT creates a draft with the §5.4 arithmetic, POST updates drafts, DELETE removes drafts, credit
notes, payments; certified invoices refuse changes with HTTP 500 (kleer-api.md §1.9, §1.10, §2.4, §5.4 rows 16–22)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sandbox.kleer import conventions as C
from sandbox.kleer.testing import KleerApi

from .conftest import domestic_client

CONSULTING, SUPPORT, BOOKS = 2_055_001, 2_055_002, 2_055_009  # seeded products 1, 2 and 9 (25 %, 25 %, 6 % VAT)


@pytest.fixture
def api(kleer_factory) -> KleerApi:
    return kleer_factory(clients=5, products=10)


def draft(client_id: int, **changes: Any) -> dict[str, Any]:
    body = {
        "foreign-id": "order-77", "po-nr": "", "client-ref": {"id": client_id}, "your-reference": "Anna",
        "invoice-date": "2025-06-01", "delivery-date": "2025-06-01",
        "rows": {"rows": [
            {"quantity": 2, "price": 120_000, "product": {"id": CONSULTING}},
            {"quantity": 1.5, "price": 99_999, "product": {"id": SUPPORT}, "discount": {"percentage": 0.1}},
            {"quantity": 3, "price": 1_000, "product": {"id": BOOKS}, "discount": {"absolute": 500}},
        ]},
    }  # fmt: skip
    return body | changes


def create(api: KleerApi, body: dict[str, Any]) -> dict[str, Any]:
    response = api.put("/client/invoice", body)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["id"]
    return api.get(f"/client/invoice/{response.json()['id']}").json()


def certify(api: KleerApi, invoice_id: int) -> dict[str, Any]:
    response = api.control("POST", f"/client/invoice/{invoice_id}/certify")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_makes_a_draft_with_kleer_arithmetic(api: KleerApi) -> None:
    client = domestic_client(api)
    invoice = create(api, draft(client["id"]))
    # Row nets: 240000; round(149998.5)=149999 − round(14999.9)=15000 → 134999; 3000 − 500 = 2500.
    assert (invoice["amount"], invoice["vat"]) == (240_000 + 134_999 + 2_500, 60_000 + 33_750 + 150)
    assert [r["vat"] for r in invoice["rows"]["rows"]] == [0.25, 0.25, 0.06]
    assert [r["account-nr"] for r in invoice["rows"]["rows"]] == [3041, 3041, 3003]
    assert [r["unit"] for r in invoice["rows"]["rows"]] == ["h", "h", "st"]
    assert len({r["id"] for r in invoice["rows"]["rows"]}) == 3
    expected = {"invoice-nr": 0, "certified": False, "sent": False, "remaining": 0, "disabled": False}
    assert {k: invoice[k] for k in expected} == expected
    assert "certified-date" not in invoice
    assert (invoice["vat-nr"], invoice["country-code"]) == (client["vat-nr"], "SE")
    assert (invoice["delivery-type"], invoice["currency"]) == (client["delivery-type"], "SEK")
    assert invoice["invoice-address"] == client["address"]
    due = dt.date(2025, 6, 1) + dt.timedelta(days=client["payment-days"])
    assert invoice["due-date"] == due.isoformat()
    assert invoice["our-reference"] == {"id": 0}


def test_foreign_client_gets_no_swedish_vat_and_a_currency_rate(api: KleerApi) -> None:
    body = {"foreign-id": "", "name": "Oy Testi Ab", "country-code": "FI", "currency-type": "eur"}
    client_id = api.put("/client", body).json()["id"]
    invoice = create(api, draft(client_id))
    assert (invoice["vat"], invoice["currency"], invoice["currency-rate"]) == (0, "EUR", C.CURRENCY_RATES["EUR"])
    assert [r["vat"] for r in invoice["rows"]["rows"]] == [0, 0, 0]


@pytest.mark.parametrize("missing", ["foreign-id", "client-ref", "delivery-date", "po-nr", "your-reference", "rows"])
def test_create_without_a_required_element_is_tekniskt_fel(api: KleerApi, missing: str) -> None:
    body = draft(domestic_client(api)["id"])
    del body[missing]
    response = api.put("/client/invoice", body)
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert api.get("/client/invoice").json()["size"] == 0


def test_create_reads_lenient_shapes(api: KleerApi) -> None:
    client = domestic_client(api)
    body = draft(str(client["id"]), **{"delivery-type": "MAIL", "our-reference": "31102"})
    body["client-ref"] = {"id": str(client["id"])}
    body["rows"] = [{"quantity": "2", "price": "1000", "product": str(CONSULTING)}]  # bare array, strings
    invoice = create(api, body)
    assert invoice["client-ref"] == {"id": client["id"]}
    assert (invoice["delivery-type"], invoice["our-reference"]) == ("Mail", {"id": 31102})
    assert invoice["rows"]["rows"][0]["product"] == {"id": CONSULTING}
    assert (invoice["amount"], invoice["vat"]) == (2_000, 500)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"zipcode": "11122"}, 'Unrecognized field "zipcode"'),
        ({"invoice-date": "2025-02-30"}, 'Invalid value "2025-02-30" for "invoice-date"'),
        ({"delivery-type": "Brevduva"}, 'Unknown value "Brevduva" for "delivery-type"'),
        ({"rows": [{"quantity": 1, "price": 1200.5, "product": {"id": CONSULTING}}]},
         'Invalid value "1200.5" for "price"'),
        ({"rows": [{"quantity": 1, "price": 100, "product": {"id": CONSULTING}, "discount": {"percentage": 10}}]},
         'Invalid value "10" for "discount.percentage"'),
        ({"rows": [{"quantity": 1, "price": 100}]}, "Tekniskt fel"),
        ({"rows": [{"quantity": 1, "price": 100, "product": {"id": 42}}]}, "ProductDoesNotExistException: product 42"),
        ({"client-ref": {"id": 42}}, "ClientDoesNotExistException: client-ref 42"),
        ({"our-reference": {"id": 42}}, "UserDoesNotExistException: our-reference 42"),
        ({"end-client": {"id": 42}}, "ClientDoesNotExistException: end-client 42"),
        ({"fields": {"fields": [{"key": "projektnr", "value": "P-1"}]}}, 'Unrecognized field "key"'),
        ({"reinvoicings": {"reinvoicings": [{"reinvoicing-type": "Invoice"}]}},
         'Unknown value "Invoice" for "reinvoicing-type"'),
    ],
)  # fmt: skip
def test_create_refuses_bad_bodies_with_500(api: KleerApi, change: dict[str, Any], message: str) -> None:
    response = api.put("/client/invoice", draft(domestic_client(api)["id"]) | change)
    assert (response.status_code, response.json()) == (500, {"message": message})
    assert api.get("/client/invoice").json()["size"] == 0


def test_business_errors_can_be_configured_as_400(api: KleerApi) -> None:
    api.set_options(business_error_status=400)
    response = api.put("/client/invoice", draft(domestic_client(api)["id"]) | {"zipcode": "1"})
    assert response.status_code == 400


def test_read_only_fields_sent_back_are_ignored(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"]))
    resent = dict(invoice, **{"amount": 1, "certified": True, "invoice-nr": 5, "remaining": 9})
    response = api.post(f"/client/invoice/{invoice['id']}", resent)
    assert response.json() == {"id": invoice["id"]}
    again = api.get(f"/client/invoice/{invoice['id']}").json()
    assert (again["amount"], again["certified"], again["invoice-nr"], again["remaining"]) == (377_499, False, 0, 0)


def test_update_merges_and_recomputes(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"], **{"po-nr": "PO-1"}))
    body = {
        "your-reference": "Bo",
        "vat-nr": "",
        "rows": {"rows": [{"quantity": 1, "price": 1000, "product": {"id": BOOKS}}]},
    }
    assert api.post(f"/client/invoice/{invoice['id']}", body).json() == {"id": invoice["id"]}
    again = api.get(f"/client/invoice/{invoice['id']}").json()
    assert (again["your-reference"], again["po-nr"], again["vat-nr"]) == ("Bo", "PO-1", invoice["vat-nr"])
    assert (again["amount"], again["vat"], len(again["rows"]["rows"])) == (1_000, 60, 1)


def test_certified_invoice_refuses_update_and_delete(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"]))
    certified = certify(api, invoice["id"])
    response = api.post(f"/client/invoice/{invoice['id']}", {"your-reference": "Bo"})
    assert response.status_code == 500
    assert response.json() == {"message": f"Fakturan {certified['invoice-nr']} är attesterad och kan inte ändras"}
    assert api.delete(f"/client/invoice/{invoice['id']}").status_code == 500
    assert api.get(f"/client/invoice/{invoice['id']}").json() == certified


def test_delete_removes_a_draft(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"]))
    assert api.delete(f"/client/invoice/{invoice['id']}").json() == {"id": invoice["id"]}
    assert api.get(f"/client/invoice/{invoice['id']}").status_code == 404
    assert api.delete(f"/client/invoice/{invoice['id']}").status_code == 404
    assert api.post(f"/client/invoice/{invoice['id']}", {}).status_code == 404


def test_delete_can_be_configured_to_disable(api: KleerApi) -> None:
    api.set_options(delete_draft="disable")
    invoice = create(api, draft(domestic_client(api)["id"]))
    assert api.delete(f"/client/invoice/{invoice['id']}").json() == {"id": invoice["id"]}
    assert api.get(f"/client/invoice/{invoice['id']}").json()["disabled"] is True
    assert api.get("/client/invoice", params={"filter": "certifiable"}).json()["size"] == 0
    assert api.delete(f"/client/invoice/{invoice['id']}").status_code == 500


def test_credit_note_is_linked_to_its_debit_invoice(api: KleerApi) -> None:
    client_id = domestic_client(api)["id"]
    debit = certify(api, create(api, draft(client_id))["id"])
    rows = [{"quantity": -2, "price": 120_000, "product": {"id": CONSULTING}}]
    credit = create(api, draft(client_id, **{"debit-invoice-nr": debit["invoice-nr"], "rows": rows}))
    assert (credit["amount"], credit["vat"], credit["debit-invoice-nr"]) == (-240_000, -60_000, debit["invoice-nr"])
    linked = api.get(f"/client/invoice/{debit['id']}").json()
    assert linked["credit-invoices"] == {"client-invoices": [{"id": credit["id"]}]}
    certified_credit = certify(api, credit["id"])
    assert certified_credit["remaining"] == 0  # fully covered by the open debit
    assert api.get(f"/client/invoice/{debit['id']}").json()["remaining"] == 377_499 + 93_900 - 300_000


@pytest.mark.parametrize("number", [999_999, 0])
def test_crediting_a_missing_invoice_is_500(api: KleerApi, number: int) -> None:
    response = api.put("/client/invoice", draft(domestic_client(api)["id"], **{"debit-invoice-nr": number}))
    assert response.status_code == 500
    assert response.json()["message"] == f"Kan inte kreditera: det finns ingen attesterad faktura med nummer {number}"


def test_payment_lowers_remaining(api: KleerApi) -> None:
    invoice = certify(api, create(api, draft(domestic_client(api)["id"]))["id"])
    total = invoice["remaining"]
    pay = {"date": "2025-06-20", "invoice-amount": 100_000, "accounting-amount": 100_000}
    assert api.put(f"/client/invoice/{invoice['id']}/payment", pay).json() == {"id": invoice["id"]}
    paid = api.get(f"/client/invoice/{invoice['id']}").json()
    assert (paid["remaining"], paid["last-payment-date"]) == (total - 100_000, "2025-06-20")
    too_much = pay | {"invoice-amount": total, "accounting-amount": total}
    assert api.put(f"/client/invoice/{invoice['id']}/payment", too_much).status_code == 500
    mismatch = pay | {"accounting-amount": 5}
    assert api.put(f"/client/invoice/{invoice['id']}/payment", mismatch).status_code == 500
    missing = {"date": "2025-06-20", "invoice-amount": 100}
    assert api.put(f"/client/invoice/{invoice['id']}/payment", missing).json() == {"message": "Tekniskt fel"}
    assert api.get(f"/client/invoice/{invoice['id']}").json()["remaining"] == total - 100_000


def test_payment_on_a_draft_is_500(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"]))
    pay = {"date": "2025-06-20", "invoice-amount": 100, "accounting-amount": 100}
    response = api.put(f"/client/invoice/{invoice['id']}/payment", pay)
    assert (response.status_code, response.json()) == (
        500,
        {"message": "Betalning kan bara registreras på en attesterad faktura"},
    )


def test_empty_client_defaulted_fields_take_the_clients_values_on_create(api: KleerApi) -> None:
    """§1.9, §5.4 row 16: an empty `vat-nr` / `country-code` / `delivery-type` on create means the client's value."""
    client = domestic_client(api)
    invoice = create(api, draft(client["id"], **{"vat-nr": "", "country-code": "", "delivery-type": ""}))
    expected = (client["vat-nr"], client["country-code"], client["delivery-type"])
    assert (invoice["vat-nr"], invoice["country-code"], invoice["delivery-type"]) == expected


def test_files_left_out_are_kept_and_an_empty_wrapper_deletes_them(api: KleerApi) -> None:
    """§1.9 (XSD comment): leaving out `files` keeps the attachments; an empty `files` element deletes them."""
    invoice = create(api, draft(domestic_client(api)["id"]))
    path = f"/client/invoice/{invoice['id']}"
    api.post(path, {"files": {"files": [{"filename": "avtal.pdf", "data": [37, 80, 68, 70]}]}})
    assert api.get(path).json()["files"] == {"files": [{"filename": "avtal.pdf", "data": "JVBERg=="}]}
    assert api.post(path, {"your-reference": "Bo"}).json() == {"id": invoice["id"]}
    assert api.get(path).json()["files"] == {"files": [{"filename": "avtal.pdf", "data": "JVBERg=="}]}
    assert api.post(path, {"files": {"files": []}}).json() == {"id": invoice["id"]}
    assert api.get(path).json()["files"] == {}  # the emptied wrapper, its list left out (J6)


@pytest.mark.parametrize("field", ["client-ref", "rows", "invoice-date", "foreign-id", "delivery-date"])
def test_update_cannot_null_a_required_element(api: KleerApi, field: str) -> None:
    """§1.9: a null clears optional elements only (`approver`); a required element → 500, invoice unchanged."""
    invoice = create(api, draft(domestic_client(api)["id"]))
    response = api.post(f"/client/invoice/{invoice['id']}", {field: None, "your-reference": "Bo"})
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert api.get(f"/client/invoice/{invoice['id']}").json() == invoice


def test_approver_is_cleared_with_null(api: KleerApi) -> None:
    invoice = create(api, draft(domestic_client(api)["id"], approver={"id": 31_102}))
    assert invoice["approver"] == {"id": 31_102}
    assert api.post(f"/client/invoice/{invoice['id']}", {"approver": None}).json() == {"id": invoice["id"]}
    assert "approver" not in api.get(f"/client/invoice/{invoice['id']}").json()


def test_custom_fields_are_keyed_by_alias_and_their_name_is_read_only(api: KleerApi) -> None:
    """§2.4: `fields` items are `{name (RO), alias, value}` inside the J4 wrapper."""
    sent = [{"name": "Projektnummer", "alias": "projektnr", "value": "P-1"}]
    invoice = create(api, draft(domestic_client(api)["id"], fields={"fields": sent}))
    assert invoice["fields"] == {"fields": [{"alias": "projektnr", "value": "P-1"}]}


DRAFT_KEYS_5_5 = (
    "id", "invoice-nr", "foreign-id", "po-nr", "client-ref", "your-reference", "our-reference", "approver",
    "invoice-address", "invoice-email", "delivery-name", "delivery-address", "delivery-email", "invoice-date",
    "due-date", "delivery-date", "amount", "vat", "currency", "certified", "sent", "delivery-type", "vat-nr",
    "country-code", "remaining", "disabled", "rows",
)  # fmt: skip


def test_a_created_draft_has_every_element_of_the_canonical_shape(api: KleerApi) -> None:
    """§5.5: a draft "as created" carries the required-but-empty elements, e.g. `delivery-address` all ""."""
    invoice = create(api, draft(domestic_client(api)["id"]))
    assert set(DRAFT_KEYS_5_5) <= set(invoice)
    assert (invoice["delivery-name"], invoice["delivery-email"]) == ("", "")
    assert invoice["delivery-address"] == dict.fromkeys(("address1", "address2", "zip-code", "state", "country"), "")
