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

import json
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class QueueStats:
    """Messages waiting in a queue, and how long the oldest has waited (None: empty, or not knowable)."""

    depth: int
    oldest_age: float | None


# kombu's Redis transport keeps a queue as one list per priority step: "name", then "name\x06\x163", … (its default
# priority_steps [0, 3, 6, 9]; https://docs.celeryq.dev/en/stable/userguide/routing.html#redis-message-priorities).
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _redis_queue_stats(url: str, names: list[str]) -> dict[str, QueueStats]:
    """LLEN of each priority list; the oldest message is at the tail (kombu LPUSHes and BRPOPs)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    now = time.time()
    stats = {}
    for name in names:
        depth, oldest = 0, None
        for suffix in _REDIS_PRIORITY_SUFFIXES:
            key = name + suffix
            length = client.llen(key)
            if not length:
                continue
            depth += length
            sent_at = _sent_at_of_raw(client.lindex(key, -1))
            if sent_at is not None:
                oldest = sent_at if oldest is None else min(oldest, sent_at)
        stats[name] = QueueStats(depth=depth, oldest_age=max(0.0, now - oldest) if oldest is not None else None)
    return stats


def _sent_at_of_raw(raw: bytes | None) -> float | None:
    try:
        return float(json.loads(raw)["headers"][SENT_AT_HEADER]) if raw else None
    except (ValueError, KeyError, TypeError):
        return None


def _kombu_queue_stats(names: list[str]) -> dict[str, QueueStats]:
    """Any other broker (RabbitMQ, the filesystem transport): the depth from a passive queue declaration. AMQP
    cannot peek at a queue's head without taking the message, so the age is not reported there."""
    from config.celery_app import app

    stats = {}
    with app.connection_for_read(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        for name in names:
            try:
                declared = conn.default_channel.queue_declare(queue=name, passive=True)
                stats[name] = QueueStats(depth=int(declared.message_count), oldest_age=None)
            except Exception:  # the queue does not exist yet: nothing was ever sent to it
                conn.close()
                conn.ensure_connection(max_retries=1, timeout=2)
                stats[name] = QueueStats(depth=0, oldest_age=None)
    return stats


def queue_stats(names: list[str] | None = None) -> dict[str, QueueStats]:
    """Depth and age of the oldest waiting message of each queue, read from the broker (CELERY_BROKER_URL).

    Counts messages waiting to be taken: a task a worker holds (running, or waiting for its countdown) is not
    in the queue any more."""
    names = names or consumed_queues()
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _redis_queue_stats(url, names)
    return _kombu_queue_stats(names)
