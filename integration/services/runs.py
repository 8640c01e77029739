"""Starting and finishing sync runs: the per portal × object run lock and the denormalised outcome."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.models import ObjectSync, SyncRun

# A running run whose heartbeat (written after every batch) is older than this belongs to a dead worker:
# the lock is taken over. One batch is at most ~100 HubSpot calls, far below this.
STALE_AFTER = dt.timedelta(seconds=settings.SYNC_HEARTBEAT_TIMEOUT)


def _abandon_stale(object_sync: ObjectSync) -> int:
    cutoff = timezone.now() - STALE_AFTER
    return SyncRun.objects.filter(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        status=SyncRun.Status.RUNNING,
        heartbeat_at__lt=cutoff,
    ).update(status=SyncRun.Status.ABANDONED, finished_at=timezone.now(), error="worker stopped responding")


def sync_run_start(*, object_sync: ObjectSync, trigger: str) -> tuple[SyncRun, bool]:
    """Take the run lock: (run, True) when this caller may sync, (skipped run, False) when one is running.

    The lock is the unique partial constraint on running runs, so it holds across processes and machines;
    a run whose worker died is recognised by its stale heartbeat and taken over.
    """
    _abandon_stale(object_sync)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                portal_id=object_sync.portal_id,
                object_type=object_sync.object_type,
                trigger=trigger,
                status=SyncRun.Status.RUNNING,
                heartbeat_at=timezone.now(),
            )
        return run, True
    except IntegrityError:
        skipped = SyncRun.objects.create(
            portal_id=object_sync.portal_id,
            object_type=object_sync.object_type,
            trigger=trigger,
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error="another run of this object was in progress",
        )
        return skipped, False


def sync_run_heartbeat(*, run: SyncRun) -> None:
    """Prove the worker is alive (called after every batch)."""
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def sync_run_finish(*, run: SyncRun, status: str, error: str = "") -> SyncRun:
    """Close the run with its counts and copy the outcome onto the ObjectSync (cheap admin lists)."""
    run.status = status
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.save()
    ObjectSync.objects.filter(portal_id=run.portal_id, object_type=run.object_type).update(
        last_run_at=run.finished_at,
        last_outcome=status,
        last_error=error[:2000],
        last_duration=run.finished_at - run.started_at,
    )
    return run
