"""Authentication, content negotiation and routing of the fake Kleer over real HTTP (kleer-api.md §1.2–§1.4, §5.1)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import requests

from sandbox.kleer import conventions as C
from sandbox.kleer.testing import KleerApi


def test_missing_token_is_401_with_message(kleer: KleerApi) -> None:
    response = kleer.get("/client", token="")
    assert response.status_code == 401
    assert response.json() == {"message": C.UNAUTHORIZED_MESSAGE}


def test_unknown_token_is_401(kleer: KleerApi) -> None:
    response = kleer.get("/client", token="not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"message": C.UNAUTHORIZED_MESSAGE}


def test_token_of_another_company_is_403(kleer_factory) -> None:
    first, second = kleer_factory(), kleer_factory()
    assert first.company_id != second.company_id
    response = first.get("/client", token=second.token)
    assert response.status_code == 403
    assert response.json() == {"message": C.FORBIDDEN_MESSAGE}


def test_token_on_a_company_that_does_not_exist_is_403(kleer: KleerApi) -> None:
    stranger = KleerApi(server_url=kleer.server_url, company_id=999_999, token=kleer.token)
    response = stranger.get("/client")
    assert response.status_code == 403


def test_token_header_name_is_case_insensitive(kleer: KleerApi) -> None:
    me = kleer.get("/user/me").json()
    for name in ("x-token", "X-TOKEN", "X-token"):
        response = kleer.get("/user/me", token="", headers={name: kleer.token})
        assert response.status_code == 200, name
        assert response.json()["id"] == me["id"]


def test_read_only_token_reads_but_cannot_write(kleer: KleerApi) -> None:
    read_only = kleer.control("POST", "/tokens", {"read_only": True}).json()["token"]
    assert kleer.get("/client", token=read_only).status_code == 200
    response = kleer.put("/client", {"foreign-id": "", "name": "Ny kund AB"}, token=read_only)
    assert response.status_code == 403
    assert response.json() == {"message": C.READ_ONLY_MESSAGE}
    assert len(kleer.get("/client").json()["clients"]) == 5


def test_get_with_only_accept_json_answers_xml(kleer: KleerApi) -> None:
    """§1.4: Kleer returned XML to a GET that only had `Accept: application/json`."""
    as_json = kleer.get("/client").json()["clients"]
    response = kleer.get("/client", json_headers=False, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.tag == "clients"
    items = root.findall("client")
    assert len(items) == 5
    assert [int(item.findtext("id")) for item in items] == [c["id"] for c in as_json]
    assert items[0].find("address/zip-code").text == as_json[0]["address"]["zip-code"]
    assert items[0].findtext("active") == str(as_json[0]["active"]).lower()


def test_content_type_json_alone_selects_json(kleer: KleerApi) -> None:
    response = kleer.get("/user/me", json_headers=False, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["name"] == "Anna Lindqvist"


def test_lenient_option_lets_accept_choose_json(kleer: KleerApi) -> None:
    kleer.set_options(strict_content_type=False)
    accept_only = kleer.get("/user/me", json_headers=False, headers={"Accept": "application/json"})
    assert accept_only.headers["Content-Type"] == "application/json"
    no_headers = kleer.get("/user/me", json_headers=False)
    assert no_headers.headers["Content-Type"] == "application/xml"


def test_errors_follow_the_response_format(kleer: KleerApi) -> None:
    response = kleer.get("/client", token="", json_headers=False)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert (root.tag, root.findtext("message")) == ("error", C.UNAUTHORIZED_MESSAGE)


def test_xml_paged_list_carries_paging_as_attributes(kleer_factory) -> None:
    api = kleer_factory(invoices=3)
    response = api.get("/client/invoice", json_headers=False, params={"limit": 2})
    root = ET.fromstring(response.content)
    assert root.tag == "client-invoices"
    assert root.attrib == {"offset": "0", "limit": "2", "size": "3"}
    invoices = root.findall("client-invoice")
    assert len(invoices) == 2
    assert len(invoices[0].findall("rows/row")) == len(
        api.get("/client/invoice").json()["client-invoices"][0]["rows"]["rows"]
    )


def test_write_without_json_content_type_is_refused(kleer: KleerApi) -> None:
    body = b'{"foreign-id": "", "name": "Textkund AB"}'
    response = kleer.call("PUT", "/client", json_headers=False, headers={"Content-Type": "text/plain"}, data=body)
    assert response.status_code == 500
    assert ET.fromstring(response.content).findtext("message") == C.TECHNICAL_ERROR
    assert len(kleer.get("/client").json()["clients"]) == 5


def test_old_base_alias_answers_the_same(kleer: KleerApi) -> None:
    alias = KleerApi(server_url=kleer.server_url, company_id=kleer.company_id, token=kleer.token, prefix="api/v1/")
    assert alias.base.endswith("/sandbox/kleer/api/v1")
    assert alias.get("/client").json() == kleer.get("/client").json()


def test_unknown_path_is_404_after_authentication(kleer: KleerApi) -> None:
    assert kleer.get("/no/such/thing").status_code == 404
    assert kleer.get("/no/such/thing").json() == {"message": "Not found"}
    assert kleer.get("/no/such/thing", token="").status_code == 401


def test_unsupported_method_is_405(kleer: KleerApi) -> None:
    response = kleer.delete("/client")
    assert response.status_code == 405
    assert response.json() == {"message": "Method not allowed"}


def test_unknown_id_is_404_or_the_configured_500(kleer: KleerApi) -> None:
    response = kleer.get("/client/1")
    assert (response.status_code, response.json()) == (404, {"message": "Client with id 1 not found"})
    kleer.set_options(not_found_status=500)
    response = kleer.get("/client/1")
    assert (response.status_code, response.json()) == (500, {"message": "ClientDoesNotExistException"})


def test_ids_of_one_kind_are_not_ids_of_another(kleer: KleerApi) -> None:
    product_id = kleer.get("/product").json()["products"][0]["id"]
    assert kleer.get(f"/product/{product_id}").status_code == 200
    assert kleer.get(f"/client/{product_id}").status_code == 404
    assert kleer.get(f"/client/invoice/{product_id}").status_code == 404


def test_control_endpoints_need_no_token_and_live_outside_the_api(kleer: KleerApi) -> None:
    response = requests.get(f"{kleer.server_url}/sandbox/kleer/_fake/company/{kleer.company_id}", timeout=5)
    assert response.status_code == 200
    assert response.json()["counts"]["client"] == 5
    assert kleer.get("/_fake").status_code == 404  # not reachable under the Kleer namespace


def test_authorization_header_is_not_a_token(kleer: KleerApi) -> None:
    """§1.2: only `X-Token` authenticates; `Authorization: Bearer` or a query parameter is a missing token (401)."""
    bearer = kleer.get("/client", token="", headers={"Authorization": f"Bearer {kleer.token}"})
    assert (bearer.status_code, bearer.json()) == (401, {"message": C.UNAUTHORIZED_MESSAGE})
    query = kleer.get("/client", token="", params={"token": kleer.token})
    assert (query.status_code, query.json()) == (401, {"message": C.UNAUTHORIZED_MESSAGE})


def test_malformed_json_body_is_tekniskt_fel(kleer: KleerApi) -> None:
    """§1.10: an unreadable body is a generic 500, even with the JSON Content-Type."""
    response = kleer.call("PUT", "/client", data=b'{"foreign-id": "", "name": ')
    assert (response.status_code, response.json()) == (500, {"message": C.TECHNICAL_ERROR})
    assert len(kleer.get("/client").json()["clients"]) == 5


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/client"), ("PUT", "/client/{id}"), ("POST", "/product"), ("PUT", "/product/{id}"),
     ("POST", "/client/invoice"), ("PATCH", "/client/{id}")],
)  # fmt: skip
def test_generic_crud_verbs_are_405(kleer: KleerApi, method: str, path: str) -> None:
    """§1.9, §1.12: PUT on the collection creates and POST on the item updates; S9's POST-create / PUT-update
    must not work against the fake either."""
    client = kleer.get("/client").json()["clients"][0]
    response = kleer.call(method, path.format(id=client["id"]), json={"foreign-id": "", "name": "CRUD AB"})
    assert (response.status_code, response.json()) == (405, {"message": "Method not allowed"})
    assert kleer.get(f"/client/{client['id']}").json() == client
    assert len(kleer.get("/client").json()["clients"]) == 5
