"""Scripted faults over HTTP: each kind, queue scoping, atomic consumption, connection drops, slow answers."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from sandbox.hubspot import selectors, state
from sandbox.hubspot.models import Portal
from tests.sandbox.hubspot.conftest import CLIENT_ID, CLIENT_SECRET, postgres_only


def _queue(hs, portal, **spec) -> dict:
    response = hs.control("POST", f"/portals/{portal.hub_id}/faults", spec)
    assert response.status_code == 201, response.text
    return response.json()["faults"][0]


def _wait_for_log(hub_id: int, n: int) -> list[dict]:
    """The server may still be writing the row of a call whose client gave up; wait for it (max 10 s)."""
    for _ in range(200):
        entries = selectors.request_log(hub_id)
        if len(entries) >= n:
            return entries
        time.sleep(0.05)
    raise AssertionError(f"expected {n} log entries for hub {hub_id}")


def test_429_without_and_with_retry_after(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, path="^/_fake/echo$", status=429)
    _queue(hs, portal, path="^/_fake/echo$", status=429, retry_after=3)
    first = hs.api("GET", "/_fake/echo", access.token)
    assert first.status_code == 429
    assert first.json() == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": f"publicapi:oauth-api-calls-ten-secondly:{state.DEFAULT_APP_ID}:{portal.hub_id}",
        "correlationId": first.headers["X-HubSpot-Correlation-Id"],
    }
    assert "Retry-After" not in first.headers
    second = hs.api("GET", "/_fake/echo", access.token)
    assert (second.status_code, second.headers["Retry-After"]) == (429, "3")
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 200


def test_search_path_fault_gets_secondly_body(hs):
    portal = hs.portal()
    _queue(hs, portal, path="/search$", status=429)
    response = hs.api("GET", "/_fake/echo/search", hs.token(portal).token)
    assert response.json()["policyName"] == "SECONDLY"
    assert response.json()["message"] == "You have reached your secondly limit."


def test_423_and_477(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, status=423)
    _queue(hs, portal, status=477)
    locked = hs.api("GET", "/_fake/echo", access.token)
    assert locked.status_code == 423
    assert locked.json() == {
        "status": "error",
        "message": "The resource is locked by another request. Locks last 2 seconds; retry after that.",
        "correlationId": locked.headers["X-HubSpot-Correlation-Id"],
        "category": "LOCKED",
    }
    migrating = hs.api("GET", "/_fake/echo", access.token)
    assert migrating.status_code == 477
    assert migrating.headers["Retry-After"] == "30"
    assert migrating.json()["category"] == "MIGRATION_IN_PROGRESS"


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (500, "500 Internal Server Error"),
        (502, "502 Bad Gateway"),
        (503, "503 Service Temporarily Unavailable"),
        (504, "504 Gateway Time-out"),
        (524, "524: A timeout occurred"),
    ],
)
def test_5xx_answer_with_html(hs, status, title):
    portal = hs.portal()
    fault = _queue(hs, portal, status=status)
    response = hs.api("GET", "/_fake/echo", hs.token(portal).token)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert f"<title>{title}</title>" in response.text
    assert "X-HubSpot-Correlation-Id" not in response.headers
    entry = selectors.request_log(portal.hub_id)[0]
    assert (entry["status"], entry["fault"]) == (status, f"fault#{fault['id']} {status}")


def test_custom_body_headers_and_content_type(hs):
    portal = hs.portal()
    _queue(hs, portal, status=502, body="", content_type="text/plain", headers={"X-Edge": "cf"})
    response = hs.api("GET", "/_fake/echo", hs.token(portal).token)
    assert (response.status_code, response.text, response.headers["X-Edge"]) == (502, "", "cf")
    assert response.headers["Content-Type"] == "text/plain"


def test_200_instead_of_201(hs):
    portal = hs.portal()
    _queue(hs, portal, method="POST", path="^/_fake/echo$", status=200, passthrough=True)
    access = hs.token(portal)
    response = hs.api("POST", "/_fake/echo?status=201", access.token)
    assert response.status_code == 200
    assert response.json()["hubId"] == portal.hub_id
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "109"
    assert hs.api("POST", "/_fake/echo?status=201", access.token).status_code == 201


def test_slow_answer_and_timeout(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, delay_seconds=0.6)
    started = time.monotonic()
    slow = hs.api("GET", "/_fake/echo", access.token)
    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.6
    _queue(hs, portal, delay_seconds=1.0, status=504)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(hs.url("/_fake/echo"), headers={"Authorization": f"Bearer {access.token}"}, timeout=0.3)
    entries = _wait_for_log(portal.hub_id, 2)
    assert entries[0]["status"] == 504
    assert entries[0]["duration_ms"] >= 1000


def test_drop_connection(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, drop_connection=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        hs.api("GET", "/_fake/echo", access.token)
    entry = selectors.request_log(portal.hub_id)[0]
    assert entry["status"] == 0
    assert entry["fault"].endswith(" drop")
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 200


def test_drop_after_the_work_is_done(hs):
    """The nastiest network failure: HubSpot did the work, the client never hears about it."""
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, method="DELETE", path="external-install", passthrough=True, drop_connection=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        hs.api("DELETE", "/appinstalls/2026-03/external-install", access.token)
    assert Portal.objects.get(pk=portal.pk).installed is False
    assert selectors.request_log(portal.hub_id)[0]["status"] == 204


def test_global_queue_serves_calls_without_a_valid_token(hs):
    assert hs.control("POST", "/faults", {"path": "^/oauth/v1/token$", "status": 503}).status_code == 201
    response = requests.post(hs.url("/oauth/v1/token"), data={"grant_type": "refresh_token"}, timeout=30)
    assert response.status_code == 503
    unattributed = hs.control("GET", "/requests").json()
    assert unattributed["entries"][0]["endpoint"] == "POST /oauth/v1/token"
    assert unattributed["entries"][0]["status"] == 503


def test_portal_queue_applies_to_its_token_refresh_only(hs):
    mine, other = hs.portal(), hs.portal()
    my_token, other_token = hs.token(mine), hs.token(other)
    _queue(hs, mine, path="/token$", status=502, count=2)
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token"}
    other_refresh = requests.post(
        hs.url("/oauth/2026-03/token"), data={**creds, "refresh_token": other_token.refresh_token}, timeout=30
    )
    assert other_refresh.status_code == 200
    for _ in range(2):
        mine_refresh = requests.post(
            hs.url("/oauth/2026-03/token"), data={**creds, "refresh_token": my_token.refresh_token}, timeout=30
        )
        assert mine_refresh.status_code == 502
    assert (
        requests.post(
            hs.url("/oauth/2026-03/token"), data={**creds, "refresh_token": my_token.refresh_token}, timeout=30
        ).status_code
        == 200
    )


def test_portal_faults_do_not_leak_to_other_portals(hs):
    mine, other = hs.portal(), hs.portal()
    _queue(hs, mine, status=500)
    assert hs.api("GET", "/_fake/echo", hs.token(other).token).status_code == 200
    assert hs.api("GET", "/_fake/echo", hs.token(mine).token).status_code == 500


def test_method_and_count_filters(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, method="POST", status=503, count=2)
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 200
    assert [hs.api("POST", "/_fake/echo", access.token).status_code for _ in range(3)] == [503, 503, 200]
    listed = hs.control("GET", f"/portals/{portal.hub_id}/faults").json()["faults"]
    assert [(fault["method"], fault["remaining"]) for fault in listed] == [("POST", 0)]
    assert hs.control("DELETE", f"/portals/{portal.hub_id}/faults").json() == {"deleted": 1}


@postgres_only
def test_a_fault_is_taken_once_under_concurrency(hs):
    portal = hs.portal()
    access = hs.token(portal)
    _queue(hs, portal, status=503, count=1)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def call() -> None:
        start.wait()
        status = hs.api("GET", "/_fake/echo", access.token).status_code
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == Counter({200: 7, 503: 1})


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"status": 503, "colour": "red"}, "unknown fault fields: colour"),
        ({"status": 99}, "status must be an HTTP status code"),
        (
            {"status": 503, "path": "("},
            "path is not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        ({"status": 503, "count": 0}, "count must be a positive integer"),
        ({}, "a fault needs a status, drop_connection, passthrough or delay_seconds"),
        ({"passthrough": True, "body": "x"}, "a passthrough fault answers with the real body; body cannot be set"),
        ({"status": 503, "method": "FETCH"}, "method must be an HTTP method, not 'FETCH'"),
    ],
)
def test_bad_fault_specs_are_refused(hs, spec, error):
    portal = hs.portal()
    response = hs.control("POST", f"/portals/{portal.hub_id}/faults", spec)
    assert (response.status_code, response.json()) == (400, {"error": error})
