"""`/metrics`: the token, never a 500, and every metric moving by exactly the work done between two scrapes."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from django.db.models import Max
from prometheus_client.parser import text_string_to_metric_families

from integration import metrics
from integration.clients import ratelimit
from integration.models import InboundEvent, ObjectSync, SyncedRecord
from integration.services.audit import Actor
from integration.services.sync import object_sync_request_run, object_sync_run
from integration.tasks import beat_heartbeat
from integration.tasks import object_sync_run as sync_task
from sandbox.hubspot import faults
from sandbox.hubspot.models import RequestLog as HubSpotLog
from sandbox.hubspot.selectors import portal_get
from sandbox.kleer.models import RequestLog as KleerLog
from tests.integration.celery_processes import redis_url_or_skip
from tests.integration.inbound.conftest import Hook, event

TOKEN = "metrics-token-for-tests-0123456789"
Samples = dict[tuple[str, frozenset], float]


def scrape(client, token: str = TOKEN) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.mark.django_db
def test_metrics_are_404_without_a_token_setting_and_401_with_a_wrong_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN}):
        response = client.get("/metrics", **header)
        assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
        assert TOKEN not in response.content.decode()
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


@pytest.mark.django_db
def test_a_source_that_is_down_is_reported_and_the_scrape_still_answers(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the counter store too
    samples = scrape(client)
    assert value(samples, "kleer_metrics_source_up", source="broker") == 0
    assert value(samples, "kleer_metrics_source_up", source="store") == 0
    assert value(samples, "kleer_metrics_source_up", source="database") == 1
    assert value(samples, "kleer_inbound_events_pending") == 0


@pytest.mark.django_db
def test_the_database_store_adds_up_increments_and_keeps_gauges_apart(settings):
    settings.REDIS_URL = ""
    metrics.api_call_count(service="HubSpot", status=429)
    metrics.api_call_count(service="HubSpot", status=429)
    metrics.api_call_count(service="Kleer", status=None)
    metrics.beat_heartbeat_record(sent_at=1000.5)
    counters = metrics.store().counters()
    assert counters == {
        metrics.metric_key("kleer_api_calls_total", {"service": "hubspot", "status": "429"}): 2,
        metrics.metric_key("kleer_api_calls_total", {"service": "kleer", "status": "network_error"}): 1,
    }
    assert metrics.beat_heartbeat_last()[0] == 1000.5


@pytest.fixture
def redis_broker(settings) -> Iterator[dict[str, str]]:
    """The product's Celery app publishing to Redis (not eager) on queues of this test's own, so queued work stays
    in the broker where /metrics reads it."""
    from config.celery_app import app

    url = redis_url_or_skip()
    tag = uuid.uuid4().hex[:10]
    names = {"interactive": f"test-{tag}-interactive", "scheduled": f"test-{tag}-scheduled"}
    settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED = names["interactive"], names["scheduled"]
    settings.CELERY_BROKER_URL = url
    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options)
    app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options = url, False, {}
    app.amqp._producer_pool, app._pool = None, None  # the pools were built for the filesystem broker
    yield names
    app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options = saved
    app.amqp._producer_pool, app._pool = None, None
    client = redis.Redis.from_url(url)
    for name in names.values():
        client.delete(name, f"_kombu.binding.{name}")


def _status_counts(rows) -> Counter[str]:
    return Counter(str(status) for status in rows.values_list("status", flat=True))


@pytest.mark.concurrent_db
def test_each_metric_moves_by_exactly_the_work_done(world_factory, sandbox_urls, client, settings, redis_broker):
    settings.METRICS_TOKEN = TOKEN
    world = world_factory(clients=8, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    hubspot_start = HubSpotLog.objects.aggregate(m=Max("id"))["m"] or 0
    kleer_start = KleerLog.objects.aggregate(m=Max("id"))["m"] or 0
    before = scrape(client)

    # A sync against the sandbox, whose first batch upsert HubSpot answers 429 (retried, then accepted).
    spec = {"method": "POST", "path": r"/companies/batch/upsert$", "status": 429, "count": 1}
    faults.fault_add(portal=portal_get(world.hub_id), spec=spec)
    run = object_sync_run(object_sync_id=clients.pk)
    assert (run.status, run.read, run.created, run.hubspot_throttled) == ("succeeded", 8, 8, 1)
    # Two waits for a shared window of one call per second.
    waited: list[float] = []
    limiter = ratelimit.PortalRateLimiter(
        key=f"hubspot:{world.hub_id}-metrics",
        window=ratelimit.Window(1, 1),
        backend=ratelimit.backend(),
        sleep=lambda seconds: (waited.append(seconds), time.sleep(seconds)),
    )
    for _ in range(3):
        limiter.acquire()
    # A webhook (stored pending; its processing waits in the interactive queue), a "Sync now" (interactive) and a
    # scheduled run (scheduled queue).
    linked = SyncedRecord.objects.filter(portal=world.portal, object_type="clients").order_by("kleer_id").first()
    webhook = Hook(sandbox_urls).deliver([event(world.hub_id, linked.hubspot_id, "phone", "+46 8 1")])
    assert webhook.json()["pending"] == 1
    object_sync_request_run(object_sync=clients, actor=Actor(label="test"))
    sync_task.delay(clients.pk)
    beat_heartbeat.apply()
    after = scrape(client)

    assert moved(before, after, "kleer_sync_runs_total", object_type="clients", status="succeeded") == 1
    assert sum(moved(before, after, n, **dict(labels)) for n, labels in after if n == "kleer_sync_runs_total") == 1
    records = {k[1]: moved(before, after, k[0], **dict(k[1])) for k in after if k[0] == "kleer_sync_records_total"}
    assert {dict(labels)["outcome"]: n for labels, n in records.items() if n} == {"read": 8, "created": 8}
    hubspot_calls = _status_counts(HubSpotLog.objects.filter(id__gt=hubspot_start))
    kleer_calls = _status_counts(KleerLog.objects.filter(id__gt=kleer_start))
    assert hubspot_calls["429"] == 1
    for service, expected in (("hubspot", hubspot_calls), ("kleer", kleer_calls)):
        got = {
            dict(labels)["status"]: moved(before, after, name, **dict(labels))
            for name, labels in after
            if name == "kleer_api_calls_total" and dict(labels)["service"] == service
        }
        assert {status: n for status, n in got.items() if n} == dict(expected), service
    assert len(waited) >= 2  # a sleep can end a hair before the window frees; the limiter then waits again
    assert moved(before, after, "kleer_rate_limit_waits_total", limit="hubspot") == len(waited)
    assert moved(before, after, "kleer_rate_limit_wait_seconds_total", limit="hubspot") == pytest.approx(sum(waited))
    assert moved(before, after, "kleer_inbound_events_pending") == 1
    assert InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).count() == 1
    interactive, scheduled = redis_broker["interactive"], redis_broker["scheduled"]
    assert moved(before, after, "kleer_queue_messages", queue=interactive) == 2
    assert moved(before, after, "kleer_queue_messages", queue=scheduled) == 1
    assert 0 < value(after, "kleer_queue_oldest_message_age_seconds", queue=interactive) < 60
    assert value(before, "kleer_queue_oldest_message_age_seconds", queue=interactive) == 0
    assert ("kleer_beat_heartbeat_age_seconds", frozenset()) not in before
    assert 0 <= value(after, "kleer_beat_heartbeat_age_seconds") < 60
    assert value(after, "kleer_sync_runs_running") == 0
    assert {name for name, labels in after if name == "kleer_metrics_source_up" and after[(name, labels)] != 1} == set()


def test_every_api_call_counts_through_one_redis_connection_pool_per_process(settings):
    """The counter store is on the hot path (one increment per outbound call): one client per Redis URL."""
    settings.REDIS_URL = "redis://127.0.0.1:6379/13"
    first, second = metrics.store(), metrics.store()
    assert isinstance(first, metrics.RedisStore) and first is second
    assert first.redis.connection_pool is second.redis.connection_pool
    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    assert metrics.store() is not first
