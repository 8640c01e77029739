"""The fake HubSpot's clock: real time plus an offset kept in the database, or a frozen instant.

Token expiry (30 minutes), authorization-code expiry (5 minutes) and the rate-limit windows all read this clock,
so a test can expire a token or slide a window by moving the clock instead of sleeping. It lives in the database
because the server that reads it may run in another thread or process than the test that moves it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from sandbox.hubspot.models import FakeClock, RateHit

CLOCK_PK = 1


# The clock's row as one API call read it (`pinned`): a batch call asks the time about six times, each a query.
_pinned: ContextVar[tuple[float, datetime | None] | None] = ContextVar("fake_clock_pinned", default=None)


def _setting() -> tuple[float, datetime | None]:
    row = FakeClock.objects.filter(pk=CLOCK_PK).values_list("offset_seconds", "frozen_at").first()
    return (0.0, None) if row is None else row


def now() -> datetime:
    """The fake's current time (aware, UTC)."""
    offset, frozen_at = _pinned.get() or _setting()
    if frozen_at is not None:
        return frozen_at
    return timezone.now() + timedelta(seconds=offset)


def setting_columns() -> dict[str, Subquery]:
    """The clock's setting as annotations of another query (`offset_seconds`, `frozen_at`; both None without a
    row), so that a call's first query can bring it along (`pinned(setting=...)`)."""
    row = FakeClock.objects.filter(pk=CLOCK_PK)
    return {
        "clock_offset_seconds": Subquery(row.values("offset_seconds")[:1]),
        "clock_frozen_at": Subquery(row.values("frozen_at")[:1]),
    }


@contextlib.contextmanager
def pinned(setting: tuple[float | None, datetime | None] | None = None) -> Iterator[None]:
    """Read the clock's setting once for the duration of one API call (a test moves it between calls, never
    during one), or use `setting` as read by `setting_columns`; moving the clock inside the block drops the pin."""
    token = _pinned.set(_setting() if setting is None else (setting[0] or 0.0, setting[1]))
    try:
        yield
    finally:
        _pinned.reset(token)


def advance(seconds: float) -> datetime:
    """Move the clock forward (never backward: windows and expiries would then run in reverse)."""
    _pinned.set(None)
    if seconds < 0:
        raise ValueError("the clock only moves forward; use reset() to return to real time")
    with transaction.atomic():
        row = _locked_row()
        if row.frozen_at is not None:
            row.frozen_at += timedelta(seconds=seconds)
        else:
            row.offset_seconds += seconds
        row.save()
    return now()


def freeze() -> datetime:
    """Stop the clock at the current fake time; only `advance` moves it until `unfreeze`."""
    _pinned.set(None)
    with transaction.atomic():
        row = _locked_row()
        if row.frozen_at is None:
            row.frozen_at = timezone.now() + timedelta(seconds=row.offset_seconds)
            row.save()
    return now()


def unfreeze() -> datetime:
    """Let the clock run again from where it stands (the frozen instant becomes an offset)."""
    _pinned.set(None)
    with transaction.atomic():
        row = _locked_row()
        if row.frozen_at is not None:
            row.offset_seconds = (row.frozen_at - timezone.now()).total_seconds()
            row.frozen_at = None
            row.save()
    return now()


def reset() -> datetime:
    """Back to real time. Rate-window hits stamped in the (fake) future are dropped with it."""
    _pinned.set(None)
    with transaction.atomic():
        FakeClock.objects.filter(pk=CLOCK_PK).delete()
        RateHit.objects.all().delete()
    return now()


def describe() -> dict[str, object]:
    """The clock's state for the control endpoint."""
    row = FakeClock.objects.filter(pk=CLOCK_PK).first()
    return {
        "now": iso(now()),
        "offset_seconds": row.offset_seconds if row else 0.0,
        "frozen": bool(row and row.frozen_at is not None),
    }


def iso(value: datetime) -> str:
    """HubSpot's timestamp format: ISO-8601 UTC with milliseconds and `Z` ("2026-03-10T23:04:41.164Z")."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def to_ms(value: datetime) -> int:
    """Milliseconds since the epoch (HubSpot's `expiresAt`, `occurredAt`)."""
    return int(value.timestamp() * 1000)


def _locked_row() -> FakeClock:
    FakeClock.objects.get_or_create(pk=CLOCK_PK)
    return FakeClock.objects.select_for_update().get(pk=CLOCK_PK)
