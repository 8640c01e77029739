"""KleerClient against the fake Kleer over real HTTP: recovery from faults, permanent errors, lazy streaming."""

from __future__ import annotations

import pytest

from integration.clients.errors import AuthenticationError, PermanentError, TransientError
from integration.clients.http import RetryPolicy
from integration.clients.kleer import KleerClient
from sandbox.kleer.models import Company as KleerCompany
from sandbox.kleer.testing import KleerApi
from tests.integration.celery_processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_sleep=5.0)


@pytest.fixture
def company(sandbox_urls):
    from sandbox.kleer.seed import company_seed

    return company_seed(clients=3, products=2, invoices=5, agreements=0, projects=0, seed=3)


@pytest.fixture
def api(company, live_server) -> KleerApi:
    return KleerApi(server_url=live_server.url, company_id=company.company_id, token=company.token)


def _client(company, **kwargs) -> KleerClient:
    return KleerClient(company_id=company.company_id, token=company.token, retry=kwargs.pop("retry", FAST), **kwargs)


def _calls(api: KleerApi, path: str) -> list[dict]:
    return [r for r in api.requests_log() if r["path"].endswith(path)]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429},
        {"status": 423},
        {"status": 503, "body": "<html><body>Service Unavailable</body></html>"},
        {"status": 502, "body": "<html>Bad gateway</html>", "content_type": "text/html"},
        {"drop_connection": True},
    ],
    ids=["429-no-retry-after", "423", "503-html", "502-html", "dropped-connection"],
)
def test_transient_fault_is_retried_and_the_data_returned(company, api, fault):
    api.add_fault(method="GET", path="^/client$", count=2, **fault)
    clients = list(_client(company).iter_clients())
    assert len(clients) == 3
    assert len(_calls(api, "/client")) == 3  # two faults + the success


def test_slow_response_beyond_read_timeout_is_retried(company, api, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    api.add_fault(method="GET", path="^/info$", delay_seconds=1.0)
    info = _client(company).company_info()
    assert info.company_id == company.company_id
    assert info.name == KleerCompany.objects.get(pk=company.company_id).name != ""
    assert api.control("GET", "/faults").json()["faults"][0]["remaining"] == 0  # the slow answer was taken
    # The abandoned slow request is logged only when the server finishes it: poll, then check the exact count.
    wait_for(lambda: len(_calls(api, "/info")) >= 2, timeout=10, what="the slow request to be logged")
    assert len(_calls(api, "/info")) == 2


def test_transient_fault_that_persists_gives_up_after_max_attempts(company, api):
    api.add_fault(method="GET", path="^/client$", count=10, status=503, body="<html>down</html>")
    with pytest.raises(TransientError) as caught:
        list(_client(company).iter_clients())
    assert caught.value.status == 503
    assert len(_calls(api, "/client")) == FAST.max_attempts


def test_no_sleeping_when_allow_sleep_is_false(company, api):
    api.add_fault(method="GET", path="^/client$", count=2, status=429)
    slept: list[float] = []
    client = _client(company, allow_sleep=False)
    client.http.sleep = slept.append
    with pytest.raises(TransientError) as caught:
        list(client.iter_clients())
    assert caught.value.status == 429
    assert slept == []
    assert len(_calls(api, "/client")) == 1


def test_wrong_token_is_a_clear_permanent_error_after_one_attempt(company, api):
    client = KleerClient(company_id=company.company_id, token="not-the-token", retry=FAST)
    with pytest.raises(AuthenticationError) as caught:
        client.check_credentials()
    assert str(caught.value) == f"Kleer: Kleer rejected the API key for company {company.company_id} (HTTP 401)"
    assert caught.value.permanent is True
    assert len(_calls(api, "/info")) == 1


def test_wrong_company_id_is_a_clear_permanent_error(company, sandbox_urls):
    other = company.company_id + 1000
    client = KleerClient(company_id=other, token=company.token, retry=FAST)
    with pytest.raises(AuthenticationError) as caught:
        client.check_credentials()
    assert caught.value.permanent is True
    assert str(company.company_id + 1000) in caught.value.message


def test_404_is_permanent_after_one_attempt(company, api):
    with pytest.raises(PermanentError) as caught:
        _client(company).get("client", 999999)
    assert caught.value.status == 404
    assert len(_calls(api, "/client/999999")) == 1


def test_write_refused_with_message_is_permanent_after_one_attempt(company, api):
    api.add_fault(method="GET", path="^/client$", status=400, body={"message": "Ogiltigt värde"})
    with pytest.raises(PermanentError) as caught:
        list(_client(company).iter_clients())
    assert caught.value.status == 400
    assert caught.value.message == "Ogiltigt värde"
    assert len(_calls(api, "/client")) == 1


def test_iter_invoices_is_lazy_one_page_at_a_time(company, api):
    api.control("DELETE", "/requests")
    invoices = _client(company).iter_invoices(page_size=2)
    first = next(invoices)
    assert first.kind == "invoice"
    pages = _calls(api, "/client/invoice")
    assert len(pages) == 1
    assert "offset=0" in pages[0]["query"]
    rest = list(invoices)
    assert len(rest) + 1 == 5
    assert len(set([first.id, *(r.id for r in rest)])) == 5
    assert len(_calls(api, "/client/invoice")) == 3  # pages of 2, 2, 1


def test_quirky_shapes_are_normalised_at_the_boundary(company, api):
    quirky = {
        "id": {"id": 17},
        "client-ref": 5,
        "our-reference": {"id": 6},
        "rows": {"rows": [{"id": 1, "product": 3}]},
        "credit-invoices": [{"id": 9}],
        "registration-datetime": 1700000000000,
        "certified-date": "2024-01-02",
    }
    api.add_fault(method="GET", path="^/client/invoice/17$", status=200, body=quirky)
    assert _client(company).get("client/invoice", 17) == {
        "id": 17,
        "client-ref": {"id": 5},
        "our-reference": {"id": 6},
        "rows": {"rows": [{"id": 1, "product": {"id": 3}}]},
        "credit-invoices": {"client-invoices": [{"id": 9}]},
        "registration-datetime": "2023-11-14T22:13:20Z",
        "certified-date": "2024-01-02",
    }


def test_html_on_a_200_is_a_transient_error(company, api):
    api.add_fault(method="GET", path="^/info$", status=200, body="<html>maintenance</html>")
    with pytest.raises(TransientError) as caught:
        _client(company).company_info()
    assert caught.value.message == "Kleer answered GET /info with a non-JSON body (text/html; charset=utf-8)"
    assert len(_calls(api, "/info")) == 1
