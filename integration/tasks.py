"""Celery entry points: thin, idempotent, take ids, call one service, own the retry policy."""

from __future__ import annotations

import logging
import random

import redis
from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from integration import metrics
from integration.clients.errors import RescheduleError, TransientError
from integration.logs import log_context
from integration.models import ObjectSync, SyncRun
from integration.queues import sent_at_of
from integration.services import housekeeping, inbound, sync, workflow_actions
from integration.services.runs import PortalBusyError, sync_run_retry_unqueued

logger = logging.getLogger("integration.tasks")

MAX_RETRIES = 3
# Failures of our own infrastructure, not of a vendor API: retried with backoff like a transient API error.
INFRASTRUCTURE_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OperationalError,
    InterfaceError,
    SoftTimeLimitExceeded,
)
# The longest countdown a rescheduled run waits. On a Redis broker a task whose ETA lies beyond the visibility
# timeout (default: time limit + 300 s) is delivered again before it is due
# (https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout); a
# longer wait (a DAILY 429's Retry-After until midnight) becomes an hourly re-check, one call each, instead.
MAX_RESCHEDULE_COUNTDOWN = 3600


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES, ignore_result=True)
def object_sync_run(self, object_sync_id: int, trigger: str = SyncRun.Trigger.SCHEDULE, full: bool = False) -> None:
    """Sync one portal × object type. Safe to run twice: the run lock skips a duplicate, fingerprints make a
    re-run cheap, and upserts on kleer_id never duplicate a record. Late acks: a worker killed mid-run leaves
    the message on the broker, and the stale run lock is taken over by the retry."""
    try:
        with log_context(task=self.request.id):
            sync.object_sync_run(
                object_sync_id=object_sync_id, trigger=trigger, full=full, task_id=self.request.id or ""
            )
    except PortalBusyError as exc:
        if self.request.is_eager:
            raise  # no queue to put it back on (tests, eager development)
        _requeue(self, exc)
    except ObjectSync.DoesNotExist:
        # Queued before its portal was removed (or a beat entry outlived it): nothing to sync, nothing to retry.
        logger.warning("object sync %s no longer exists; task dropped", object_sync_id)
    except RescheduleError as exc:
        countdown = min(int(exc.retry_after or 600), MAX_RESCHEDULE_COUNTDOWN)
        raise _retry(self, exc=exc, countdown=countdown, max_retries=MAX_RETRIES + 1) from exc
    except TransientError as exc:
        countdown = int(exc.retry_after or 60 * 2**self.request.retries)
        raise _retry(self, exc=exc, countdown=countdown) from exc
    except INFRASTRUCTURE_ERRORS as exc:
        # The run is already recorded failed with the cause; the next attempt goes on from the committed batches.
        raise _retry(self, exc=exc, countdown=60 * 2**self.request.retries) from exc


def _retry(task, *, exc: Exception, countdown: int, **options) -> Exception:
    """`task.retry`; when the retry cannot be sent (the broker is down: Celery rejects the message instead, and
    nothing will run it again), the failed run says so rather than promising a retry."""
    try:
        return task.retry(exc=exc, countdown=countdown, **options)
    except Reject as rejected:
        logger.warning("the retry of task %s could not be queued: %s", task.request.id, rejected.reason)
        try:
            sync_run_retry_unqueued(task_id=task.request.id or "")
        except DatabaseError:  # the database is down too: the run keeps its cause, the task ends all the same
            logger.warning("could not record that task %s will not be retried", task.request.id, exc_info=True)
        raise


def _requeue(task, exc: PortalBusyError) -> None:
    """Put the same message back on its queue after a short, jittered countdown: the portal is at its cap of
    concurrent runs. Not a retry (the retry budget is for failures) and nothing is recorded; the worker is free
    at once for another portal's work."""
    countdown = settings.SYNC_PORTAL_BUSY_COUNTDOWN * random.uniform(0.75, 1.25)
    task.signature_from_request().apply_async(countdown=countdown)
    logger.info("%s; queued again in %.0f s", exc, countdown)


INBOUND_MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=INBOUND_MAX_RETRIES, ignore_result=True)
def inbound_events_process(self, portal_id: int) -> None:
    """Process a portal's pending webhook events. Safe to run twice and in parallel: events are claimed with
    row locks, and each record is re-read on both sides before anything is written. Kleer or HubSpot not
    answering: retried with backoff (1, 2, 4, 8, 16 min), then the records' events fail with the reason."""
    final = self.request.retries >= INBOUND_MAX_RETRIES
    try:
        with log_context(task=self.request.id):
            counts = inbound.inbound_events_process(portal_id=portal_id, final_attempt=final)
    except TransientError as exc:
        if final:
            raise
        raise self.retry(exc=exc, countdown=int(exc.retry_after or 60 * 2**self.request.retries)) from exc
    if counts.get("retry"):
        raise self.retry(countdown=60 * 2**self.request.retries)


WORKFLOW_MAX_RETRIES = 5


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=WORKFLOW_MAX_RETRIES, ignore_result=True
)
def workflow_execution_run(self, execution_id: int) -> None:
    """Run one workflow-action execution and complete it in HubSpot. Safe to run twice and after a crash: the
    execution is claimed per record and its intent recorded before Kleer is called. Kleer or HubSpot not
    answering (5xx, 423, 429) or a concurrent execution of the same record: retried after 30 s, 1, 2, 4 and 8 min,
    then the execution fails with the reason."""
    final = self.request.retries >= WORKFLOW_MAX_RETRIES
    try:
        workflow_actions.workflow_execution_run(execution_id=execution_id, final_attempt=final)
    except TransientError as exc:
        if final:
            raise
        raise self.retry(exc=exc, countdown=int(exc.retry_after or 30 * 2**self.request.retries)) from exc


@shared_task(ignore_result=True)
def housekeeping_prune() -> None:
    """Prune sync history past SYNC_RUN_RETENTION_DAYS (code-owned: daily from CELERY_BEAT_SCHEDULE)."""
    result = housekeeping.sync_history_prune(days=settings.SYNC_RUN_RETENTION_DAYS)
    logger.info(
        "pruned %s sync runs, %s resolved record errors and %s inbound events",
        result.sync_runs,
        result.record_errors,
        result.inbound_events,
    )


@shared_task(bind=True, ignore_result=True)
def beat_heartbeat(self) -> None:
    """Record that beat dispatched this task (its publish time, stamped by config/celery_app.py) and when a worker
    ran it: `/healthz` and `/metrics` tell from it whether beat is alive. Code-owned, every
    BEAT_HEARTBEAT_SECONDS, on the interactive queue."""
    metrics.beat_heartbeat_record(sent_at=sent_at_of(self.request))
