"""The request log: what each call leaves behind, counters, control endpoints, the HTML page."""

from __future__ import annotations

import re

import requests

from sandbox.hubspot import clock, requestlog, selectors
from sandbox.hubspot.models import RequestLog
from tests.sandbox.hubspot.conftest import CLIENT_ID, CLIENT_SECRET


def _all_logged_text() -> str:
    return " ".join(
        " ".join(str(value) for value in row)
        for row in RequestLog.objects.values_list("path", "endpoint", "query", "request_body", "user_agent")
    )


def test_entries_and_counters(hs):
    clock.freeze()
    portal = hs.portal()
    access = hs.token(portal)
    hs.api("GET", "/_fake/echo?limit=5", access.token)
    hs.api("POST", "/_fake/echo", access.token, json={"inputs": [{"id": "1"}]})
    hs.api("GET", "/account-info/v3/details", access.token)
    hs.api("GET", "/account-info/v3/details", "unknown-token")
    entries = selectors.request_log(portal.hub_id)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/account-info/v3/details", 200),
        ("POST", "/_fake/echo", 200),
        ("GET", "/_fake/echo", 200),
    ]
    newest, posted, first = entries
    assert first["query"] == "limit=5"
    assert posted["request_body"] == '{"inputs": [{"id": "1"}]}'
    assert newest["correlation_id"]
    assert (newest["rate_limited"], newest["fault"], newest["at"]) == (False, "", clock.iso(clock.now()))
    assert newest["duration_ms"] >= 0
    assert selectors.request_counts(portal.hub_id) == {
        "hub_id": portal.hub_id,
        "total": 3,
        "rate_limited": 0,
        "faults": 0,
        "errors": 0,
        "by_endpoint": {"GET /_fake/echo": 1, "GET /account-info/v3/details": 1, "POST /_fake/echo": 1},
        "by_status": {"200": 3},
    }
    assert selectors.request_counts(None)["by_endpoint"] == {"GET /account-info/v3/details": 1}


def test_since_and_after_id(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    hs.api("GET", "/_fake/echo", access.token)
    marker = RequestLog.objects.latest("id").pk
    clock.advance(60)
    cutoff = clock.now()
    hs.api("GET", "/_fake/echo", access.token)
    hub_id = access.portal.hub_id
    assert selectors.request_counts(hub_id, after_id=marker)["total"] == 1
    assert selectors.request_counts(hub_id, since=cutoff)["total"] == 1
    assert selectors.request_counts(hub_id)["total"] == 2
    via_http = hs.control("GET", f"/portals/{hub_id}/request-counts", params={"after_id": marker}).json()
    assert via_http["total"] == 1
    since = hs.control("GET", f"/portals/{hub_id}/requests", params={"since": clock.iso(cutoff)}).json()
    assert len(since["entries"]) == 1


def test_no_credentials_in_the_log(hs):
    access = hs.token(hs.portal())
    hs.api("GET", "/_fake/echo?hapikey=secret-key&limit=2", access.token)
    hs.api("GET", f"/oauth/v1/access-tokens/{access.token}")
    hs.api("GET", f"/oauth/v1/refresh-tokens/{access.refresh_token}")
    hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token)
    requests.post(
        hs.url("/oauth/v3/token/introspect"),
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": access.token},
        timeout=30,
    )
    logged = _all_logged_text()
    for secret in (access.token, access.refresh_token, CLIENT_SECRET, "secret-key"):
        assert secret not in logged
    entries = selectors.request_log(access.portal.hub_id)
    assert [e["endpoint"] for e in entries] == [
        "POST /oauth/v3/token/introspect",
        "POST /oauth/2026-03/token",
        "GET /oauth/v1/refresh-tokens/{token}",
        "GET /oauth/v1/access-tokens/{token}",
        "GET /_fake/echo",
    ]
    assert entries[-1]["query"] == "hapikey=REDACTED&limit=2"
    assert [e["request_body"] for e in entries] == ["", "", "", "", ""]


def test_endpoint_keys():
    assert requestlog.endpoint_key("get", "/crm/v3/objects/companies/123") == "GET /crm/v3/objects/companies/{id}"
    assert requestlog.endpoint_key("PUT", "/crm/v4/objects/0-2/12/associations/default/0-3/34") == (
        "PUT /crm/v4/objects/0-2/{id}/associations/default/0-3/{id}"
    )
    assert requestlog.endpoint_key("POST", "/crm/objects/2026-03/invoices/batch/upsert") == (
        "POST /crm/objects/2026-03/invoices/batch/upsert"
    )


def test_control_log_and_reset(hs):
    portal = hs.portal()
    access = hs.token(portal)
    for _ in range(3):
        hs.api("GET", "/_fake/echo", access.token)
    listed = hs.control("GET", f"/portals/{portal.hub_id}/requests", params={"limit": 2}).json()
    assert len(listed["entries"]) == 2
    assert listed["entries"][0]["id"] > listed["entries"][1]["id"]
    assert hs.control("DELETE", f"/portals/{portal.hub_id}/requests").json() == {"deleted": 3}
    assert hs.control("GET", f"/portals/{portal.hub_id}/request-counts").json()["total"] == 0
    bad = hs.control("GET", f"/portals/{portal.hub_id}/requests", params={"since": "yesterday"})
    assert (bad.status_code, bad.json()) == (400, {"error": "since must be an ISO-8601 date-time"})


def test_log_page(hs):
    portal = hs.portal()
    access = hs.token(portal)
    for _ in range(51):
        hs.api("GET", "/_fake/echo", access.token)
    hs.api("GET", "/account-info/v3/details", access.token)
    index = requests.get(hs.url("/_pages/log/"), timeout=30)
    assert index.status_code == 200
    assert f"?hub_id={portal.hub_id}" in index.text
    page = requests.get(hs.url(f"/_pages/log/?hub_id={portal.hub_id}"), timeout=30)
    assert page.status_code == 200
    assert "52 calls, 0 errors, 0 rate-limited, 0 scripted faults." in page.text
    assert re.search(r"GET /_fake/echo</code></td><td>51</td>", page.text)
    rows = re.findall(r"<td><code>(/[^<]*)</code></td>", page.text)
    assert rows[0] == "/account-info/v3/details"
    assert len(rows) == 50
    assert "Page 1 of 2" in page.text
    older = requests.get(hs.url(f"/_pages/log/?hub_id={portal.hub_id}&page=2"), timeout=30)
    assert len(re.findall(r"<td><code>(/[^<]*)</code></td>", older.text)) == 2
