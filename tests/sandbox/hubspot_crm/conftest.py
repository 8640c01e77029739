"""Fixtures for the fake HubSpot CRM: a portal, a token and an HTTP client over the live server's real socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

VERSION = "2026-03"


@dataclass
class Api:
    """Calls the fake HubSpot with a Bearer token; `style` picks legacy (v3/v4) or date-versioned paths."""

    base: str
    token: str
    hub_id: int
    style: str = "v3"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url(path), json=body, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("PATCH", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def oid(self, value: str) -> int | str:
        """A record id as association bodies carry it: int64 on v4, a string on date-versioned paths."""
        return int(value) if self.style == "v3" else value

    # Path builders for the two styles (hubspot-api.md §10: both route to the same handlers).
    def objects(self, object_type: str) -> str:
        return f"/crm/v3/objects/{object_type}" if self.style == "v3" else f"/crm/objects/{VERSION}/{object_type}"

    def properties(self, object_type: str) -> str:
        return f"/crm/v3/properties/{object_type}" if self.style == "v3" else f"/crm/properties/{VERSION}/{object_type}"

    def pipelines(self, object_type: str) -> str:
        return f"/crm/v3/pipelines/{object_type}" if self.style == "v3" else f"/crm/pipelines/{VERSION}/{object_type}"

    def record_associations(self, object_type: str, object_id: str) -> str:
        prefix = "/crm/v4/objects" if self.style == "v3" else f"/crm/objects/{VERSION}"
        return f"{prefix}/{object_type}/{object_id}/associations"

    def associations(self, from_type: str, to_type: str) -> str:
        prefix = "/crm/v4/associations" if self.style == "v3" else f"/crm/associations/{VERSION}"
        return f"{prefix}/{from_type}/{to_type}"


def make_api(live_server: Any, *, style: str = "v3", scopes: tuple[str, ...] | None = None, **features: bool) -> Api:
    from sandbox.hubspot import state

    portal = state.portal_create(features=features or None)
    # These tests exercise CRM behaviour, not rate limits (the gateway's own tests cover those).
    state.portal_set_rate_limits(portal=portal, limit=100_000, search_limit=100_000)
    token = state.token_issue(portal=portal, scopes=scopes if scopes is not None else state.ALL_SCOPES)
    return Api(base=f"{live_server.url}/sandbox/hubspot", token=token.token, hub_id=portal.hub_id, style=style)


@pytest.fixture(params=["v3", "dated"])
def api(request: pytest.FixtureRequest, live_server: Any, transactional_db: Any) -> Api:
    """A fresh portal with every scope, on each path style."""
    return make_api(live_server, style=request.param)


@pytest.fixture
def v3(live_server: Any, transactional_db: Any) -> Api:
    """A fresh portal with every scope, legacy paths only (for tests where the path style is not the point)."""
    return make_api(live_server)


@pytest.fixture
def api_factory(live_server: Any, transactional_db: Any) -> Any:
    """Make more portals/tokens: api_factory(scopes=(...), projects=False, style="dated")."""

    def factory(**kwargs: Any) -> Api:
        return make_api(live_server, **kwargs)

    return factory


@pytest.fixture
def frozen(transactional_db: Any) -> str:
    """Freeze the fake's clock; returns the frozen instant in HubSpot's format (every timestamp will equal it)."""
    from sandbox.hubspot import clock

    return clock.iso(clock.freeze())


def error(response: requests.Response, message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> dict:
    """HubSpot's error body as the fake must send it (the correlation id is the response's own)."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": category,
    }
    body.update(extra)
    return body


def invalid(response: requests.Response, hub_id: int, *problems: tuple[str, str, str]) -> dict:
    """The 400 body for invalid property values: problems are (name, code, message)."""
    results = ",".join(
        f'{{"isValid":false,"message":{_quote(message)},"error":"{code}","name":"{name}",'
        f'"localizedErrorMessage":{_quote(message)},"portalId":{hub_id}}}'
        for name, code, message in problems
    )
    details = [
        {"message": message, "code": code, "context": {"propertyName": [name]}} for name, code, message in problems
    ]
    return error(response, f"Property values were not valid: [{results}]", errors=details)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
