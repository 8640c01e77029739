"""Per-portal rate limits over HTTP: 110 per rolling 10 s, search 5 per second, headers, 429 bodies, concurrency.

https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (hubspot-api.md §6).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import requests

from sandbox.hubspot import clock, ratelimit, selectors, state
from sandbox.hubspot.models import RateHit
from tests.sandbox.hubspot.conftest import postgres_only

TEN_SECONDLY = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "policyName": "TEN_SECONDLY_ROLLING",
}


def _calls(hs, token: str, n: int, path: str = "/_fake/echo") -> list[requests.Response]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        return [session.get(hs.url(path), timeout=30) for _ in range(n)]


def test_111th_call_in_ten_seconds_is_429(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    responses = _calls(hs, access.token, 111)
    assert [r.status_code for r in responses[:110]] == [200] * 110
    assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in responses[:110]] == [str(n) for n in range(109, -1, -1)]
    assert {r.headers["X-HubSpot-RateLimit-Max"] for r in responses[:110]} == {"110"}
    assert {r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] for r in responses[:110]} == {"10000"}
    last = responses[110]
    assert last.status_code == 429
    assert last.json() == {
        **TEN_SECONDLY,
        "correlationId": last.headers["X-HubSpot-Correlation-Id"],
        "groupName": f"publicapi:oauth-api-calls-ten-secondly:{state.DEFAULT_APP_ID}:{access.portal.hub_id}",
    }
    assert last.headers["Content-Type"] == "application/json;charset=utf-8"
    assert last.headers["X-HubSpot-RateLimit-Max"] == "110"
    assert last.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert last.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "Retry-After" not in last.headers
    assert not [name for name in last.headers if "daily" in name.lower()]
    counts = selectors.request_counts(access.portal.hub_id)
    assert (counts["total"], counts["rate_limited"], counts["by_status"]) == (111, 1, {"200": 110, "429": 1})


def test_window_slides(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    assert {r.status_code for r in _calls(hs, access.token, 60)} == {200}
    clock.advance(5)
    assert {r.status_code for r in _calls(hs, access.token, 50)} == {200}
    assert _calls(hs, access.token, 1)[0].status_code == 429
    clock.advance(4.999)
    assert _calls(hs, access.token, 1)[0].status_code == 429
    clock.advance(0.001)  # the first 60 calls are now exactly 10 s old: out of the window
    freed = _calls(hs, access.token, 1)[0]
    assert freed.status_code == 200
    assert freed.headers["X-HubSpot-RateLimit-Remaining"] == "59"


def test_refused_calls_take_no_slot(hs):
    clock.freeze()
    portal = hs.portal()
    state.portal_set_rate_limits(portal=portal, limit=2)
    access = hs.token(portal)
    assert [r.status_code for r in _calls(hs, access.token, 10)] == [200, 200] + [429] * 8
    clock.advance(10)
    assert [r.status_code for r in _calls(hs, access.token, 3)] == [200, 200, 429]


def test_retry_after_flag_and_per_portal_limit_via_control(hs):
    clock.freeze()
    portal = hs.portal()
    limits = hs.control("PUT", f"/portals/{portal.hub_id}/rate-limits", {"max": 3, "retry_after": True})
    assert limits.json() == {
        "max": 3,
        "interval_ms": 10000,
        "search_max": 5,
        "search_interval_ms": 1000,
        "daily_max": None,
        "retry_after": True,
    }
    access = hs.token(portal)
    assert [r.status_code for r in _calls(hs, access.token, 3)] == [200, 200, 200]
    clock.advance(4)
    refused = _calls(hs, access.token, 1)[0]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "6"
    assert refused.headers["X-HubSpot-RateLimit-Max"] == "3"
    hs.control("PUT", f"/portals/{portal.hub_id}/rate-limits", {"max": None, "retry_after": False})
    restored = _calls(hs, access.token, 1)[0]
    assert restored.headers["X-HubSpot-RateLimit-Max"] == "110"


def test_module_constant_is_the_default(hs, monkeypatch):
    monkeypatch.setattr(ratelimit, "RATE_LIMIT_MAX", 4)
    clock.freeze()
    access = hs.token(hs.portal())
    responses = _calls(hs, access.token, 5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert responses[0].headers["X-HubSpot-RateLimit-Max"] == "4"


def test_real_time_window_without_freezing(hs):
    portal = hs.portal()
    state.portal_set_rate_limits(portal=portal, limit=3)
    access = hs.token(portal)
    assert [r.status_code for r in _calls(hs, access.token, 4)] == [200, 200, 200, 429]


def test_portals_have_separate_windows(hs):
    clock.freeze()
    first, second = hs.portal(), hs.portal()
    state.portal_set_rate_limits(portal=first, limit=1)
    one, two = hs.token(first), hs.token(second)
    assert [r.status_code for r in _calls(hs, one.token, 2)] == [200, 429]
    assert _calls(hs, two.token, 1)[0].headers["X-HubSpot-RateLimit-Remaining"] == "109"


def test_search_bucket_five_per_second(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    responses = _calls(hs, access.token, 6, path="/_fake/echo/search")
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    for response in responses:
        assert not [name for name in response.headers if name.lower().startswith("x-hubspot-ratelimit")]
    refused = responses[5]
    assert refused.json() == {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": refused.headers["X-HubSpot-Correlation-Id"],
        "policyName": "SECONDLY",
        "groupName": f"publicapi:oauth-api-calls-secondly:{state.DEFAULT_APP_ID}:{access.portal.hub_id}",
    }
    # Search is excluded from the 110 / 10 s limit.
    assert _calls(hs, access.token, 1)[0].headers["X-HubSpot-RateLimit-Remaining"] == "109"
    clock.advance(1)
    assert _calls(hs, access.token, 1, path="/_fake/echo/search")[0].status_code == 200


@postgres_only
def test_concurrent_workers_get_exactly_the_limit(hs):
    """4 threads x 40 calls at one instant: exactly 110 succeed, whatever the interleaving (row lock)."""
    clock.freeze()
    access = hs.token(hs.portal())
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {access.token}"
            start.wait()
            for _ in range(40):
                status = session.get(hs.url("/_fake/echo"), timeout=60).status_code
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == Counter({200: 110, 429: 50})
    counts = selectors.request_counts(access.portal.hub_id)
    assert (counts["total"], counts["rate_limited"]) == (160, 50)


def test_no_daily_bucket_by_default(hs, monkeypatch):
    """OAuth calls have no daily limit (§6.1): with a tiny burst limit refreshed each window, nothing says DAILY."""
    monkeypatch.setattr(ratelimit, "RATE_LIMIT_MAX", 2)
    clock.freeze()
    access = hs.token(hs.portal())
    for _ in range(3):
        assert [r.status_code for r in _calls(hs, access.token, 2)] == [200, 200]
        clock.advance(10)
    assert not RateHit.objects.filter(bucket=ratelimit.DAILY_BUCKET).exists()


def _freeze_at_local_hour(hour: int, time_zone: str) -> None:
    """Freeze the fake clock, then move it forward to the next `hour`:00:00 in `time_zone`."""
    now = clock.freeze()
    local = now.astimezone(ZoneInfo(time_zone))
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    clock.advance((target - local).total_seconds())


def test_daily_bucket_when_switched_on(hs):
    """§10.7: the DAILY 429 body; the day ends at midnight in the portal's time zone (§6.3)."""
    portal = hs.portal()
    state.portal_update(portal=portal, time_zone="Europe/Stockholm")
    _freeze_at_local_hour(23, "Europe/Stockholm")
    limits = hs.control("PUT", f"/portals/{portal.hub_id}/rate-limits", {"daily_max": 3, "retry_after": True})
    assert limits.json()["daily_max"] == 3
    access = hs.token(portal, expires_in=2 * 3600)  # outlives the hour the test waits
    assert [r.status_code for r in _calls(hs, access.token, 2)] == [200, 200]
    assert _calls(hs, access.token, 1, path="/_fake/echo/search")[0].status_code == 200  # search counts too
    refused = _calls(hs, access.token, 1)[0]
    assert refused.status_code == 429
    body = refused.json()
    uuid.UUID(body.pop("requestId"))
    assert body == {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": refused.headers["X-HubSpot-Correlation-Id"],
        "policyName": "DAILY",
        "groupName": f"publicapi:oauth-api-calls-daily:{state.DEFAULT_APP_ID}:{portal.hub_id}",
    }
    assert refused.headers["Retry-After"] == "3600"  # until midnight in Stockholm
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "108"  # the refused call took no burst slot
    assert not [name for name in refused.headers if "daily" in name.lower()]
    clock.advance(3600)
    assert _calls(hs, access.token, 1)[0].status_code == 200
