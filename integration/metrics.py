"""Counters and gauges shared by every process (web, beat, any number of workers on any host).

Events (API calls, rate-limit waits, finished runs and their record counts) are counted where they happen into
one store: a Redis hash when `REDIS_URL` is set (HINCRBYFLOAT, atomic), else the `MetricValue` table (an
UPDATE … value + n). `/metrics` (integration/views/metrics.py) reads them back and adds gauges computed at
scrape time from the database and the broker, where that data already lives.

Runs and records are counted when a run ends rather than aggregated from SyncRun at scrape time: at fleet
scale that table holds tens of millions of rows, and housekeeping prunes it, which would make a counter
derived from it fall.

Recording a metric never breaks the work it measures: a store failure is logged and dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

logger = logging.getLogger("integration.metrics")

REDIS_COUNTERS = "kh:metrics:counters"
REDIS_GAUGES = "kh:metrics:gauges"
_DB_GAUGE_PREFIX = "gauge "

# The outcomes a run's record counts are reported under (SyncRun's counters).
RECORD_OUTCOMES = ("read", "unchanged", "created", "updated", "deleted", "skipped", "failed", "matched")
BEAT_SENT = "beat_heartbeat_sent"
BEAT_RAN = "beat_heartbeat_ran"


def metric_key(name: str, labels: dict[str, str] | None = None) -> str:
    """`name {"label": "value", …}` with sorted labels: one stable key per series."""
    return f"{name} {json.dumps(labels or {}, sort_keys=True, separators=(',', ':'))}"


def parse_key(key: str) -> tuple[str, dict[str, str]]:
    name, _, labels = key.partition(" ")
    return name, json.loads(labels or "{}")


class Store:
    """Where counters and gauges live."""

    def increment(self, key: str, amount: float) -> None:
        raise NotImplementedError

    def set(self, key: str, value: float) -> None:
        raise NotImplementedError

    def counters(self) -> dict[str, float]:
        raise NotImplementedError

    def gauges(self) -> dict[str, float]:
        raise NotImplementedError


class RedisStore(Store):
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def increment(self, key: str, amount: float) -> None:
        self.redis.hincrbyfloat(REDIS_COUNTERS, key, amount)

    def set(self, key: str, value: float) -> None:
        self.redis.hset(REDIS_GAUGES, key, repr(value))

    def counters(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.redis.hgetall(REDIS_COUNTERS).items()}

    def gauges(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.redis.hgetall(REDIS_GAUGES).items()}


class DatabaseStore(Store):
    def increment(self, key: str, amount: float) -> None:
        from integration.models import MetricValue

        if MetricValue.objects.filter(key=key).update(value=F("value") + amount):
            return
        try:
            with transaction.atomic():
                MetricValue.objects.create(key=key, value=amount)
        except IntegrityError:  # another process created it first
            MetricValue.objects.filter(key=key).update(value=F("value") + amount)

    def set(self, key: str, value: float) -> None:
        from integration.models import MetricValue

        MetricValue.objects.update_or_create(key=_DB_GAUGE_PREFIX + key, defaults={"value": value})

    def _rows(self) -> Iterable[tuple[str, float]]:
        from integration.models import MetricValue

        return MetricValue.objects.values_list("key", "value")

    def counters(self) -> dict[str, float]:
        return {k: v for k, v in self._rows() if not k.startswith(_DB_GAUGE_PREFIX)}

    def gauges(self) -> dict[str, float]:
        return {k[len(_DB_GAUGE_PREFIX) :]: v for k, v in self._rows() if k.startswith(_DB_GAUGE_PREFIX)}


def store() -> Store:
    """Redis when REDIS_URL is set, else the database (the same rule as the rate limiter)."""
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else DatabaseStore()


@lru_cache(maxsize=4)
def _redis_store(url: str) -> RedisStore:
    # One client (and connection pool) per process, as the rate limiter keeps (clients/ratelimit.py): every
    # outbound API call counts itself here, and a client per call opened a new Redis connection per call.
    return RedisStore(url)


def _safely(action: str, *operations: tuple[str, float]) -> None:
    try:
        target = store()
        for key, amount in operations:
            target.increment(key, amount) if action == "increment" else target.set(key, amount)
    except Exception:  # a metric must never fail the work it measures
        logger.warning("could not record metrics %s", [key for key, _ in operations], exc_info=True)


def api_call_count(*, service: str, status: int | None) -> None:
    """One outbound call to `service` answered with `status` (None: no answer, a network error)."""
    labels = {"service": service.lower(), "status": str(status) if status else "network_error"}
    _safely("increment", (metric_key("kleer_api_calls_total", labels), 1))


def rate_limit_wait_count(*, limit: str, seconds: float) -> None:
    """A worker slept `seconds` for the shared per-portal window `limit` (hubspot, hubspot-search)."""
    labels = {"limit": limit}
    _safely(
        "increment",
        (metric_key("kleer_rate_limit_waits_total", labels), 1),
        (metric_key("kleer_rate_limit_wait_seconds_total", labels), seconds),
    )


def run_count(*, object_type: str, status: str, records: dict[str, int] | None = None, runs: int = 1) -> None:
    """`runs` runs of `object_type` ended with `status`, with the record counts of that run."""
    operations = [(metric_key("kleer_sync_runs_total", {"object_type": object_type, "status": status}), runs)]
    for outcome, amount in (records or {}).items():
        if amount:
            labels = {"object_type": object_type, "outcome": outcome}
            operations.append((metric_key("kleer_sync_records_total", labels), amount))
    _safely("increment", *operations)


def beat_heartbeat_record(*, sent_at: float | None) -> None:
    """Beat dispatched the heartbeat at `sent_at` (its publish time) and a worker ran it now."""
    now = time.time()
    _safely("set", (BEAT_SENT, sent_at or now), (BEAT_RAN, now))


def beat_heartbeat_last() -> tuple[float | None, float | None]:
    """(when beat last dispatched the heartbeat, when a worker ran it), epoch seconds, None if never."""
    gauges = store().gauges()
    return gauges.get(BEAT_SENT), gauges.get(BEAT_RAN)
