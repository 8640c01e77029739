"""Control endpoints under /sandbox/kleer/_fake/ (kleer-api.md §5.4 "Fake-only control endpoints")."""

from __future__ import annotations

import datetime as dt
import re

import requests

from sandbox.kleer.testing import KleerApi

from .conftest import all_invoices, domestic_client


def _draft_id(api: KleerApi) -> int:
    body = {"foreign-id": "", "po-nr": "", "your-reference": "", "client-ref": {"id": domestic_client(api)["id"]},
            "invoice-date": "2025-06-02", "delivery-date": "",
            "rows": [{"quantity": 4, "price": 10_000, "product": {"id": 2_055_001}}]}  # fmt: skip
    return api.put("/client/invoice", body).json()["id"]


def test_certify_send_and_pay(kleer: KleerApi) -> None:
    invoice_id = _draft_id(kleer)
    certified = kleer.control(
        "POST", f"/client/invoice/{invoice_id}/certify", {"datetime": "2025-06-02T10:00:00+02:00"}
    )
    body = certified.json()
    assert (body["invoice-nr"], body["certified"], body["remaining"]) == (1001, True, 50_000)
    assert body["certified-date"] == "2025-06-02T10:00:00+02:00"
    assert kleer.control("POST", f"/client/invoice/{invoice_id}/certify").status_code == 409
    sent = kleer.control("POST", f"/client/invoice/{invoice_id}/send", {"method": "mail"}).json()
    assert sent["sent"] is True
    [delivery] = sent["invoice-deliveries"]["invoice-deliveries"]
    assert (delivery["delivery-method"], delivery["registration-user"]) == ("MAIL", {"id": 31101})
    assert re.match(r"^\d{4}-\d{2}-\d{2}T", delivery["registration-datetime"])
    paid = kleer.control("POST", f"/client/invoice/{invoice_id}/pay", {"amount": 20_000, "date": "2025-06-30"})
    assert (paid.json()["remaining"], paid.json()["last-payment-date"]) == (30_000, "2025-06-30")
    rest = kleer.control("POST", f"/client/invoice/{invoice_id}/pay").json()
    assert rest["remaining"] == 0
    assert kleer.get(f"/client/invoice/{invoice_id}").json() == rest
    assert kleer.control("POST", f"/client/invoice/{invoice_id}/pay").status_code == 409  # nothing left


def test_second_certified_invoice_gets_the_next_number(kleer: KleerApi) -> None:
    numbers = [kleer.control("POST", f"/client/invoice/{_draft_id(kleer)}/certify").json()["invoice-nr"] for _ in "ab"]
    assert numbers == [1001, 1002]


def test_send_needs_a_certified_invoice(kleer: KleerApi) -> None:
    response = kleer.control("POST", f"/client/invoice/{_draft_id(kleer)}/send")
    assert (response.status_code, response.json()) == (409, {"error": "Only a certified, enabled invoice can be sent"})


def test_edit_a_record_directly(kleer: KleerApi) -> None:
    client = kleer.get("/client").json()["clients"][0]
    edited = kleer.control("PATCH", f"/record/client/{client['id']}", {"name": "Ändrat Namn AB", "phone": None})
    assert edited.status_code == 200
    after = kleer.get(f"/client/{client['id']}").json()
    assert after["name"] == "Ändrat Namn AB"
    assert "phone" not in after
    assert kleer.control("PATCH", f"/record/client/{client['id']}", {"id": 5}).status_code == 400
    assert kleer.control("GET", f"/record/client/{client['id']}").json() == after


def test_delete_a_record(kleer: KleerApi) -> None:
    client = kleer.get("/client").json()["clients"][0]
    assert kleer.control("DELETE", f"/record/client/{client['id']}").json() == {"deleted": client["id"]}
    assert kleer.get(f"/client/{client['id']}").status_code == 404
    assert kleer.control("DELETE", f"/record/client/{client['id']}").status_code == 404
    assert kleer.control("GET", "/record/spaceship/1").status_code == 404


def test_reset_keeps_users_and_tokens(kleer_factory) -> None:
    api = kleer_factory(invoices=5, agreements=1, projects=1)
    assert api.control("POST", "/reset").status_code == 200
    assert api.get("/client").json() == {}
    assert api.get("/client/invoice").json() == {"offset": 0, "limit": 0, "size": 0}
    assert len(api.get("/user").json()["users"]) == 4
    created = api.put("/client", {"foreign-id": "", "name": "Första AB"}).json()
    assert created == {"id": 1_081_001}  # ids start over


def test_seed_over_http(live_server, transactional_db) -> None:
    url = f"{live_server.url}/sandbox/kleer/_fake/seed"
    body = {
        "clients": 3,
        "products": 2,
        "invoices": 7,
        "agreements": 1,
        "projects": 1,
        "seed": 4,
        "today": "2025-01-31",
    }
    seeded = requests.post(url, json=body, timeout=30).json()
    assert {k: seeded[k] for k in ("clients", "products", "invoices", "agreements", "projects", "users")} == {
        "clients": 3, "products": 2, "invoices": 7, "agreements": 1, "projects": 1, "users": 4,
    }  # fmt: skip
    api = KleerApi(server_url=live_server.url, company_id=seeded["company_id"], token=seeded["token"])
    assert api.get("/client/invoice").json()["size"] == 7
    dates = [i["invoice-date"] for i in all_invoices(api)]
    assert min(dates) == (dt.date(2025, 1, 31) - dt.timedelta(days=3 * 365)).isoformat()
    assert dates == sorted(dates) and max(dates) <= "2025-01-31"
    assert requests.post(url, json={"clients": -1}, timeout=5).status_code == 400
    assert requests.post(url, json={"clientz": 1}, timeout=5).status_code == 400
    again = requests.post(url, json=body | {"company_id": seeded["company_id"]}, timeout=30).json()
    assert again["company_id"] == seeded["company_id"]
    assert api.get("/client").status_code == 401  # reseeding replaced the tokens


def test_reset_everything(kleer: KleerApi) -> None:
    response = requests.post(f"{kleer.server_url}/sandbox/kleer/_fake/reset", timeout=5)
    assert response.json() == {"deleted_companies": 1}
    assert kleer.get("/client").status_code == 401
    assert kleer.control("GET", "").status_code == 404


def test_options_and_tokens(kleer: KleerApi) -> None:
    assert kleer.set_options(default_limit=7)["default_limit"] == 7
    assert kleer.control("POST", "/options", {"no_such_option": 1}).status_code == 400
    assert kleer.set_options(default_limit=None)["default_limit"] == 100
    token = kleer.control("POST", "/tokens", {"user_id": 31102}).json()
    assert kleer.get("/user/me", token=token["token"]).json()["name"] == "Erik Åström"
    assert kleer.control("POST", "/tokens", {"user_id": 1}).status_code == 404


def test_request_log(kleer: KleerApi) -> None:
    kleer.get("/client", params={"x": "1"})
    kleer.get("/client/1")
    kleer.get("/user/me", token="")
    log = kleer.requests_log()
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("GET", "/client", "x=1", 200),
        ("GET", "/client/1", "", 404),
        ("GET", "/user/me", "", 401),
    ]
    newer = kleer.control("GET", f"/requests?after={log[1]['id']}").json()["requests"]
    assert [r["path"] for r in newer] == ["/user/me"]
    assert kleer.control("DELETE", "/requests").json() == {"deleted": 3}
