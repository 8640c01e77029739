"""Code-owned housekeeping: pruning sync history past its retention window (run daily by beat)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from integration.models import InboundEvent, RecordError, SyncRun

BATCH_SIZE = 1000


@dataclass(frozen=True)
class PruneResult:
    """How many rows one prune deleted."""

    sync_runs: int
    record_errors: int
    inbound_events: int


def _delete_in_batches(queryset: models.QuerySet, batch_size: int) -> int:
    """Delete the rows of `queryset` a batch at a time (short transactions, bounded memory); returns the count.

    Each batch is re-selected by primary key, so rows deleted by cascade in an earlier batch are not counted
    twice, and the loop ends as soon as a batch deletes nothing.
    """
    model = queryset.model
    total = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            _, per_model = model.objects.filter(pk__in=ids).delete()
        deleted = per_model.get(model._meta.label, 0)
        if not deleted:
            break
        total += deleted
    return total


def sync_history_prune(*, days: int, batch_size: int = BATCH_SIZE, now: dt.datetime | None = None) -> PruneResult:
    """Delete SyncRuns started, resolved RecordErrors resolved, and processed InboundEvents received, more
    than `days` days ago.

    Open and parked errors are kept whatever their age (they are still work to do), and so is a run that is
    still marked running (it holds the run lock; the engine abandons stale ones itself). An inbound event is
    kept for de-duplication; HubSpot stops re-sending one long before any retention of a day or more ends
    (https://developers.hubspot.com/docs/api/webhooks#retries), and an unprocessed one is still work to do.
    """
    if days < 1:
        raise ValueError("SYNC_RUN_RETENTION_DAYS must be at least 1.")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    resolved = RecordError.objects.filter(status=RecordError.Status.RESOLVED).filter(
        Q(resolved_at__lt=cutoff) | Q(resolved_at__isnull=True, last_seen_at__lt=cutoff)
    )
    errors = _delete_in_batches(resolved, batch_size)
    old_runs = SyncRun.objects.filter(started_at__lt=cutoff).exclude(status=SyncRun.Status.RUNNING)
    runs = _delete_in_batches(old_runs, batch_size)
    old_events = InboundEvent.objects.filter(received_at__lt=cutoff, processed_at__isnull=False)
    events = _delete_in_batches(old_events, batch_size)
    return PruneResult(sync_runs=runs, record_errors=errors, inbound_events=events)
