"""Which Celery queue each task goes to: interactive work never waits behind a scheduled backfill.

Two queues, served by separate workers (README "Production"):

- `interactive` — what a person (or HubSpot on a person's behalf) waits for: "Sync now", webhook processing,
  workflow actions, and the beat heartbeat (so `/healthz` sees beat even while scheduled workers are busy).
- `scheduled` — the periodic syncs beat fires, and full resyncs (a backfill by definition, however started).

The routing is declared here and nowhere else (`CELERY_TASK_ROUTES` points at `route_task`). A task is
interactive when its name is in `INTERACTIVE_TASKS` or starts with one of `INTERACTIVE_PREFIXES` (the naming
rule for workflow-action tasks: `integration.tasks.workflow_…`), or, for the sync task, when its trigger is a
person's click. An explicit `queue=` (a beat entry's queue field in admin, a test) still wins over the route.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

SYNC_TASK = "integration.tasks.object_sync_run"
SENT_AT_HEADER = "kh_sent_at"
# Tasks a person is waiting for. Extend this set (or follow the prefix rule) when adding such a task.
INTERACTIVE_TASKS: frozenset[str] = frozenset(
    {
        "integration.tasks.inbound_events_process",
        "integration.tasks.beat_heartbeat",
    }
)
INTERACTIVE_PREFIXES: tuple[str, ...] = ("integration.tasks.workflow_",)
# Triggers of object_sync_run that a person clicked and waits for ("Sync now"). A full resync re-sends every
# record (a backfill), so it goes to the scheduled queue even when clicked.
INTERACTIVE_TRIGGERS = frozenset({"manual", "retry"})


def interactive_queue() -> str:
    return settings.CELERY_QUEUE_INTERACTIVE


def scheduled_queue() -> str:
    return settings.CELERY_QUEUE_SCHEDULED


def _sync_trigger(args: tuple | list, kwargs: dict[str, Any]) -> str:
    """object_sync_run(object_sync_id, trigger="schedule", full=False), positional or by keyword."""
    if "trigger" in kwargs:
        return str(kwargs["trigger"])
    return str(args[1]) if len(args) > 1 else "schedule"


def queue_for(name: str, args: tuple | list = (), kwargs: dict[str, Any] | None = None) -> str:
    """The queue task `name` called with `args`/`kwargs` belongs on."""
    kwargs = kwargs or {}
    if name == SYNC_TASK:
        return interactive_queue() if _sync_trigger(args, kwargs) in INTERACTIVE_TRIGGERS else scheduled_queue()
    if name in INTERACTIVE_TASKS or name.startswith(INTERACTIVE_PREFIXES):
        return interactive_queue()
    return scheduled_queue()


def route_task(name: str, args: tuple, kwargs: dict[str, Any], options: dict[str, Any], task=None, **kw) -> dict:
    """Celery router (https://docs.celeryq.dev/en/stable/userguide/routing.html#routers)."""
    return {"queue": queue_for(name, args or (), kwargs or {})}


def sent_at_stamp(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """`before_task_publish` handler (connected in config/celery_app.py): stamp every message with its publish
    time, so `/metrics` can tell the age of the oldest waiting message and the heartbeat when beat sent it."""
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()


def sent_at_of(request: Any) -> float | None:
    """The publish time stamped on the message a task is running from (None: sent by another producer)."""
    value = getattr(request, SENT_AT_HEADER, None) or (getattr(request, "headers", None) or {}).get(SENT_AT_HEADER)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def consumed_queues() -> list[str]:
    """Every queue the product uses, in the order a worker consuming all of them lists them."""
    return [interactive_queue(), scheduled_queue()]
