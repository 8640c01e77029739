"""Fixtures for the fake HubSpot's platform half, exercised over real HTTP (pytest-django `live_server`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.db import connection

from sandbox.hubspot import state
from sandbox.hubspot.models import AccessToken, Portal

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://localhost:8765/oauth/callback"

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
