"""The product's own Kleer client against the fake: the contract both sides rely on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration.clients.errors import AuthenticationError, TransientError
from integration.clients.http import RetryPolicy, session
from integration.clients.kleer import KleerClient

from .conftest import KleerFactory


@pytest.fixture(autouse=True)
def _close_pooled_connections() -> Iterator[None]:
    """The product's pooled keep-alive connections pin a live-server thread (and its database connection) until
    they close; close them so the test database can be dropped at the end of the session."""
    yield
    session().close()


def test_the_product_client_reads_everything(kleer_factory: KleerFactory) -> None:
    api = kleer_factory(invoices=450, agreements=3, projects=2)
    client = KleerClient(company_id=api.company_id, token=api.token, base_url=api.base, allow_sleep=False)
    assert client.company_info().name == api.get("/info").json()["name"]
    assert [r.id for r in client.iter_clients()] == [str(c["id"]) for c in api.get("/client").json()["clients"]]
    assert len(list(client.iter_products())) == 4
    assert len(list(client.iter_agreements())) == 3
    projects = list(client.iter_projects())
    assert [p.data["id"] for p in projects] == [
        p["id"]["id"] for p in api.get("/client-project").json()["client-project-readables"]
    ]
    invoices = list(client.iter_invoices(page_size=200))
    assert len({r.id for r in invoices}) == 450
    pages = [r["query"] for r in api.requests_log() if r["path"] == "/client/invoice"]
    assert [q.split("offset=")[1] for q in pages] == ["0", "200", "400"]


def test_the_product_client_sees_kleer_errors(kleer_factory: KleerFactory) -> None:
    api = kleer_factory()
    retry = RetryPolicy(max_attempts=1)
    client = KleerClient(company_id=api.company_id, token="wrong", base_url=api.base, allow_sleep=False, retry=retry)
    try:
        client.company_info()
    except AuthenticationError as exc:
        assert exc.status == 401
    else:
        raise AssertionError("a wrong token must be refused")
    good = KleerClient(company_id=api.company_id, token=api.token, base_url=api.base, allow_sleep=False, retry=retry)
    api.add_fault(path="^/info$", status=200, body="<html>maintenance</html>", content_type="text/html")
    try:
        good.company_info()
    except TransientError as exc:
        assert "non-JSON" in str(exc)
    else:
        raise AssertionError("an HTML body must not pass as JSON")
