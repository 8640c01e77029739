"""SYNC_MAX_RUNS_PER_PORTAL: the cap on one portal's concurrent runs, counted where the run lock is taken."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import SyncRun
from integration.services.runs import SKIPPED_RUNNING, PortalBusyError, sync_run_start
from tests.factories import ObjectSyncFactory, PortalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def syncs():
    portal = PortalFactory()
    types = ("clients", "products", "projects", "invoices", "agreements")
    return {t: ObjectSyncFactory(portal=portal, object_type=t) for t in types}


def start(object_sync):
    return sync_run_start(object_sync=object_sync, trigger=SyncRun.Trigger.SCHEDULE)


def test_a_run_over_the_cap_is_refused_and_recorded_nowhere(syncs, settings):
    settings.SYNC_MAX_RUNS_PER_PORTAL = 2
    assert [start(syncs[t])[1] for t in ("clients", "products")] == [True, True]

    with pytest.raises(PortalBusyError, match=r"already has 2 syncs running \(SYNC_MAX_RUNS_PER_PORTAL=2\)"):
        start(syncs["projects"])

    assert sorted(SyncRun.objects.values_list("object_type", "status")) == [
        ("clients", "running"),
        ("products", "running"),
    ]
    other = ObjectSyncFactory(object_type="projects")  # another portal is not held back
    assert start(other)[1] is True


def test_a_duplicate_of_a_running_object_is_skipped_by_the_run_lock_not_deferred(syncs, settings):
    settings.SYNC_MAX_RUNS_PER_PORTAL = 1
    start(syncs["clients"])
    run, acquired = start(syncs["clients"])
    assert (acquired, run.status, run.error) == (False, SyncRun.Status.SKIPPED, SKIPPED_RUNNING)


def test_a_dead_workers_run_does_not_count_and_zero_means_no_cap(syncs, settings):
    settings.SYNC_MAX_RUNS_PER_PORTAL = 1
    run, _ = start(syncs["clients"])
    stale = timezone.now() - dt.timedelta(seconds=settings.SYNC_HEARTBEAT_TIMEOUT + 60)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    assert start(syncs["products"])[1] is True
    with pytest.raises(PortalBusyError):
        start(syncs["projects"])
    settings.SYNC_MAX_RUNS_PER_PORTAL = 0
    assert [start(syncs[t])[1] for t in ("projects", "invoices", "agreements")] == [True, True, True]
