"""Fixtures for the fake HubSpot's platform half, exercised over real HTTP (pytest-django `live_server`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.db import connection

from sandbox.hubspot import state
from sandbox.hubspot.models import AccessToken, Portal
from tests.sandbox.action_receiver import ActionReceiver, action_component
from tests.sandbox.hubspot_crm.conftest import Api, make_api

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://localhost:8765/oauth/callback"
WORKFLOW_SECRET = "workflow-test-secret"
COMPLETE = "/automation/actions/callbacks/2026-03/{}/complete"

# Concurrency guarantees hold on PostgreSQL (row locks); SQLite need only be correct one request at a time.
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency needs PostgreSQL row locks")


@dataclass
class FakeHubSpot:
    """The fake served by the live server, plus shortcuts to its state and control endpoints."""

    base: str

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def portal(self, **kwargs: Any) -> Portal:
        return state.portal_create(**kwargs)

    def token(self, portal: Portal, **kwargs: Any) -> AccessToken:
        return state.token_issue(portal=portal, **kwargs)

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kwargs)

    def control(self, method: str, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.url(f"/_fake{path}"), json=json, timeout=30, **kwargs)

    def token_form(self, **fields: str) -> requests.Response:
        data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
        return requests.post(self.url("/oauth/2026-03/token"), data=data, timeout=30)

    def authorize_url(self, **params: str) -> str:
        query = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": " ".join(state.ALL_SCOPES)}
        query.update(params)
        return self.url("/oauth/authorize") + "?" + urlencode(query)

    def consent(self, url: str, **form: str) -> requests.Response:
        """Load the consent page and submit it (Approve by default) with its CSRF token, as a browser would."""
        with requests.Session() as session:
            page = session.get(url, timeout=30)
            assert page.status_code == 200, page.text
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert csrf is not None
            data = {"csrfmiddlewaretoken": csrf.group(1), "decision": "approve", "portal": "new", **form}
            return session.post(url, data=data, allow_redirects=False, timeout=30)


@pytest.fixture
def hs(live_server, transactional_db, settings) -> FakeHubSpot:
    settings.HUBSPOT_CLIENT_ID = CLIENT_ID
    settings.HUBSPOT_CLIENT_SECRET = CLIENT_SECRET
    return FakeHubSpot(base=f"{live_server.url}/sandbox/hubspot")


@dataclass
class Harness:
    """Workflow-action tests: the fake, the app's receiving endpoint, a portal with one deal and one company."""

    hs: FakeHubSpot
    receiver: ActionReceiver
    api: Api
    deal_id: str
    company_id: str

    def deploy(self, *components: dict[str, Any]) -> requests.Response:
        return self.hs.control("PUT", "/apps/workflow-actions", {"components": list(components)})

    def run(self, hub_id: int | None = None, **body: Any) -> requests.Response:
        body.setdefault("uid", "create_invoice")
        body.setdefault("objectType", "DEAL")
        body.setdefault("objectId", self.deal_id)
        body.setdefault("inputFields", {"invoice_date": "2026-12-03"})
        return self.hs.control("POST", f"/portals/{hub_id or self.api.hub_id}/workflow-actions/run", body)

    def ran(self, **body: Any) -> dict[str, Any]:
        response = self.run(**body)
        assert response.status_code == 200, response.text
        return response.json()

    def execution(self, callback_id: str) -> dict[str, Any]:
        response = self.hs.control("GET", f"/portals/{self.api.hub_id}/workflow-actions/executions/{callback_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def complete(self, callback_id: str, body: Any, *, token: str | None = None, path: str = COMPLETE) -> Any:
        return self.hs.api("POST", path.format(callback_id), token or self.api.token, json=body)


@pytest.fixture
def wf(hs, live_server, settings) -> Iterator[Harness]:
    """A portal with a deal and a company, the app's action endpoint (a receiver) and one action deployed."""
    settings.HUBSPOT_CLIENT_SECRET = WORKFLOW_SECRET
    settings.SANDBOX_WORKFLOW_ACTIONS_RETRY_BASE_SECONDS = 0.01
    receiver = ActionReceiver()
    api = make_api(live_server)
    deal = api.post(
        api.objects("deals"),
        {
            "properties": {
                "dealname": "Årsavtal",
                "amount": "1200",
                "pipeline": "default",
                "dealstage": "appointmentscheduled",
            }
        },
    )
    company = api.post(api.objects("companies"), {"properties": {"name": "Öst AB"}})
    assert deal.status_code == company.status_code == 201
    harness = Harness(hs, receiver, api, deal.json()["id"], company.json()["id"])
    assert harness.deploy(action_component(receiver.url)).status_code == 200
    yield harness
    receiver.close()
