"""Company info, users, clients, products, projects and client projects (kleer-api.md §2.1–§2.3, §2.6, §2.7,
§5.4 rows 1–13)."""

from __future__ import annotations

import pytest

from sandbox.kleer.testing import KleerApi


def test_info(kleer: KleerApi) -> None:
    info = kleer.get("/info").json()
    assert list(info) == ["name", "orgno", "accounting-currency", "bankgiro", "supplier-invoice-email"]
    assert info["accounting-currency"] == "SEK"
    assert info["name"].endswith(" AB")


def test_users_me_and_by_id(kleer: KleerApi) -> None:
    users = kleer.get("/user").json()["users"]
    assert [u["name"] for u in users] == ["Anna Lindqvist", "Erik Åström", "Sofia Bäckström", "Johan Öhman"]
    me = kleer.get("/user/me").json()
    assert me == users[0]
    assert {"id", "name", "email", "active"} <= set(me)
    assert kleer.get(f"/user/{users[3]['id']}").json() == users[3]
    assert "foreign-id" not in users[3]  # a missing optional field, next to users with ""
    assert kleer.get("/user/foreign-id/E-102").json() == users[1]
    assert kleer.get("/user/foreign-id/none").status_code == 404
    assert kleer.get("/user/1").status_code == 404


def test_create_client_with_defaults(kleer: KleerApi) -> None:
    response = kleer.put("/client", {"foreign-id": "crm-77", "name": "Ålands Fisk AB", "user": 31102})
    client = kleer.get(f"/client/{response.json()['id']}").json()
    assert client == {
        "id": response.json()["id"], "foreign-id": "crm-77", "name": "Ålands Fisk AB",
        "client-type": "Organisation", "currency-type": "SEK", "accountnr": 0, "payment-days": 30,
        "user": {"id": 31102}, "delivery-type": "Email", "active": True,
    }  # fmt: skip
    assert len(kleer.get("/client").json()["clients"]) == 6


def test_create_client_needs_foreign_id(kleer: KleerApi) -> None:
    response = kleer.put("/client", {"name": "Utan Id AB"})
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert len(kleer.get("/client").json()["clients"]) == 5


def test_update_client_replaces_present_elements_only(kleer: KleerApi) -> None:
    client = kleer.get("/client").json()["clients"][0]
    body = {"name": "Nytt Namn AB", "address": {"address1": "Ny väg 1", "zip-code": "123 45"}, "delivery-type": ""}
    assert kleer.post(f"/client/{client['id']}", body).json() == {"id": client["id"]}
    after = kleer.get(f"/client/{client['id']}").json()
    assert (after["name"], after["address"]) == ("Nytt Namn AB", {"address1": "Ny väg 1", "zip-code": "123 45"})
    assert after["delivery-type"] == client["delivery-type"]  # empty = unchanged
    assert {k: v for k, v in after.items() if k not in ("name", "address")} == {
        k: v for k, v in client.items() if k not in ("name", "address")
    }


def test_update_client_can_clear_the_template_with_null(kleer: KleerApi) -> None:
    client = next(c for c in kleer.get("/client").json()["clients"] if "template" in c)
    kleer.post(f"/client/{client['id']}", {"template": None})
    assert "template" not in kleer.get(f"/client/{client['id']}").json()


def test_update_unknown_client_is_404(kleer: KleerApi) -> None:
    assert kleer.post("/client/1081999", {"name": "x"}).status_code == 404


def test_products_create_and_update(kleer: KleerApi) -> None:
    response = kleer.put("/product", {"foreign-id": "SKU-9", "name": "Kaffe", "unit": "kg", "price": 15_900})
    path = f"/product/{response.json()['id']}"
    product = kleer.get(path).json()
    assert product == {
        "id": response.json()["id"], "foreign-id": "SKU-9", "name": "Kaffe", "type": "GOODS", "unit": "kg",
        "price": 15_900, "ean": 0, "account-nr": 3001, "vat-percentage": 0.25,
        "accounts": {"se": 3001, "eu": 3001, "export": 3001},
    }  # fmt: skip
    assert (
        kleer.post(path, {"type": "digital services", "account-nr": 3002, "vat-percentage": "0.12"}).status_code == 200
    )
    updated = kleer.get(path).json()
    assert (updated["type"], updated["vat-percentage"], updated["accounts"]["eu"]) == ("DIGITAL_SERVICES", 0.12, 3002)
    assert len(kleer.get("/product").json()["products"]) == 5


def test_client_project_filters(kleer_factory) -> None:
    api = kleer_factory(projects=12)
    readables = api.get("/client-project").json()["client-project-readables"]
    assert len(readables) == 12
    active = api.get("/client-project", params={"filter": "active"}).json().get("client-project-readables", [])
    inactive = api.get("/client-project", params={"filter": "inactive"}).json().get("client-project-readables", [])
    assert [p["id"] for p in active] == [p["id"] for p in readables if p["active"]]
    assert [p["id"] for p in inactive] == [p["id"] for p in readables if not p["active"]]
    assert active and inactive
    assert api.get("/client-project", params={"filter": "closed"}).status_code == 500


def test_client_project_create_and_update_ignores_create_only_fields(kleer: KleerApi) -> None:
    client = kleer.get("/client").json()["clients"][0]
    body = {"client": {"id": client["id"]}, "name": "Takbyte", "fixed-price": True, "budget-amount": 5_000_000,
            "opening-date": "2025-06-01"}  # fmt: skip
    response = kleer.put("/client-project", body)
    project_id = response.json()["id"]
    path = f"/client-project/{project_id}"
    project = kleer.get(path).json()
    assert project["id"] == {"id": project_id}
    assert (project["status"], project["active"], project["number"], project["comment"]) == ("OPEN", True, "1", "")
    assert (project["budget-amount"], project["budget-hours"], project["fixed-price"]) == (5_000_000, 0, True)
    update = {"name": "Nytt namn", "fixed-price": False, "comment": "Ändrad", "budget-hours": 12.5}
    assert kleer.post(path, update).json() == {"id": project_id}
    after = kleer.get(path).json()
    assert (after["name"], after["fixed-price"], after["comment"], after["budget-hours"]) == (
        "Takbyte", True, "Ändrad", 12.5,
    )  # fmt: skip


@pytest.mark.parametrize("body", [{"name": "Utan kund"}, {"client": {"id": 1}, "name": "Fel kund"}])
def test_client_project_needs_an_existing_client(kleer: KleerApi, body: dict) -> None:
    assert kleer.put("/client-project", body).status_code == 500
    assert kleer.get("/client-project").json() == {}


def test_simple_projects_and_templates(kleer_factory) -> None:
    api = kleer_factory(projects=1)
    projects = api.get("/project").json()["projects"]
    assert [p["name"] for p in projects] == ["Intern utveckling", "Mässa Elmia"]
    templates = api.get("/client/invoice/template").json()["client-invoice-templates"]
    assert [set(t) for t in templates] == [{"id", "foreign-id", "name", "description"}] * 2
    types = api.get("/client/deliverytype").json()["client-delivery-types"]
    assert [t["name"] for t in types if t["default"]] == ["Email"]


def test_product_create_needs_foreign_id_and_answers_only_the_id(kleer: KleerApi) -> None:
    """§1.9: a create without `foreign-id` is the live 500 "Tekniskt fel"; creates and updates answer `{"id"}`."""
    response = kleer.put("/product", {"name": "Utan Id"})
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert len(kleer.get("/product").json()["products"]) == 4
    created = kleer.put("/product", {"foreign-id": "", "name": "Med Id"}).json()
    assert list(created) == ["id"]
    assert kleer.post(f"/product/{created['id']}", {"unit": "st"}).json() == created
    client = kleer.put("/client", {"foreign-id": "", "name": "Svar AB"}).json()
    assert list(client) == ["id"]
    assert kleer.post(f"/client/{client['id']}", {"phone": ""}).json() == client


@pytest.mark.parametrize(
    ("kind", "path", "field"),
    [("client", "/client", "name"), ("client", "/client", "foreign-id"), ("product", "/product", "name")],
)
def test_update_cannot_null_a_required_element(kleer: KleerApi, kind: str, path: str, field: str) -> None:
    """§1.9: only optional elements (`approver`, `template`) clear with null; a required one is refused."""
    before = kleer.get(path).json()[f"{kind}s"][0]
    response = kleer.post(f"{path}/{before['id']}", {field: None, "phone" if kind == "client" else "unit": "x"})
    assert (response.status_code, response.json()) == (500, {"message": "Tekniskt fel"})
    assert kleer.get(f"{path}/{before['id']}").json() == before


def test_required_null_can_be_configured_to_mean_unchanged(kleer: KleerApi) -> None:
    kleer.set_options(required_null_on_update="keep")
    before = kleer.get("/client").json()["clients"][0]
    assert kleer.post(f"/client/{before['id']}", {"name": None, "phone": "08-1"}).json() == {"id": before["id"]}
    assert kleer.get(f"/client/{before['id']}").json() == before | {"phone": "08-1"}


def test_client_project_activities_and_users_use_the_j5_shape(kleer: KleerApi) -> None:
    """J5: repeated elements without a wrapper are plain arrays whose items name their reference:
    `"activities": [{"activity": {"id"}}]`, `"users": [{"user": {"id"}, "activities": [...]}]`."""
    client, user = kleer.get("/client").json()["clients"][0], kleer.get("/user/me").json()
    body = {"client": {"id": client["id"]}, "name": "Support", "all-activities": False, "all-users": False,
            "activities": [{"activity": {"id": 7}, "price": 95_000}],
            "users": [{"user": {"id": user["id"]}, "activities": [{"activity": 7, "price": "90000"}]}]}  # fmt: skip
    project_id = kleer.put("/client-project", body).json()["id"]
    project = kleer.get(f"/client-project/{project_id}").json()
    assert project["activities"] == [{"activity": {"id": 7}, "price": 95_000}]
    assert project["users"] == [{"user": {"id": user["id"]}, "activities": [{"activity": {"id": 7}, "price": 90_000}]}]
    bare = kleer.post(f"/client-project/{project_id}", {"activities": [{"id": 7}]})
    assert (bare.status_code, bare.json()) == (500, {"message": 'Unrecognized field "id"'})
    flat = kleer.post(f"/client-project/{project_id}", {"users": {"users": []}})
    assert (flat.status_code, flat.json()) == (500, {"message": 'Invalid value "{\'users\': []}" for "users"'})
    assert kleer.get(f"/client-project/{project_id}").json() == project


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client-broker": {"clients": [{"id": 42}]}}, "ClientDoesNotExistException: client-broker 42"),
        ({"user": 42}, "UserDoesNotExistException: user 42"),
        ({"template": {"id": 42}}, "ClientInvoiceTemplateDoesNotExistException: template 42"),
    ],
)
def test_client_references_must_exist(kleer: KleerApi, change: dict, message: str) -> None:
    """§1.6: every reference is `{id}` of an existing entity; a dangling one is a business error (500)."""
    response = kleer.put("/client", {"foreign-id": "", "name": "Ref AB"} | change)
    assert (response.status_code, response.json()) == (500, {"message": message})
    assert len(kleer.get("/client").json()["clients"]) == 5


def test_client_broker_and_dimension_entries_are_kept_when_left_out(kleer: KleerApi) -> None:
    """§1.9 (XSD comment): leaving out `dimension-entries` or `client-broker` on a client update keeps them."""
    broker = kleer.get("/client").json()["clients"][0]
    kept = {
        "client-broker": {"clients": [{"id": broker["id"]}]},
        "dimension-entries": {"dimension-entries": [{"id": 9}]},
    }
    client_id = kleer.put("/client", {"foreign-id": "", "name": "Förmedlad AB"} | kept).json()["id"]
    assert kleer.post(f"/client/{client_id}", {"name": "Förmedlad 2 AB"}).json() == {"id": client_id}
    after = kleer.get(f"/client/{client_id}").json()
    assert (after["name"], after["client-broker"], after["dimension-entries"]) == (
        "Förmedlad 2 AB", kept["client-broker"], kept["dimension-entries"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"broker-client": {"id": 42}}, "ClientDoesNotExistException: broker-client 42"),
        ({"users": [{"user": {"id": 42}}]}, "UserDoesNotExistException: users.user 42"),
        ({"leads": [{"user": {"id": 42}}]}, "UserDoesNotExistException: leads.user 42"),
    ],
)
def test_client_project_references_must_exist(kleer: KleerApi, change: dict, message: str) -> None:
    client = kleer.get("/client").json()["clients"][0]
    response = kleer.put("/client-project", {"client": {"id": client["id"]}, "name": "Ref"} | change)
    assert (response.status_code, response.json()) == (500, {"message": message})
    assert kleer.get("/client-project").json() == {}
