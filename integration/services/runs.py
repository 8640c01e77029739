"""Starting and finishing sync runs: the per portal × object run lock and the denormalised outcome."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration import metrics
from integration.models import ObjectSync, Portal, SyncRun

# A running run whose heartbeat (written after every batch) is older than this belongs to a dead worker:
# the lock is taken over. One batch is at most ~100 HubSpot calls, far below this.
STALE_AFTER = dt.timedelta(seconds=settings.SYNC_HEARTBEAT_TIMEOUT)


# The counters a run keeps as it goes (written with every heartbeat, so a run that fails keeps what it did).
COUNT_FIELDS = (
    "read",
    "unchanged",
    "created",
    "updated",
    "failed",
    "skipped",
    "skipped_reasons",
    "deleted",
    "matched",
)
REDELIVERED = "its worker died; the redelivered task took over"
RETRY_PROMISE = " The run will be retried."
RETRY_UNQUEUED = "Its retry could not be queued (the task queue is unreachable): the next scheduled run takes over."
SKIPPED_RUNNING = "another run of this object was in progress"


class PortalBusyError(Exception):
    """The portal already runs SYNC_MAX_RUNS_PER_PORTAL syncs; the task queues itself again (not a failure)."""

    def __init__(self, *, running: int, cap: int) -> None:
        super().__init__(f"the portal already has {running} syncs running (SYNC_MAX_RUNS_PER_PORTAL={cap})")
        self.running = running
        self.cap = cap


def _abandon_dead(object_sync: ObjectSync, task_id: str) -> int:
    """End the runs whose worker is gone: a stale heartbeat, or held by this very task (delivered again)."""
    running = SyncRun.objects.filter(
        portal_id=object_sync.portal_id, object_type=object_sync.object_type, status=SyncRun.Status.RUNNING
    )
    now = timezone.now()
    taken = 0
    if task_id:
        # With late acks a message comes back only when the worker that took it died (the visibility timeout is
        # longer than the task time limit), so a run held by the same task id has no live worker.
        taken = running.filter(task_id=task_id).update(
            status=SyncRun.Status.ABANDONED, finished_at=now, error=REDELIVERED
        )
    stale = running.filter(heartbeat_at__lt=now - STALE_AFTER)
    taken += stale.update(status=SyncRun.Status.ABANDONED, finished_at=now, error="worker stopped responding")
    if taken:
        metrics.run_count(object_type=object_sync.object_type, status=SyncRun.Status.ABANDONED, runs=taken)
    return taken


def _portal_cap_check(object_sync: ObjectSync, cap: int) -> None:
    """Raise PortalBusyError when the portal already runs `cap` syncs of other objects (0 = no cap).

    Called in the transaction that creates the run, under a lock on the portal row, so two workers starting
    runs of one portal at once count each other and the cap holds exactly. A run of this same object is left
    to the run lock (the insert fails and the duplicate is recorded skipped, as before)."""
    if not cap:
        return
    list(Portal.objects.select_for_update().filter(pk=object_sync.portal_id).values_list("pk"))
    running = SyncRun.objects.filter(portal_id=object_sync.portal_id, status=SyncRun.Status.RUNNING)
    if running.filter(object_type=object_sync.object_type).exists():
        return
    # A run with a stale heartbeat is a dead worker's, ended when its own object next starts: not counted.
    count = running.filter(heartbeat_at__gte=timezone.now() - STALE_AFTER).count()
    if count >= cap:
        raise PortalBusyError(running=count, cap=cap)


def sync_run_start(*, object_sync: ObjectSync, trigger: str, task_id: str = "") -> tuple[SyncRun, bool]:
    """Take the run lock: (run, True) when this caller may sync, (skipped run, False) when one is running.

    The lock is the unique partial constraint on running runs, so it holds across processes and machines;
    a run whose worker died is recognised by its stale heartbeat, or by its task being delivered again, and
    taken over. Raises PortalBusyError, recording nothing, when the portal is at SYNC_MAX_RUNS_PER_PORTAL.
    """
    _abandon_dead(object_sync, task_id)
    try:
        with transaction.atomic():
            _portal_cap_check(object_sync, settings.SYNC_MAX_RUNS_PER_PORTAL)
            run = SyncRun.objects.create(
                portal_id=object_sync.portal_id,
                object_type=object_sync.object_type,
                trigger=trigger,
                status=SyncRun.Status.RUNNING,
                heartbeat_at=timezone.now(),
                task_id=task_id[:255],
            )
        return run, True
    except IntegrityError:
        skipped = sync_run_skip(object_sync=object_sync, trigger=trigger, reason=SKIPPED_RUNNING, task_id=task_id)
        return skipped, False


def sync_run_skip(*, object_sync: ObjectSync, trigger: str, reason: str, task_id: str = "") -> SyncRun:
    """Record a run that did not start, with the reason (a duplicate, a switched-off object, a paused portal).

    `task_id` names the Celery message that asked for it, as on a run that started: every delivered message
    leaves a row that names it (`load_bench` counts lost messages by it)."""
    metrics.run_count(object_type=object_sync.object_type, status=SyncRun.Status.SKIPPED)
    return SyncRun.objects.create(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        trigger=trigger,
        status=SyncRun.Status.SKIPPED,
        finished_at=timezone.now(),
        error=reason,
        task_id=task_id[:255],
    )


def sync_run_heartbeat(*, run: SyncRun, counts: object | None = None) -> None:
    """Prove the worker is alive and keep the counts of the batches committed so far (called after each batch)."""
    values: dict = {"heartbeat_at": timezone.now()}
    if counts is not None:
        values.update({name: getattr(counts, name) for name in COUNT_FIELDS if hasattr(counts, name)})
    SyncRun.objects.filter(pk=run.pk).update(**values)


def sync_run_counts_reload(*, run: SyncRun) -> None:
    """Read back the counts the heartbeats stored (a run that fails mid-way keeps its committed batches)."""
    run.refresh_from_db(fields=list(COUNT_FIELDS))


def sync_run_finish(*, run: SyncRun, status: str, error: str = "") -> SyncRun:
    """Close the run with its counts and copy the outcome onto the ObjectSync (cheap admin lists)."""
    run.status = status
    run.error = error[:5000]
    run.finished_at = timezone.now()
    run.save()
    records = {outcome: getattr(run, outcome) for outcome in metrics.RECORD_OUTCOMES}
    metrics.run_count(object_type=run.object_type, status=status, records=records)
    ObjectSync.objects.filter(portal_id=run.portal_id, object_type=run.object_type).update(
        last_run_at=run.finished_at,
        last_outcome=status,
        last_error=error[:2000],
        last_duration=run.finished_at - run.started_at,
    )
    return run


def sync_run_retry_unqueued(*, task_id: str) -> None:
    """The failed run of task `task_id` will not be retried (the retry could not be sent to the broker): its error,
    and the object's last error, say that the next scheduled run takes over instead of promising a retry."""
    runs = SyncRun.objects.filter(task_id=task_id, status=SyncRun.Status.FAILED)
    run = runs.order_by("-pk").first() if task_id else None
    if run is None:
        return
    cause = run.error.removesuffix(RETRY_PROMISE).rstrip()
    if cause and not cause.endswith("."):
        cause += "."
    error = f"{cause} {RETRY_UNQUEUED}".strip()[:5000]
    SyncRun.objects.filter(pk=run.pk).update(error=error)
    ObjectSync.objects.filter(portal_id=run.portal_id, object_type=run.object_type).update(last_error=error[:2000])
