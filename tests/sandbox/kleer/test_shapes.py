"""JSON shapes of the fake Kleer: rules J1–J11 of kleer-api.md §1.5 and the canonical documents of §5.5."""

from __future__ import annotations

import datetime as dt
import re

from sandbox.kleer import conventions as C
from sandbox.kleer.schema import SCHEMAS
from sandbox.kleer.testing import KleerApi

from .conftest import all_invoices

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[12]:00$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def test_single_objects_are_unwrapped(kleer: KleerApi) -> None:
    first = kleer.get("/client").json()["clients"][0]
    body = kleer.get(f"/client/{first['id']}").json()
    assert body == first
    assert "client" not in body


def test_lists_are_wrapped_in_their_plural_key(kleer_factory) -> None:
    api = kleer_factory(invoices=2, agreements=1, projects=1)
    roots = {
        "/user": "users", "/client": "clients", "/product": "products", "/client/agreement": "client-agreements",
        "/client-project": "client-project-readables", "/project": "projects",
        "/client/invoice/template": "client-invoice-templates", "/client/deliverytype": "client-delivery-types",
    }  # fmt: skip
    for path, key in roots.items():
        body = api.get(path).json()
        assert list(body) == [key], path
        assert isinstance(body[key], list) and body[key], path
    assert list(api.get("/client/invoice").json()) == ["client-invoices", "offset", "limit", "size"]


def test_documents_come_in_xsd_element_order(kleer_factory) -> None:
    api = kleer_factory(invoices=5, agreements=2)
    client = api.get("/client").json()["clients"][0]
    assert list(client) == [name for name in SCHEMAS["client"] if name in client]
    invoice = api.get("/client/invoice").json()["client-invoices"][0]
    assert list(invoice) == [name for name in SCHEMAS["invoice"] if name in invoice]
    assert list(invoice["invoice-address"]) == ["address1", "address2", "zip-code", "state", "country"]
    product = api.get("/product").json()["products"][0]
    assert list(product["accounts"]) == ["se", "eu", "export"]


def test_nulls_and_empty_lists_left_out_empty_strings_kept(kleer: KleerApi) -> None:
    raw = {"foreign-id": "", "name": "Rå AB", "phone": "", "notes": None, "template": None,
           "dimension-entries": {"dimension-entries": []}}  # fmt: skip
    created = kleer.control("POST", "/record/client", raw).json()
    body = kleer.get(f"/client/{created['id']}").json()
    assert body == {"id": created["id"], "foreign-id": "", "name": "Rå AB", "phone": "", "dimension-entries": {}}
    kleer.set_options(omit_nulls=False, omit_empty_lists=False)
    body = kleer.get(f"/client/{created['id']}").json()
    assert body["notes"] is None and body["template"] is None
    assert body["dimension-entries"] == {"dimension-entries": []}


def test_empty_lists_are_left_out_of_list_answers(kleer: KleerApi) -> None:
    assert kleer.get("/client/agreement").json() == {}
    assert kleer.get("/client-project").json() == {}
    assert kleer.get("/client/invoice").json() == {"offset": 0, "limit": 0, "size": 0}
    kleer.set_options(omit_empty_lists=False)
    assert kleer.get("/client/agreement").json() == {"client-agreements": []}
    assert kleer.get("/client/invoice").json() == {"client-invoices": [], "offset": 0, "limit": 0, "size": 0}


def test_invoice_values_have_kleer_types(kleer_factory) -> None:
    api = kleer_factory(invoices=40)
    invoices = all_invoices(api)
    certified = next(i for i in invoices if i["certified"])
    assert isinstance(certified["client-ref"], dict) and list(certified["client-ref"]) == ["id"]
    assert DATE.match(certified["invoice-date"]) and DATE.match(certified["due-date"])
    assert ISO_DATETIME.match(certified["certified-date"])
    assert all(isinstance(i[k], int) for i in invoices for k in ("amount", "vat", "remaining", "invoice-nr"))
    rows = certified["rows"]["rows"]
    assert rows and all(isinstance(r["price"], int) and 0 <= r["vat"] < 1 for r in rows)
    assert all(isinstance(r["product"]["id"], int) for r in rows if "product" in r)
    assert certified["delivery-address"] == dict.fromkeys(("address1", "address2", "zip-code", "state", "country"), "")
    assert certified["approver"] == {"id": 0}


def test_client_project_readables_wrap_their_own_id(kleer_factory) -> None:
    api = kleer_factory(projects=2)
    project = api.get("/client-project").json()["client-project-readables"][0]
    assert isinstance(project["id"], dict) and isinstance(project["id"]["id"], int)
    assert api.get(f"/client-project/{project['id']['id']}").json() == project
    assert {"client", "fixed-price", "number", "comment", "budget-hours", "budget-amount", "opening-date"} <= set(
        project
    )
    assert set(project["client"]) == {"id"}


def test_enum_spellings(kleer_factory) -> None:
    api = kleer_factory(clients=30, invoices=30, projects=3)
    clients = api.get("/client").json()["clients"]
    assert {c["delivery-type"] for c in clients} <= set(C.DELIVERY_TYPES)
    assert {c["client-type"] for c in clients} <= {"Organisation", "Person"}
    assert {c["currency-type"] for c in clients} <= {"SEK", "EUR"}
    assert {p["type"] for p in api.get("/product").json()["products"]} <= {"GOODS", "SERVICES", "DIGITAL_SERVICES"}
    readables = api.get("/client-project").json()["client-project-readables"]
    assert {p["status"] for p in readables} <= {"DRAFT", "OPEN", "CLOSED"}
    methods = {
        d["delivery-method"]
        for i in all_invoices(api)
        for d in i.get("invoice-deliveries", {}).get("invoice-deliveries", [])
    }
    assert methods and methods <= set(C.DELIVERY_METHODS)


def test_datetimes_can_be_epoch_millis(kleer_factory) -> None:
    api = kleer_factory(invoices=10)
    invoice = next(i for i in all_invoices(api) if i["certified"])
    api.set_options(datetime_format="epoch_millis")
    again = api.get(f"/client/invoice/{invoice['id']}").json()
    expected = int(dt.datetime.fromisoformat(invoice["certified-date"]).timestamp() * 1000)
    assert again["certified-date"] == expected


def test_unpaged_lists_ignore_offset_and_limit(kleer: KleerApi) -> None:
    """§1.8: `clients`, `products`, `users` are full lists; paging parameters change nothing and add no numbers."""
    for path, key in (("/client", "clients"), ("/product", "products"), ("/user", "users")):
        full = kleer.get(path).json()
        assert kleer.get(path, params={"offset": 1, "limit": 1}).json() == full, path
        assert list(full) == [key] and len(full[key]) > 1, path


def test_single_object_writes_take_no_root_wrapper(kleer: KleerApi) -> None:
    """J1: a client is sent as `{…}`, not `{"client": {…}}` (an XML-to-JSON habit)."""
    response = kleer.put("/client", {"client": {"foreign-id": "", "name": "Inlindad AB"}})
    assert (response.status_code, response.json()) == (500, {"message": 'Unrecognized field "client"'})
    assert len(kleer.get("/client").json()["clients"]) == 5


def test_wrapper_inner_key_is_the_plural_not_the_xml_item_name(kleer: KleerApi) -> None:
    """J4: `"rows": {"rows": […]}`; the XML item name `row` as the inner key is refused, not read as no rows."""
    client = kleer.get("/client").json()["clients"][0]
    body = {"foreign-id": "", "po-nr": "", "client-ref": {"id": client["id"]}, "your-reference": "",
            "invoice-date": "2025-06-01", "delivery-date": "",
            "rows": {"row": [{"quantity": 1, "product": {"id": 2_055_001}}]}}  # fmt: skip
    response = kleer.put("/client/invoice", body)
    assert (response.status_code, response.json()) == (500, {"message": 'Unrecognized field "row" in "rows"'})
    assert kleer.get("/client/invoice").json()["size"] == 0
