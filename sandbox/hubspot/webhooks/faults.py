"""Webhook fault injection, so the app's tests can prove exactly-once processing (hubspot-api.md §8.1, §10.8:
"Order is not guaranteed. Deduplicate on eventId"; retries re-send events HubSpot already sent).

Knobs (on the `WebhookApp` row, shared by every process):
- `duplicate: n`: each of the next n events sent is sent twice, the copy in a separate request after the others
  (same `eventId`, same `attemptNumber`); the copy's answer does not decide the event's fate.
- `reorder: true`: the next delivery that sends anything sends each portal's events newest first, inside and
  across requests, and the portals in reverse order. One-shot.
- `delay_seconds: s`: events are held back s seconds of the fake clock: pending events become due no earlier
  than now + s, and new events s seconds after they occur, until it is set back to 0.
- `batch_size: k`: at most k events per request (HubSpot's own cap is 100) until set back to null.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from sandbox.hubspot import clock
from sandbox.hubspot.models import WebhookApp, WebhookEvent
from sandbox.hubspot.webhooks import config

MAX_BATCH = 100
_FIELDS = {"duplicate", "reorder", "delay_seconds", "batch_size"}


def _count(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ValueError(f"{name} must be an integer {bound}, not {value!r}")
    return value


def faults_set(spec: dict[str, Any]) -> WebhookApp:
    """Apply the knobs present in `spec` (others keep their value); ValueError for a bad one."""
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown webhook fault field(s): {', '.join(unknown)}; use {', '.join(sorted(_FIELDS))}")
    with transaction.atomic():
        config.app_row()
        app = WebhookApp.objects.select_for_update().get(pk=config.APP_PK)
        if "duplicate" in spec:
            app.duplicate_remaining = _count(spec["duplicate"], "duplicate", low=0)
        if "reorder" in spec:
            if not isinstance(spec["reorder"], bool):
                raise ValueError("reorder must be true or false")
            app.reorder_next = spec["reorder"]
        if "batch_size" in spec:
            size = spec["batch_size"]
            app.batch_size = None if size is None else _count(size, "batch_size", low=1, high=MAX_BATCH)
        if "delay_seconds" in spec:
            app.delay_seconds = _delay(spec["delay_seconds"])
            _hold_back(app.delay_seconds)
        app.save()
    return app


def _delay(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"delay_seconds must be a number of seconds, zero or more, not {value!r}")
    return float(value)


def _hold_back(seconds: float) -> None:
    """Pending events become due no earlier than now + `seconds` (fake clock)."""
    if seconds:
        until = clock.now() + timedelta(seconds=seconds)
        WebhookEvent.objects.filter(Q(status=WebhookEvent.PENDING) & Q(due_at__lt=until)).update(due_at=until)


def faults_clear() -> WebhookApp:
    """Every knob back to normal delivery."""
    return faults_set({"duplicate": 0, "reorder": False, "delay_seconds": 0, "batch_size": None})


def faults_describe(app: WebhookApp) -> dict[str, Any]:
    """The knobs as the control endpoint shows them."""
    return {
        "duplicate": app.duplicate_remaining,
        "reorder": app.reorder_next,
        "delay_seconds": app.delay_seconds,
        "batch_size": app.batch_size,
    }


def faults_take(event_count: int) -> tuple[int, bool, int]:
    """For a delivery about to send `event_count` events: (how many to duplicate, reorder?, events per request).

    Taking is atomic, so two concurrent deliveries never both use the same duplicates or the one-shot reorder.
    """
    with transaction.atomic():
        config.app_row()
        app = WebhookApp.objects.select_for_update().get(pk=config.APP_PK)
        duplicates = min(app.duplicate_remaining, event_count)
        reorder = app.reorder_next and event_count > 0
        if duplicates or reorder:
            app.duplicate_remaining -= duplicates
            app.reorder_next = app.reorder_next and not reorder
            app.save(update_fields=["duplicate_remaining", "reorder_next"])
    return duplicates, reorder, min(MAX_BATCH, app.batch_size or MAX_BATCH)
