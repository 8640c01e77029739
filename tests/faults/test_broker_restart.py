"""The broker restarted while a run is in flight (issue 16, item 6), with a real Celery worker.

The broker is a redis-server of this test's own on a free port (the shared one serves other test processes),
and, as in docker-compose.yml, the same server holds the rate limiter and the metrics in another database
(REDIS_URL): stopping it also takes away what the run calls between its HubSpot batches. It is stopped while
the first of two batches is in flight, kept down until the task has ended, and started again with its data
(SHUTDOWN SAVE, append-only file) or empty. Runs are requested as "Sync now" does, through the product's
own Celery app (its pooled connection outlives the restart, as a web process's would). Then:

- the run ends failed with its cause, keeping the batch HubSpot acknowledged;
- "Sync now" while the broker is down says the task queue is unreachable and writes nothing;
- the worker survives and reconnects by itself (Celery 5.7's consumer exited instead:
  config/celery_consumer.py);
- "Sync now" after the restart is queued and its run completes, and the fake Kleer and the fake HubSpot hold
  the same records, none missing, none twice;
- the failed task's retry could not be sent while the broker was down, and its message is rejected once the
  worker is back: nothing of it is left to run later, whether the broker kept its data or not, and the run's
  error says that the object's next scheduled run takes over instead of promising a retry.

Restarted at once instead (back before the run calls Redis again), the run completes as if nothing happened,
and its message is acknowledged: nothing runs twice, then or after the visibility timeout.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import kombu.pools
import pytest
import redis

from config.celery_app import app as celery_app
from integration.clients.http import sessions_close
from integration.models import AuditEvent, ObjectSync, SyncRun
from integration.services.audit import Actor
from integration.services.sync import SyncRequestError, object_sync_request_run
from sandbox.hubspot import faults
from sandbox.hubspot.selectors import portal_get
from tests.faults.records import assert_every_kleer_client_once_in_hubspot
from tests.integration.celery_processes import CeleryCluster, RedisServer, redis_url_or_skip, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

UPSERT = r"^/crm/objects/2026-03/companies/batch/upsert$"
CLIENTS = 200  # two HubSpot batches
TIMEOUT = 30.0
QUEUE_UNREACHABLE = "The task queue is unreachable (OperationalError): nothing was queued. Try again later."


@pytest.fixture
def broker(tmp_path) -> Iterator[RedisServer]:
    redis_url_or_skip()  # the same conditions as the other real-worker tests (PostgreSQL, a Redis to run)
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary: the broker restart needs a Redis server of its own")
    server = RedisServer(data_dir=tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cluster(broker, live_server, transactional_db, tmp_path) -> Iterator[CeleryCluster]:
    """A worker launcher on the private broker; the processes' and the server's logs show when a test fails."""
    cluster = CeleryCluster(redis_url=broker.url(0), live_server_url=live_server.url, log_dir=tmp_path)
    yield cluster
    if broker.popen is None or broker.popen.poll() is not None:  # left down by a failed test: nothing to purge
        broker.start()
    cluster.stop()
    sessions_close()
    print(cluster.logs())
    print((tmp_path / "redis-server.log").read_text(errors="replace"))


@pytest.fixture
def sync_now_on(broker, cluster, settings) -> Iterator[None]:
    """The product's own Celery app sends for real to the private broker ("Sync now"), routed to this test's
    queues, instead of running tasks inline as elsewhere in the tests."""
    before = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    forget_pooled_connections()  # another test's broker
    celery_app.conf.update(broker_url=broker.url(0), task_always_eager=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED = cluster.interactive, cluster.scheduled
    try:
        yield
    finally:
        try:
            forget_pooled_connections()
        finally:
            celery_app.conf.update(before)  # whatever happened: later tests in this process run tasks inline


def forget_pooled_connections() -> None:
    """Drop the app's connection and producer pools (Celery's `app.close()` keeps the producer pool), and kombu's
    registry of pools: it keys them by broker URL process-wide, so a pool closed here would be handed out again to
    the next test on that broker ("Acquire on closed pool"). Closing a connection to a broker that is gone may
    raise; `kombu.pools.reset` ignores that."""
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    kombu.pools.reset()


def sync_now(object_sync_id: int) -> str:
    return object_sync_request_run(object_sync=ObjectSync.objects.get(pk=object_sync_id), actor=Actor("support"))


def clients_runs(world) -> list[SyncRun]:
    return list(SyncRun.objects.filter(portal=world.portal, object_type="clients").order_by("pk"))


def ended_runs(world, *, count: int) -> list[SyncRun]:
    """The clients runs in start order once there are `count` and none is running, else []."""
    runs = clients_runs(world)
    return runs if len(runs) == count and all(run.status != SyncRun.Status.RUNNING for run in runs) else []


def first_batch_in_flight(world) -> bool:
    """The fake HubSpot took the slow answer set up for the first batch upsert."""
    return sum(fault["remaining"] for fault in faults.faults_list(portal=portal_get(world.hub_id))) == 0


@pytest.mark.parametrize("keep_data", [True, False], ids=["data-kept", "restarted-empty"])
def test_the_broker_restarted_mid_run(cluster, broker, sync_now_on, world_factory, keep_data):
    world = world_factory(clients=CLIENTS, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    object_sync_id = ObjectSync.objects.get(portal=world.portal, object_type="clients").pk
    spec = {"method": "POST", "path": UPSERT, "delay_seconds": 2, "count": 1}
    faults.fault_add(portal=portal_get(world.hub_id), spec=spec)  # the window to stop the broker in
    # Prefork, as in production: the task runs in a child while the main process loses the broker.
    worker = cluster.start_worker(
        concurrency=2, queues=cluster.queues(), TEST_REDIS_URL=broker.url(1), PYTEST_XDIST_WORKER=""
    )

    # "Sync now" as the web process sends it: its pooled broker connection outlives the restart.
    assert sync_now(object_sync_id) == SyncRun.Trigger.MANUAL
    wait_for(lambda: first_batch_in_flight(world), timeout=TIMEOUT, what="the first batch to be in flight")
    broker.stop(keep_data=keep_data)
    [failed] = wait_for(lambda: ended_runs(world, count=1), timeout=TIMEOUT, what="the run to end")
    # Down until the task has ended: its retry cannot be queued (kombu's publish retries meet a closed port).
    ended_line = f"object_sync_run[{failed.task_id}] reject requeue=False"
    wait_for(lambda: ended_line in worker.log(), timeout=TIMEOUT, what="the task to end")
    # "Sync now" meanwhile: refused with the reason, nothing written (no run, no audit event), no 500.
    with pytest.raises(SyncRequestError) as refused:
        sync_now(object_sync_id)
    assert str(refused.value) == QUEUE_UNREACHABLE
    assert AuditEvent.objects.filter(portal=world.portal, action="sync.requested").count() == 1  # the first
    assert len(clients_runs(world)) == 1
    broker.start()

    unreachable = f"Error 111 connecting to 127.0.0.1:{broker.port}. Connection refused."
    failed.refresh_from_db()
    assert (failed.status, failed.read, failed.created) == (SyncRun.Status.FAILED, 100, 100)
    assert failed.error == (
        f"Redis (the shared rate limiter) is unreachable: ConnectionError: {unreachable}. Its retry could not be "
        "queued (the task queue is unreachable): the next scheduled run takes over."
    )
    assert ObjectSync.objects.get(pk=object_sync_id).last_error == failed.error
    assert worker.popen.poll() is None  # alive, and back on the broker:
    cluster.wait_ready(worker)

    assert sync_now(object_sync_id) == SyncRun.Trigger.MANUAL  # queued this time, on the same web process
    _, rerun = wait_for(lambda: ended_runs(world, count=2), timeout=TIMEOUT, what="the run after the restart")

    assert (rerun.status, rerun.error, rerun.trigger) == (SyncRun.Status.SUCCEEDED, "", SyncRun.Trigger.MANUAL)
    assert AuditEvent.objects.filter(portal=world.portal, action="sync.requested").count() == 2
    assert (rerun.read, rerun.unchanged, rerun.created, rerun.updated, rerun.failed) == (CLIENTS, 100, 100, 0, 0)
    assert [run.pk for run in clients_runs(world)] == [failed.pk, rerun.pk]  # nothing ran twice since
    assert_every_kleer_client_once_in_hubspot(world)
    # The failed task's message was rejected once the worker was back: nothing of it is left to run later.
    assert cluster.unacked_messages() == []
    client = redis.Redis.from_url(broker.url(0))
    assert [client.llen(queue) for queue in cluster.queues()] == [0, 0, 0]


def test_a_broker_back_before_the_run_needs_it_leaves_one_run_and_nothing_to_redeliver(
    cluster, broker, sync_now_on, world_factory
):
    """Stopped and started again while the first batch is in flight: the run never notices, the worker
    reconnects, and the running task's message is neither put back on the queue while it runs (a second run
    beside it) nor left unacknowledged (a second run after the visibility timeout)."""
    world = world_factory(clients=CLIENTS, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    object_sync_id = ObjectSync.objects.get(portal=world.portal, object_type="clients").pk
    spec = {"method": "POST", "path": UPSERT, "delay_seconds": 2, "count": 1}
    faults.fault_add(portal=portal_get(world.hub_id), spec=spec)
    worker = cluster.start_worker(
        concurrency=2, queues=cluster.queues(), TEST_REDIS_URL=broker.url(1), PYTEST_XDIST_WORKER=""
    )

    sync_now(object_sync_id)
    wait_for(lambda: first_batch_in_flight(world), timeout=TIMEOUT, what="the first batch to be in flight")
    broker.stop(keep_data=True)
    broker.start()
    [run] = wait_for(lambda: ended_runs(world, count=1), timeout=TIMEOUT, what="the run to end")

    assert (run.status, run.error, run.read, run.created) == (SyncRun.Status.SUCCEEDED, "", CLIENTS, CLIENTS)
    cluster.wait_ready(worker)
    wait_for(lambda: cluster.unacked_messages() == [], timeout=TIMEOUT, what="the task's acknowledgement")
    # A marker behind anything the restart may have put back on the queue: it must be the only other run.
    sync_now(object_sync_id)
    runs = wait_for(lambda: ended_runs(world, count=2), timeout=TIMEOUT, what="the marker run")
    assert [(r.status, r.read, r.unchanged) for r in runs] == [
        (SyncRun.Status.SUCCEEDED, CLIENTS, 0),
        (SyncRun.Status.SUCCEEDED, CLIENTS, CLIENTS),
    ]
    assert_every_kleer_client_once_in_hubspot(world)
    assert worker.popen.poll() is None
