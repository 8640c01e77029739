"""HubSpotClient against the fake HubSpot over real HTTP: faults, permanent errors, token refresh under load."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from integration.clients.errors import AuthenticationError, PermanentError, RescheduleError, TransientError
from integration.clients.http import RetryPolicy
from integration.clients.hubspot import HubSpotClient
from integration.models import HubSpotInstallation
from sandbox.hubspot import clock, faults, selectors, state
from sandbox.hubspot.models import RequestLog
from tests.conftest import zone_at_noon
from tests.integration.celery_processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_sleep=5.0)
ACCOUNT = r"^/account-info/"


@pytest.fixture
def world(world_factory):
    return world_factory(clients=1, products=1, invoices=0, agreements=0, projects=0)


def _client(world, **kwargs) -> HubSpotClient:
    installation = HubSpotInstallation.objects.select_related("portal").get(portal=world.portal)
    return HubSpotClient(installation=installation, retry=kwargs.pop("retry", FAST), **kwargs)


def _fault(world, **spec) -> None:
    faults.fault_add(portal=selectors.portal_get(world.hub_id), spec=spec)


def _mark() -> int:
    last = RequestLog.objects.order_by("-id").first()
    return last.pk if last else 0


def _account_calls(world, after: int) -> int:
    counts = selectors.request_counts(world.hub_id, after_id=after)["by_endpoint"]
    return sum(n for endpoint, n in counts.items() if "/account-info/" in endpoint)


def _refresh_calls(after: int) -> int:
    return RequestLog.objects.filter(id__gt=after, path__contains="/oauth/", method="POST").count()


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 429, "retry_after": 0},
        {"status": 429},
        {"status": 502},
        {"status": 503},
        {"status": 423},
        {"drop_connection": True},
    ],
    ids=["429-retry-after", "429-no-retry-after", "502-html", "503-html", "423", "dropped-connection"],
)
def test_transient_fault_is_retried_and_the_data_returned(world, spec):
    _fault(world, method="GET", path=ACCOUNT, count=2, **spec)
    after = _mark()
    info = _client(world).account_info()
    assert info["portalId"] == world.hub_id
    assert _account_calls(world, after) == 3


def test_slow_response_beyond_read_timeout_is_retried(world, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    _fault(world, method="GET", path=ACCOUNT, delay_seconds=1.0)
    after = _mark()
    info = _client(world).account_info()
    assert info["portalId"] == world.hub_id
    # The abandoned slow request is logged when the server finishes it: poll, then check the exact count.
    wait_for(lambda: _account_calls(world, after) >= 2, timeout=10, what="the slow request to be logged")
    assert _account_calls(world, after) == 2


def test_retry_after_is_honoured_exactly(world):
    _fault(world, method="GET", path=ACCOUNT, status=429, retry_after=2)
    slept: list[float] = []
    client = _client(world)
    client.http.sleep = slept.append
    assert client.account_info()["portalId"] == world.hub_id
    assert slept == [2.0]


def test_477_with_long_retry_after_reschedules_without_sleeping(world):
    _fault(world, method="GET", path=ACCOUNT, status=477, retry_after=3600)
    slept: list[float] = []
    client = _client(world)
    client.http.sleep = slept.append
    after = _mark()
    with pytest.raises(RescheduleError) as caught:
        client.account_info()
    assert caught.value.retry_after == 3600.0
    assert caught.value.status == 477
    assert caught.value.permanent is False
    assert slept == []
    assert _account_calls(world, after) == 1


@pytest.mark.parametrize("retry_after", [False, True], ids=["no-retry-after", "retry-after-until-midnight"])
def test_daily_limit_reschedules_after_one_call(world, retry_after):
    """A DAILY 429 will not clear in seconds (hubspot-api.md §6.3): one call, no backoff, a reschedule."""
    portal = selectors.portal_get(world.hub_id)
    # Half a day from the portal's midnight: HubSpot's Retry-After is longer than any worker sleeps.
    state.portal_update(portal=portal, time_zone=zone_at_noon())
    state.portal_set_rate_limits(portal=portal, daily_limit=1, retry_after=retry_after)
    slept: list[float] = []
    client = _client(world)
    client.http.sleep = slept.append
    assert client.account_info()["portalId"] == world.hub_id
    after = _mark()
    with pytest.raises(RescheduleError) as caught:
        client.account_info()
    assert (caught.value.status, caught.value.category) == (429, "DAILY")
    expected = _seconds_to_portal_midnight(portal) if retry_after else 3600.0
    assert caught.value.retry_after == pytest.approx(expected, abs=2)
    assert slept == []
    assert _account_calls(world, after) == 1


def _seconds_to_portal_midnight(portal) -> float:
    now = clock.now().astimezone(ZoneInfo(portal.time_zone))
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=now.tzinfo)
    return (midnight - now).total_seconds()


@pytest.mark.concurrent_db
def test_no_sleeping_when_allow_sleep_is_false(world):
    _fault(world, method="GET", path=ACCOUNT, status=429, retry_after=1)
    slept: list[float] = []
    client = _client(world, allow_sleep=False)
    client.http.sleep = slept.append
    after = _mark()
    with pytest.raises(TransientError) as caught:
        client.account_info()
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert slept == []
    assert _account_calls(world, after) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_permanent_status_gives_up_after_one_attempt(world, status):
    _fault(world, method="GET", path=ACCOUNT, status=status, body={"status": "error", "message": "nope"})
    after = _mark()
    with pytest.raises(PermanentError) as caught:
        _client(world).account_info()
    assert caught.value.status == status
    assert _account_calls(world, after) == 1


@pytest.mark.concurrent_db
def test_401_gets_one_refresh_and_one_retry_then_gives_up(world):
    _fault(world, method="GET", path=ACCOUNT, status=401, count=5)
    after = _mark()
    with pytest.raises(AuthenticationError):
        _client(world).account_info()
    assert _account_calls(world, after) == 2
    assert _refresh_calls(after) == 1
    assert HubSpotInstallation.objects.get(portal=world.portal).status == HubSpotInstallation.Status.CONNECTED


@pytest.mark.concurrent_db
def test_401_then_refreshed_token_succeeds(world):
    fake = selectors.portal_get(world.hub_id)
    state.tokens_revoke(portal=fake, access_token=HubSpotInstallation.objects.get(portal=world.portal).access_token)
    after = _mark()
    assert _client(world).account_info()["portalId"] == world.hub_id
    assert _refresh_calls(after) == 1
    assert _account_calls(world, after) == 2


def _expire_locally(world) -> None:
    HubSpotInstallation.objects.filter(portal=world.portal).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    state.tokens_expire(portal=selectors.portal_get(world.hub_id))


@pytest.mark.concurrent_db
def test_expired_token_is_refreshed_once_by_concurrent_threads(world):
    _expire_locally(world)
    after = _mark()
    results: list[object] = []
    barrier = threading.Barrier(6)

    def work() -> None:
        try:
            client = _client(world)
            barrier.wait()
            results.append(client.account_info()["portalId"])
        except Exception as exc:  # reported through results
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [world.hub_id] * 6
    assert _refresh_calls(after) == 1
    assert _account_calls(world, after) == 6


@pytest.mark.concurrent_db
def test_invalid_grant_marks_the_installation_disconnected(world):
    _expire_locally(world)
    state.tokens_revoke(portal=selectors.portal_get(world.hub_id))
    after = _mark()
    with pytest.raises(AuthenticationError) as caught:
        _client(world).account_info()
    assert caught.value.message == "HubSpot refused the refresh token; the portal must reconnect the app"
    installation = HubSpotInstallation.objects.get(portal=world.portal)
    assert installation.status == HubSpotInstallation.Status.DISCONNECTED
    assert _refresh_calls(after) == 1
    assert _account_calls(world, after) == 0


def test_batch_upsert_207_returns_the_invalid_record_as_failed_and_writes_the_rest(world):
    inputs = [
        ("ada@example.com", {"email": "ada@example.com", "firstname": "Ada"}),
        ("bad@example.com", {"email": "bad@example.com", "lifecyclestage": "not-a-stage"}),
        ("cy@example.com", {"email": "cy@example.com", "firstname": "Cy"}),
    ]
    after = _mark()
    outcome = _client(world).batch_upsert("contacts", inputs, id_property="email")
    assert sorted(w.key for w in outcome.written) == ["ada@example.com", "cy@example.com"]
    assert all(w.new for w in outcome.written)
    assert [f.key for f in outcome.failed] == ["bad@example.com"]
    assert outcome.failed[0].category == "VALIDATION_ERROR"
    counts = selectors.request_counts(world.hub_id, after_id=after)
    assert counts["by_status"] == {"207": 1}
    read = _client(world).batch_read("contacts", ["ada@example.com", "cy@example.com"], id_property="email")
    assert len(read) == 2


def test_batch_upsert_207_errors_without_context_are_pinned_on_their_inputs(world, monkeypatch):
    """HubSpot's 207 errors may name no input (hubspot-api-ruby#403): halves are re-sent until each error names one."""
    from sandbox.hubspot_crm.views import batch

    monkeypatch.setattr(batch, "ERROR_CONTEXT", "none")  # the live server runs in this process
    emails = [f"p{n}@example.com" for n in range(8)]
    bad = {"p2@example.com", "p5@example.com"}
    inputs = [(e, {"email": e, "lifecyclestage": "not-a-stage" if e in bad else "lead"}) for e in emails]
    after = _mark()
    outcome = _client(world).batch_upsert("contacts", inputs, id_property="email")
    assert sorted(w.key for w in outcome.written) == sorted(set(emails) - bad)
    assert sorted(f.key for f in outcome.failed) == sorted(bad)
    assert {f.category for f in outcome.failed} == {"VALIDATION_ERROR"}
    # The 6 good inputs are written (and named) by the first call; only the 2 unanswered ones are re-sent, alone.
    statuses = selectors.request_counts(world.hub_id, after_id=after)["by_status"]
    assert statuses == {"207": 3}
    read = _client(world).batch_read("contacts", sorted(set(emails) - bad), id_property="email")
    assert len(read) == 6


@pytest.mark.concurrent_db
def test_calls_used_budget_counts_real_calls(world):
    from integration.clients import ratelimit
    from integration.selectors import hubspot_calls_used

    store = ratelimit.backend()
    if isinstance(store, ratelimit.RedisBackend):
        # Hub ids are reused after each test's flush, but Redis is not flushed: forget earlier tests' hits.
        for key in store.redis.scan_iter(match=f"*hubspot:{world.hub_id}*"):
            store.redis.delete(key)
    assert hubspot_calls_used([world.hub_id]) == {world.hub_id: 0}
    client = _client(world)
    for _ in range(3):
        client.account_info()
    assert hubspot_calls_used([world.hub_id]) == {world.hub_id: 3}
    assert client.calls == 3


# Run in a separate Python process: builds its own HubSpotClient from the database and calls the API once.
_PROCESS_SCRIPT = """
import django, sys
django.setup()
from integration.clients.http import RetryPolicy
from integration.clients.hubspot import HubSpotClient
from integration.models import HubSpotInstallation
inst = HubSpotInstallation.objects.select_related("portal").get(portal__hub_id=int(sys.argv[1]))
client = HubSpotClient(installation=inst, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
print(client.account_info()["portalId"])
"""


@pytest.mark.concurrent_db
def test_expired_token_is_refreshed_once_by_concurrent_processes(world, sandbox_urls):
    import os
    import subprocess
    import sys

    from tests.integration.celery_processes import database_url

    _expire_locally(world)
    after = _mark()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "HUBSPOT_API_BASE": f"{sandbox_urls}/sandbox/hubspot",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, str(world.hub_id)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=45) for proc in procs]
    assert [(proc.returncode, out.strip()) for proc, (out, _err) in zip(procs, outputs, strict=True)] == [
        (0, str(world.hub_id))
    ] * 3, [err[-2000:] for _out, err in outputs]
    assert _refresh_calls(after) == 1
    assert _account_calls(world, after) == 3
