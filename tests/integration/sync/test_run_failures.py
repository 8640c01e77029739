"""Every run ends in a recorded state with its real cause, keeps what it committed, and a redelivery takes over."""

from __future__ import annotations

import pytest
import redis

from integration.models import ObjectSync, SyncRun
from integration.services.runs import REDELIVERED, sync_run_retry_unqueued
from integration.services.sync import object_sync_run
from sandbox.hubspot import faults
from sandbox.hubspot.selectors import portal_get

pytestmark = pytest.mark.django_db(transaction=True)
UPSERT = r"^/crm/objects/2026-03/companies/batch/upsert$"


def clients_sync(world) -> ObjectSync:
    return ObjectSync.objects.get(portal=world.portal, object_type="clients")


def test_a_run_whose_redis_is_unreachable_ends_failed_with_the_cause_and_the_next_run_recovers(world_factory, settings):
    world = world_factory(clients=5, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    good = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down

    with pytest.raises(redis.exceptions.ConnectionError):
        object_sync_run(object_sync_id=clients_sync(world).pk)

    failed = SyncRun.objects.get(portal=world.portal)
    assert failed.status == SyncRun.Status.FAILED
    assert failed.error.startswith("Redis (the shared rate limiter) is unreachable: ConnectionError")
    assert clients_sync(world).last_outcome == SyncRun.Status.FAILED
    settings.REDIS_URL = good
    recovered = object_sync_run(object_sync_id=clients_sync(world).pk)
    assert (recovered.status, recovered.created) == (SyncRun.Status.SUCCEEDED, 5)


def test_a_failed_run_whose_retry_could_not_be_queued_says_the_next_scheduled_run_takes_over(world_factory, settings):
    """The task's retry meets a broker that is down (tests/faults/test_broker_restart.py with a real worker): the
    run no longer promises a retry, on the run and on the object's last error."""
    world = world_factory(clients=5, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(redis.exceptions.ConnectionError):
        object_sync_run(object_sync_id=clients_sync(world).pk, task_id="task-7")

    sync_run_retry_unqueued(task_id="task-7")

    failed = SyncRun.objects.get(portal=world.portal)
    assert failed.error == (
        "Redis (the shared rate limiter) is unreachable: ConnectionError: Error 111 connecting to 127.0.0.1:1. "
        "Connection refused.. Its retry could not be queued (the task queue is unreachable): the next scheduled "
        "run takes over."
    )
    assert clients_sync(world).last_error == failed.error
    sync_run_retry_unqueued(task_id="task-other")  # not this run's task: nothing changes
    assert SyncRun.objects.get(pk=failed.pk).error == failed.error


def test_a_failed_run_keeps_the_counts_of_its_committed_batches(world_factory):
    world = world_factory(clients=250, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    portal = portal_get(world.hub_id)
    faults.fault_add(portal=portal, spec={"method": "POST", "path": UPSERT, "delay_seconds": 0.01, "count": 1})
    faults.fault_add(portal=portal, spec={"method": "POST", "path": UPSERT, "status": 403, "count": 1})

    run = object_sync_run(object_sync_id=clients_sync(world).pk)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert (run.read, run.created, run.updated, run.unchanged) == (100, 100, 0, 0)  # batch 1, committed
    assert run.hubspot_errors == 1


def test_a_redelivered_task_takes_over_the_run_its_dead_worker_left(world_factory):
    world = world_factory(clients=3, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    dead = SyncRun.objects.create(portal=world.portal, object_type="clients", task_id="task-1")  # fresh heartbeat

    elsewhere = object_sync_run(object_sync_id=clients_sync(world).pk, task_id="task-2")
    assert (elsewhere.status, elsewhere.error) == (SyncRun.Status.SKIPPED, "another run of this object was in progress")
    assert elsewhere.task_id == "task-2"  # a skipped run names its message too (load_bench counts by it)

    again = object_sync_run(object_sync_id=clients_sync(world).pk, task_id="task-1")

    dead.refresh_from_db()
    assert (dead.status, dead.error) == (SyncRun.Status.ABANDONED, REDELIVERED)
    assert (again.status, again.created) == (SyncRun.Status.SUCCEEDED, 3)


def test_a_run_skipped_for_a_blocker_names_the_task_that_asked_for_it(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=())

    skipped = object_sync_run(object_sync_id=clients_sync(world).pk, task_id="task-3")

    assert (skipped.status, skipped.task_id) == (SyncRun.Status.SKIPPED, "task-3")
    assert skipped.error == "Clients sync is switched off"
