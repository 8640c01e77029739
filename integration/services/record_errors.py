"""Per-record sync failures (the dead letter): recorded, retried with backoff, parked, retried by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integration.models import Portal, RecordError, SyncDirection, SyncRun

MAX_ATTEMPTS = 5
# Wait before the next automatic retry, by attempts so far (then the error is parked).
BACKOFF = {1: dt.timedelta(minutes=10), 2: dt.timedelta(hours=1), 3: dt.timedelta(hours=4), 4: dt.timedelta(hours=12)}


def record_error_upsert(
    *,
    run: SyncRun | None,
    object_type: str,
    kleer_id: str,
    message: str,
    category: str = "",
    hubspot_id: str = "",
    payload: dict | None = None,
    portal_id: int | None = None,
    direction: str = SyncDirection.OUTBOUND,
    candidates: list[dict] | None = None,
    parked: bool = False,
    customer_message: str = "",
) -> RecordError:
    """Record one more failed attempt for a record in one direction; park it after MAX_ATTEMPTS, or at once with
    `parked` (an ambiguous match waits for a person: retrying cannot decide it).

    Outbound errors belong to a SyncRun; inbound ones (HubSpot → Kleer) have no run and name the portal."""
    portal_id = run.portal_id if run is not None else portal_id
    with transaction.atomic():
        error, created = RecordError.objects.select_for_update().get_or_create(
            portal_id=portal_id,
            object_type=object_type,
            kleer_id=kleer_id,
            direction=direction,
            status__in=[RecordError.Status.OPEN, RecordError.Status.PARKED],
            defaults={"run": run, "message": message[:5000], "category": category[:60], "attempts": 1},
        )
        if not created:
            error.attempts = F("attempts") + 1
        error.run, error.message, error.category = run, message[:5000], category[:60]
        error.customer_message = customer_message[:5000]
        error.hubspot_id = hubspot_id or error.hubspot_id
        error.payload_excerpt = payload or {}
        error.candidates = candidates or []
        error.save()
        error.refresh_from_db()
        if parked or error.attempts >= MAX_ATTEMPTS:
            error.status, error.next_retry_at = RecordError.Status.PARKED, None
        else:
            error.status = RecordError.Status.OPEN
            error.next_retry_at = timezone.now() + BACKOFF[error.attempts]
        error.save(update_fields=["status", "next_retry_at"])
    return error


def record_errors_resolve(
    *, portal_id: int, object_type: str, kleer_ids: Iterable[str], direction: str = SyncDirection.OUTBOUND
) -> int:
    """Mark the errors (in one direction) of records that have now synced as resolved."""
    ids = list(kleer_ids)
    if not ids:
        return 0
    return RecordError.objects.filter(
        portal_id=portal_id,
        object_type=object_type,
        kleer_id__in=ids,
        direction=direction,
        status__in=[RecordError.Status.OPEN, RecordError.Status.PARKED],
    ).update(status=RecordError.Status.RESOLVED, resolved_at=timezone.now(), next_retry_at=None)


def record_errors_waiting(*, portal_id: int, object_type: str, kleer_ids: Iterable[str]) -> set[str]:
    """Kleer ids whose outbound error is parked or still inside its backoff: skip them this run."""
    now = timezone.now()
    rows = RecordError.objects.filter(
        portal_id=portal_id, object_type=object_type, kleer_id__in=list(kleer_ids), direction=SyncDirection.OUTBOUND
    )
    parked = rows.filter(status=RecordError.Status.PARKED)
    backing_off = rows.filter(status=RecordError.Status.OPEN, next_retry_at__gt=now)
    return set(parked.values_list("kleer_id", flat=True)) | set(backing_off.values_list("kleer_id", flat=True))


def record_errors_outstanding(*, portal_id: int, object_type: str) -> tuple[set[str], set[str]]:
    """The outbound errors of one object type in one query, for a whole run: (Kleer ids waiting for their retry
    time or parked, Kleer ids with any open or parked error, which are resolved when their record syncs)."""
    now = timezone.now()
    rows = RecordError.objects.filter(
        portal_id=portal_id,
        object_type=object_type,
        direction=SyncDirection.OUTBOUND,
        status__in=[RecordError.Status.OPEN, RecordError.Status.PARKED],
    ).values_list("kleer_id", "status", "next_retry_at")
    waiting, unresolved = set(), set()
    for kleer_id, status, next_retry_at in rows:
        unresolved.add(kleer_id)
        if status == RecordError.Status.PARKED or (next_retry_at is not None and next_retry_at > now):
            waiting.add(kleer_id)
    return waiting, unresolved


def record_errors_retry(*, portal: Portal, object_type: str | None = None, ids: Iterable[int] | None = None) -> int:
    """Un-park errors so the next run retries them (admin action / settings page)."""
    rows = RecordError.objects.filter(portal=portal, status__in=[RecordError.Status.PARKED, RecordError.Status.OPEN])
    if object_type:
        rows = rows.filter(object_type=object_type)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(status=RecordError.Status.OPEN, next_retry_at=None, attempts=0)
