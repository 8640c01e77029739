"""The API-budget column reads every row's rate-limit window in one batch, and agrees with the limiter."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from integration import selectors
from integration.clients import ratelimit
from integration.models import RateLimitWindow
from tests.conftest import redis_forget_rate_limits


@pytest.mark.django_db
def test_database_backend_counts_hits_inside_the_window_for_all_portals_in_one_query(django_assert_num_queries):
    now = time.time()
    RateLimitWindow.objects.create(key="hubspot:1", hits=[now - 1, now - 9, now - 11])
    RateLimitWindow.objects.create(key="hubspot:2", hits=[now - 30])
    with django_assert_num_queries(1):
        used = selectors.hubspot_calls_used([1, 2, 3])
    assert used == {1: 2, 2: 0, 3: 0}


@pytest.mark.django_db
def test_usage_sums_the_last_24_hours_of_runs_per_portal_in_one_query(django_assert_num_queries, settings):
    from django.utils import timezone

    settings.REDIS_URL = ""  # the database rate-limit backend: its read is the second query

    from integration.models import SyncRun
    from tests.admin.conftest import make_portal

    first, second, idle = make_portal(), make_portal(), make_portal()
    for calls, throttled, errors, hours_ago in [(10, 1, 2, 1), (5, 0, 1, 23), (99, 9, 9, 25)]:
        run = SyncRun.objects.create(
            portal=first,
            object_type="clients",
            status="succeeded",
            hubspot_calls=calls,
            hubspot_throttled=throttled,
            hubspot_errors=errors,
        )
        SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(hours=hours_ago))
    SyncRun.objects.create(portal=second, object_type="products", status="failed", hubspot_calls=7, hubspot_errors=7)
    hub_ids = [first.hub_id, second.hub_id, idle.hub_id]
    with django_assert_num_queries(2):  # the runs, and the database rate-limit window
        usage = selectors.hubspot_usage(hub_ids)
    assert usage == {
        first.hub_id: selectors.ApiUsage(calls_10s=0, calls_24h=15, throttled_24h=1, errors_24h=3),
        second.hub_id: selectors.ApiUsage(calls_10s=0, calls_24h=7, throttled_24h=0, errors_24h=7),
        idle.hub_id: selectors.ApiUsage(),
    }


@pytest.fixture
def redis_url(settings):
    url = settings.TEST_REDIS_URL  # one Redis database per xdist worker (config/settings/test.py)
    if not url:
        pytest.skip("no Redis (TEST_REDIS_URL) configured")
    redis_forget_rate_limits(url)
    settings.REDIS_URL = url
    return url


def test_redis_backend_reads_the_page_in_one_pipeline_matching_the_limiter(redis_url):
    store = ratelimit.RedisBackend(redis_url)
    window = ratelimit.hubspot_window()
    for _ in range(7):
        assert store.try_hit("hubspot:11", window) == 0.0
    store.try_hit("hubspot:12", window)
    halved = ratelimit.Window(max(1, window.limit // 2), window.seconds)  # after a 429: a separate key
    store.try_hit("hubspot:12", halved)

    used = selectors.hubspot_calls_used([11, 12, 13])

    assert used == {11: 7, 12: 2, 13: 0}
    assert used[11] == store.used("hubspot:11", window)
