"""Reading the webhook queue and the requests made, for the control API and tests."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sandbox.hubspot import clock
from sandbox.hubspot.models import WebhookEvent, WebhookRequest
from sandbox.hubspot.webhooks import events


def _iso(value: Any) -> str | None:
    return clock.iso(value) if value is not None else None


def request_json(row: WebhookRequest) -> dict[str, Any]:
    """One request made: when, where, which events with which attempt numbers, and the answer."""
    return {
        "id": row.pk,
        "hubId": row.hub_id,
        "at": clock.iso(row.at),
        "url": row.url,
        "eventIds": row.event_ids,
        "attemptNumbers": row.attempt_numbers,
        "duplicate": row.duplicate,
        "status": row.status,
        "ok": row.ok,
        "durationMs": row.duration_ms,
        "error": row.error,
    }


def event_json(row: WebhookEvent, sent: list[WebhookRequest]) -> dict[str, Any]:
    """An event with its state and every request that carried it. `event` is the body as last sent (as it
    will first be sent, for an event not sent yet)."""
    shown = WebhookEvent(pk=row.pk, payload=row.payload, attempts=max(row.attempts - 1, 0))
    return {
        "eventId": row.pk,
        "hubId": row.hub_id,
        "status": row.status,
        "attempts": row.attempts,
        "lifecycle": row.lifecycle,
        "createdAt": clock.iso(row.created_at),
        "dueAt": clock.iso(row.due_at) if row.status == WebhookEvent.PENDING else None,
        "finishedAt": _iso(row.finished_at),
        "lastError": row.last_error,
        "event": events.body_event(shown),
        "requests": [
            {
                "id": request.pk,
                "at": clock.iso(request.at),
                "attemptNumber": request.attempt_numbers[request.event_ids.index(row.pk)],
                "duplicate": request.duplicate,
                "status": request.status,
                "ok": request.ok,
                "durationMs": request.duration_ms,
                "error": request.error,
            }
            for request in sent
        ],
    }


def webhook_events(
    *, hub_id: int | None = None, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Events in eventId order (after `after_id`), with their requests; `status` is pending|delivered|failed."""
    if status is not None and status not in WebhookEvent.STATUSES:
        raise ValueError(f"status must be one of {', '.join(WebhookEvent.STATUSES)}")
    rows = WebhookEvent.objects.filter(pk__gt=after_id).order_by("pk")
    if hub_id is not None:
        rows = rows.filter(hub_id=hub_id)
    if status is not None:
        rows = rows.filter(status=status)
    found = list(rows[:limit])
    if not found:
        return []
    carried: dict[int, list[WebhookRequest]] = defaultdict(list)
    wanted = {row.pk for row in found}
    requests = WebhookRequest.objects.filter(hub_id__in={row.hub_id for row in found})
    for request in requests.order_by("pk"):
        for event_id in wanted.intersection(request.event_ids):
            carried[event_id].append(request)
    return [event_json(row, carried[row.pk]) for row in found]


def webhook_requests(*, hub_id: int | None = None, after_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """The requests made, oldest first (after `after_id`)."""
    rows = WebhookRequest.objects.filter(pk__gt=after_id).order_by("pk")
    if hub_id is not None:
        rows = rows.filter(hub_id=hub_id)
    return [request_json(row) for row in rows[:limit]]


def webhooks_clear(*, hub_id: int | None = None) -> dict[str, int]:
    """Forget queued events and logged requests (of one portal, or all)."""
    found_events, found_requests = WebhookEvent.objects.all(), WebhookRequest.objects.all()
    if hub_id is not None:
        found_events, found_requests = found_events.filter(hub_id=hub_id), found_requests.filter(hub_id=hub_id)
    return {"events": found_events.delete()[0], "requests": found_requests.delete()[0]}
