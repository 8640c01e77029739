"""The scheduled path end to end with real processes: beat (FleetScheduler) → Redis → Celery worker → sandbox.

The worker and beat are subprocesses on this test's database (committed rows: transactional tests) and this
test's live server; see tests/integration/celery_processes.py. Skipped without TEST_REDIS_URL or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.clients.http import sessions_close
from integration.clients.kleer import KleerClient
from integration.models import ObjectSync, SyncedRecord, SyncRun
from sandbox.hubspot import faults
from sandbox.hubspot.models import RequestLog
from sandbox.hubspot.selectors import portal_get
from sandbox.hubspot_crm.selectors import objects_for
from tests.integration.celery_processes import CeleryCluster, redis_url_or_skip, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 60.0
UPSERT_PATH = r"/companies/batch/upsert$"


@pytest.fixture
def cluster(live_server, transactional_db, tmp_path) -> Iterator[CeleryCluster]:
    """Worker/beat launcher for this test; every process is killed after it. Their logs are printed, which
    pytest shows only when the test fails."""
    redis_url = redis_url_or_skip()
    cluster = CeleryCluster(redis_url=redis_url, live_server_url=live_server.url, log_dir=tmp_path)
    yield cluster
    cluster.stop()
    sessions_close()
    print(cluster.logs())


def clients_sync(world) -> ObjectSync:
    return ObjectSync.objects.select_related("periodic_task").get(portal=world.portal, object_type="clients")


def kleer_client_ids(world) -> set[str]:
    return {record.id for record in KleerClient(company_id=world.company_id, token=world.token).iter_clients()}


def hubspot_kleer_ids(world) -> Counter[str]:
    """How many HubSpot companies carry each kleer_id (a duplicate shows as a count of 2)."""
    return Counter(record["properties"].get("kleer_id") for record in objects_for(world.hub_id, "companies"))


def finished_runs(world, *, count: int) -> list[SyncRun]:
    """The portal's clients runs in start order once there are `count` and none is running, else []."""
    runs = list(SyncRun.objects.filter(portal=world.portal, object_type="clients").order_by("pk"))
    done = len(runs) == count and all(run.status != SyncRun.Status.RUNNING for run in runs)
    return runs if done else []


def slow_upserts(world, *, seconds: float, count: int) -> None:
    """The fake HubSpot holds the next `count` company batch upserts for `seconds`, then does them and answers:
    a client that went away meanwhile still has its batch land in HubSpot."""
    spec = {"method": "POST", "path": UPSERT_PATH, "delay_seconds": seconds, "count": count}
    faults.fault_add(portal=portal_get(world.hub_id), spec=spec)


def slow_upserts_left(world) -> int:
    """How many of the slow answers set by `slow_upserts` no request has taken yet."""
    return sum(fault["remaining"] for fault in faults.faults_list(portal=portal_get(world.hub_id)))


def test_beat_fires_the_portal_schedule_and_a_worker_syncs_every_client(cluster, world_factory):
    world = world_factory(clients=15, enable=("clients",))
    task = clients_sync(world).periodic_task
    # What ops could do in the beat admin: run it now, once, on this test's queue.
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    task.one_off = True
    task.queue = cluster.queue
    task.save()

    cluster.start_worker()
    cluster.start_beat()
    runs = wait_for(lambda: finished_runs(world, count=1), timeout=RUN_TIMEOUT, what="the scheduled clients run")

    assert [(r.trigger, r.status, r.read, r.created, r.failed) for r in runs] == [
        (SyncRun.Trigger.SCHEDULE, SyncRun.Status.SUCCEEDED, 15, 15, 0)
    ]
    kleer_ids = kleer_client_ids(world)
    assert len(kleer_ids) == 15
    assert hubspot_kleer_ids(world) == Counter(dict.fromkeys(kleer_ids, 1))
    assert SyncedRecord.objects.filter(portal=world.portal, object_type="clients").count() == 15
    # A one-off entry is switched off by beat after its run: no second run comes.
    wait_for(lambda: not PeriodicTask.objects.get(pk=task.pk).enabled, timeout=10, what="beat to disable it")
    assert SyncRun.objects.filter(portal=world.portal, object_type="clients").count() == 1


def test_a_task_delivered_twice_at_once_runs_once(cluster, world_factory):
    world = world_factory(clients=20, enable=("clients",))
    object_sync_id = clients_sync(world).pk
    slow_upserts(world, seconds=2, count=1)  # keeps the first run holding the lock while the second starts
    cluster.start_worker(concurrency=2)

    cluster.send(object_sync_id=object_sync_id)
    cluster.send(object_sync_id=object_sync_id)
    runs = wait_for(lambda: finished_runs(world, count=2), timeout=RUN_TIMEOUT, what="two runs")

    assert sorted((r.status, r.trigger) for r in runs) == [
        (SyncRun.Status.SKIPPED, SyncRun.Trigger.SCHEDULE),
        (SyncRun.Status.SUCCEEDED, SyncRun.Trigger.SCHEDULE),
    ]
    skipped = next(r for r in runs if r.status == SyncRun.Status.SKIPPED)
    succeeded = next(r for r in runs if r.status == SyncRun.Status.SUCCEEDED)
    assert (skipped.error, skipped.read) == ("another run of this object was in progress", 0)
    assert (succeeded.read, succeeded.created) == (20, 20)
    assert hubspot_kleer_ids(world) == Counter(dict.fromkeys(kleer_client_ids(world), 1))


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, world_factory):
    total = 300  # three HubSpot batches of 100
    world = world_factory(clients=total, enable=("clients",))
    object_sync_id = clients_sync(world).pk
    # Each of the first two batches is answered 3 s late: the kill lands while batch 2 is in flight.
    slow_upserts(world, seconds=3, count=2)
    heartbeat = {"SYNC_HEARTBEAT_TIMEOUT": "2"}  # not ten minutes: the next worker may take the lock over soon
    doomed = cluster.start_worker(name="doomed", **heartbeat)

    cluster.send(object_sync_id=object_sync_id)
    synced = SyncedRecord.objects.filter(portal=world.portal, object_type="clients")
    landed = wait_for(lambda: synced.count(), timeout=RUN_TIMEOUT, what="the first acknowledged batch")
    # Kill only once batch 2 has reached the fake (it took the second slow fault): on a loaded machine the worker
    # could otherwise die before sending it, and there would be no in-flight batch to test.
    wait_for(lambda: slow_upserts_left(world) == 0, timeout=RUN_TIMEOUT, what="batch 2 to be in flight")
    cluster.kill(doomed)

    assert 0 < landed < total
    crashed = SyncRun.objects.get(portal=world.portal, object_type="clients")
    assert crashed.status == SyncRun.Status.RUNNING  # the lock a dead worker left behind
    # Late acks: the killed task was never acknowledged, so Redis keeps it and would redeliver it after the
    # broker's visibility timeout (an hour by default) -- the test re-runs explicitly instead.
    assert [m["headers"]["task"] for m in cluster.unacked_messages()] == ["integration.tasks.object_sync_run"]
    # Batch 2 still lands in HubSpot once its delay is over, unacknowledged by us: the re-run must not duplicate it.
    upserts = RequestLog.objects.filter(hub_id=world.hub_id, method="POST", path__endswith="/companies/batch/upsert")
    wait_for(lambda: upserts.count() == 2, timeout=30, what="the in-flight batch to be answered")
    assert hubspot_kleer_ids(world).total() == 2 * landed  # in HubSpot, yet unknown to our SyncedRecords
    stale_since = SyncRun.objects.get(pk=crashed.pk).heartbeat_at
    time.sleep(max(0.0, (stale_since + dt.timedelta(seconds=2.5) - timezone.now()).total_seconds()))

    cluster.start_worker(name="fresh", **heartbeat)
    cluster.send(object_sync_id=object_sync_id)
    runs = wait_for(lambda: finished_runs(world, count=2), timeout=RUN_TIMEOUT, what="the re-run")

    assert [(r.status, r.error) for r in runs] == [
        (SyncRun.Status.ABANDONED, "worker stopped responding"),
        (SyncRun.Status.SUCCEEDED, ""),
    ]
    rerun = runs[1]
    assert (rerun.read, rerun.unchanged, rerun.created + rerun.updated, rerun.failed) == (
        total,
        landed,
        total - landed,
        0,
    )
    assert hubspot_kleer_ids(world) == Counter(dict.fromkeys(kleer_client_ids(world), 1))
    assert synced.count() == total


def test_a_daily_object_switched_on_is_fired_by_beat_at_once_not_a_day_later(cluster, world_factory):
    """Issue 14 point 4: switching on sets the entry due now, so beat fires it at its next tick."""
    from integration.services.audit import Actor
    from integration.services.object_syncs import object_sync_set_enabled

    world = world_factory(clients=1, products=3, invoices=0, agreements=0, projects=0)
    products = ObjectSync.objects.get(portal=world.portal, object_type="products")
    object_sync_set_enabled(object_sync=products, enabled=True, actor=Actor("t"))
    products.refresh_from_db()
    assert products.periodic_task.interval.every == 1440  # daily, untouched
    PeriodicTask.objects.filter(pk=products.periodic_task_id).update(queue=cluster.queue)

    cluster.start_worker()
    cluster.start_beat()

    def products_run() -> list[SyncRun]:
        runs = list(SyncRun.objects.filter(portal=world.portal, object_type="products"))
        return runs if runs and all(r.status != SyncRun.Status.RUNNING for r in runs) else []

    runs = wait_for(products_run, timeout=RUN_TIMEOUT, what="beat to fire the daily products entry")
    assert [(r.trigger, r.status, r.read, r.created) for r in runs] == [
        (SyncRun.Trigger.SCHEDULE, SyncRun.Status.SUCCEEDED, 3, 3)
    ]
