"""Fair, isolated work with real workers on Redis: a click overtakes a backfill, and a portal's runs are capped.

Workers are subprocesses on this test's database and live server (tests/integration/celery_processes.py); the
product's router sends each task to this test's interactive or scheduled queue.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration import metrics, queues
from integration.clients.http import sessions_close
from integration.models import ObjectSync, SyncRun
from sandbox.hubspot import faults
from sandbox.hubspot.selectors import portal_get
from tests.integration.celery_processes import CeleryCluster, redis_url_or_skip, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 90.0


@pytest.fixture
def cluster(live_server, transactional_db, tmp_path, settings) -> Iterator[CeleryCluster]:
    redis_url = redis_url_or_skip()
    cluster = CeleryCluster(redis_url=redis_url, live_server_url=live_server.url, log_dir=tmp_path)
    # The router in this process (the producer's) names the same queues as the workers' settings.
    settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED = cluster.interactive, cluster.scheduled
    yield cluster
    cluster.stop()
    sessions_close()
    print(cluster.logs())


def object_sync(world, object_type: str) -> ObjectSync:
    return ObjectSync.objects.get(portal=world.portal, object_type=object_type)


def slow_upserts(world, *, seconds: float, count: int, path: str = r"/companies/batch/upsert$") -> None:
    spec = {"method": "POST", "path": path, "delay_seconds": seconds, "count": count}
    faults.fault_add(portal=portal_get(world.hub_id), spec=spec)


def ended(*object_syncs: ObjectSync) -> list[SyncRun]:
    """One finished run per object sync, in start order, once every one has ended; else []."""
    runs = []
    for sync in object_syncs:
        found = list(SyncRun.objects.filter(portal_id=sync.portal_id, object_type=sync.object_type))
        if len(found) != 1 or found[0].status == SyncRun.Status.RUNNING:
            return []
        runs.append(found[0])
    return sorted(runs, key=lambda run: run.started_at)


def test_the_router_sends_clicks_and_webhooks_to_interactive_and_schedules_to_scheduled(settings):
    settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED = "i", "s"
    sync = queues.SYNC_TASK
    assert [
        queues.queue_for(sync, (1, "manual", False)),
        queues.queue_for(sync, (), {"object_sync_id": 1, "trigger": "manual"}),
        queues.queue_for(sync, (1, "full", True)),
        queues.queue_for(sync, (), {"object_sync_id": 1}),
        queues.queue_for(sync, (1,)),
        queues.queue_for("integration.tasks.inbound_events_process", (1,)),
        queues.queue_for("integration.tasks.workflow_client_create", (), {"callback_id": "x"}),
        queues.queue_for("integration.tasks.beat_heartbeat"),
        queues.queue_for("integration.tasks.housekeeping_prune"),
    ] == ["i", "i", "s", "s", "s", "i", "i", "i", "s"]


def test_a_sync_now_overtakes_a_backfill_queued_before_it(cluster, world_factory):
    big = world_factory(clients=20, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    other = world_factory(clients=5, products=3, invoices=0, agreements=0, projects=0, enable=("clients", "products"))
    backfill, waiting, clicked = (
        object_sync(big, "clients"),
        object_sync(other, "clients"),
        object_sync(other, "products"),
    )
    slow_upserts(big, seconds=6, count=1)  # the backfill holds the only scheduled worker for 6 s or more
    cluster.start_worker(name="scheduled", queues=[cluster.scheduled])
    cluster.start_worker(name="interactive", queues=[cluster.interactive])

    cluster.send_routed(object_sync_id=backfill.pk, trigger="schedule")
    running = SyncRun.objects.filter(portal=big.portal, status=SyncRun.Status.RUNNING)
    wait_for(running.exists, timeout=RUN_TIMEOUT, what="the backfill to start")
    cluster.send_routed(object_sync_id=waiting.pk, trigger="schedule")  # queued behind the backfill
    cluster.send_routed(object_sync_id=clicked.pk, trigger="manual")  # "Sync now", queued after it
    first, second, third = wait_for(
        lambda: ended(backfill, waiting, clicked), timeout=RUN_TIMEOUT, what="the three runs to end"
    )

    assert [(r.portal_id, r.object_type, r.trigger, r.status) for r in (first, second, third)] == [
        (big.portal.pk, "clients", "schedule", "succeeded"),
        (other.portal.pk, "products", "manual", "succeeded"),
        (other.portal.pk, "clients", "schedule", "succeeded"),
    ]
    assert second.started_at < first.finished_at  # the click ran while the backfill still held its worker
    assert third.started_at >= first.finished_at  # the scheduled run waited for the backfill's worker
    assert (first.created, second.created, third.created) == (20, 3, 5)


def test_a_portal_over_its_cap_waits_in_the_queue_and_nothing_fails(cluster, world_factory):
    world = world_factory(clients=20, products=3, invoices=0, agreements=0, projects=0, enable=("clients", "products"))
    clients, products = object_sync(world, "clients"), object_sync(world, "products")
    slow_upserts(world, seconds=4, count=1)
    cap = {"SYNC_MAX_RUNS_PER_PORTAL": "1", "SYNC_PORTAL_BUSY_COUNTDOWN": "1"}
    cluster.start_worker(name="scheduled", concurrency=2, queues=[cluster.scheduled], **cap)

    cluster.send_routed(object_sync_id=clients.pk, trigger="schedule")
    wait_for(
        SyncRun.objects.filter(portal=world.portal, status=SyncRun.Status.RUNNING).exists,
        timeout=RUN_TIMEOUT,
        what="the clients run to start",
    )
    cluster.send_routed(object_sync_id=products.pk, trigger="schedule")
    first, second = wait_for(lambda: ended(clients, products), timeout=RUN_TIMEOUT, what="both runs to end")

    assert [(r.object_type, r.status, r.created) for r in (first, second)] == [
        ("clients", "succeeded", 20),
        ("products", "succeeded", 3),
    ]
    assert second.started_at >= first.finished_at  # never two runs of the portal at once
    assert SyncRun.objects.filter(portal=world.portal).count() == 2  # the deferral recorded nothing
    assert "queued again in" in cluster.logs()


def test_beat_dispatches_its_heartbeat_to_the_interactive_queue_and_healthz_sees_it(cluster, client, settings):
    settings.REDIS_URL = ""  # the workers count in the database (celery_processes gives them no Redis)
    assert client.get("/healthz").json()["checks"]["beat"]["ok"] is False
    cluster.start_worker(name="interactive", queues=[cluster.interactive])
    cluster.start_beat(BEAT_HEARTBEAT_SECONDS="1")

    sent, ran = wait_for(lambda: all(metrics.beat_heartbeat_last()) and metrics.beat_heartbeat_last(), timeout=60)

    assert sent <= ran  # stamped by beat when it published, recorded by the worker after
    beat = client.get("/healthz").json()["checks"]["beat"]
    assert beat["ok"] is True
    assert 0 <= beat["age_seconds"] < 30
