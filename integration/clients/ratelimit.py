"""Per-portal rate limiting shared by every worker process and machine.

HubSpot allows an OAuth app 110 requests per rolling 10 seconds per portal and 5 searches per second
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines). We stay below that with a
moving window of our own (default 100 / 10 s and 4 / s for search), kept in Redis through the `limits`
library (an atomic Lua moving-window log, the algorithm Flask-Limiter uses) or, without Redis, in a
database row locked per portal. A 429 that still happens (another app, clock skew) tightens the window to
half for a minute.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from integration import metrics
from integration.clients.errors import TransientError

TIGHTEN_SECONDS = 60


@dataclass(frozen=True)
class Window:
    """`limit` calls per `seconds`."""

    limit: int
    seconds: int


def hubspot_window(*, search: bool = False) -> Window:
    if search:
        return Window(settings.HUBSPOT_SEARCH_RATE_LIMIT, 1)
    return Window(settings.HUBSPOT_RATE_LIMIT, 10)


@lru_cache(maxsize=4)
def _redis_limiter(url: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(url))


class Backend:
    """Where windows live. `try_hit` records a call if the window has room, else returns seconds to wait."""

    def try_hit(self, key: str, window: Window) -> float:
        raise NotImplementedError

    def tighten(self, key: str) -> None:
        raise NotImplementedError

    def tightened(self, key: str) -> bool:
        raise NotImplementedError

    def used(self, key: str, window: Window) -> int:
        raise NotImplementedError


class RedisBackend(Backend):
    """Moving-window log in Redis (atomic across processes and machines)."""

    def __init__(self, url: str) -> None:
        self.limiter = _redis_limiter(url)
        self.redis = self.limiter.storage.storage  # the redis-py client under `limits`

    def try_hit(self, key: str, window: Window) -> float:
        item = RateLimitItemPerSecond(window.limit, window.seconds)
        if self.limiter.hit(item, "kh", key):
            return 0.0
        stats = self.limiter.get_window_stats(item, "kh", key)
        return max(0.01, stats.reset_time - time.time())

    def tighten(self, key: str) -> None:
        self.redis.set(f"kh:tight:{key}", "1", ex=TIGHTEN_SECONDS)

    def tightened(self, key: str) -> bool:
        return bool(self.redis.exists(f"kh:tight:{key}"))

    def used(self, key: str, window: Window) -> int:
        item = RateLimitItemPerSecond(window.limit, window.seconds)
        return window.limit - self.limiter.get_window_stats(item, "kh", key).remaining


class DatabaseBackend(Backend):
    """The same moving window in a database row per key, serialised with SELECT … FOR UPDATE."""

    def try_hit(self, key: str, window: Window) -> float:
        from integration.models import RateLimitWindow

        with transaction.atomic():
            RateLimitWindow.objects.get_or_create(key=key)
            row = RateLimitWindow.objects.select_for_update().get(key=key)
            now = time.time()  # read under the lock: a stale clock would admit a hit the window has no room for
            hits = [t for t in row.hits if t > now - window.seconds]
            if len(hits) < window.limit:
                row.hits = [*hits, now]
                row.save(update_fields=["hits"])
                return 0.0
        return max(0.01, hits[len(hits) - window.limit] + window.seconds - now)

    def tighten(self, key: str) -> None:
        from integration.models import RateLimitWindow

        RateLimitWindow.objects.update_or_create(key=f"tight:{key}", defaults={"hits": [time.time() + TIGHTEN_SECONDS]})

    def tightened(self, key: str) -> bool:
        from integration.models import RateLimitWindow

        row = RateLimitWindow.objects.filter(key=f"tight:{key}").first()
        return bool(row and row.hits and row.hits[0] > time.time())

    def used(self, key: str, window: Window) -> int:
        from integration.models import RateLimitWindow

        row = RateLimitWindow.objects.filter(key=key).first()
        now = time.time()
        return len([t for t in (row.hits if row else []) if t > now - window.seconds])


class _Turns:
    """Threads of this process waiting for the same window take turns: one asks the backend and sleeps until the
    slot it was told of frees up, the others wait here. Without turns every waiting thread woke at the same
    expiry and asked at once: one got the slot, the others a round trip (with the database backend, a lock on
    the window's row) for nothing, 16 requests per freed slot with 16 calls in flight."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}  # key -> (its lock, [threads using it])

    @contextlib.contextmanager
    def turn(self, key: str, *, timeout: float) -> Iterator[str | None]:
        """Hold `key`'s turn: yields "free" (nobody had it), "waited" (it came within `timeout` s) or None."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        turn = "free" if lock.acquire(blocking=False) else "waited" if lock.acquire(timeout=timeout) else None
        try:
            yield turn
        finally:
            if turn is not None:
                lock.release()
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]  # a process that served thousands of portals keeps no lock for each


_TURNS = _Turns()


def backend() -> Backend:
    """Redis when REDIS_URL is set, else the database."""
    return RedisBackend(settings.REDIS_URL) if settings.REDIS_URL else DatabaseBackend()


@dataclass
class PortalRateLimiter:
    """Blocks (or raises, where sleeping is not allowed) until the portal's window has room."""

    key: str
    window: Window
    backend: Backend
    sleep: Callable[[float], None] = time.sleep
    allow_sleep: bool = True
    max_wait: float = 30.0

    def effective_window(self) -> Window:
        if self.backend.tightened(self.key):
            return Window(max(1, self.window.limit // 2), self.window.seconds)
        return self.window

    def acquire(self) -> None:
        """Take one slot; wait for the window to free up (bounded by `max_wait` in total). Threads of this process
        waiting on the same window take turns (`_TURNS`), so each freed slot is asked for once, not by all."""
        wait = self.backend.try_hit(self.key, self.effective_window())
        if wait == 0.0:
            return
        if not self.allow_sleep:
            raise self._used_up(wait)
        with _TURNS.turn(self.key, timeout=self.max_wait) as turn:
            if turn is None:
                raise self._used_up(wait)
            # A turn that had to be waited for comes when another thread took a slot: ask anew.
            self._wait_for_room(wait if turn == "free" else None)

    def _wait_for_room(self, wait: float | None) -> None:
        """Sleep as long as the window says (asking first when `wait` is not known) until a slot is ours."""
        waited = 0.0
        if wait is None:
            wait = self.backend.try_hit(self.key, self.effective_window())
        while wait > 0.0:
            if waited + wait > self.max_wait:
                raise self._used_up(wait)
            self.sleep(wait)
            waited += wait
            metrics.rate_limit_wait_count(limit=self.key.partition(":")[0], seconds=wait)
            wait = self.backend.try_hit(self.key, self.effective_window())

    def _used_up(self, wait: float) -> TransientError:
        return TransientError(
            f"rate limit for {self.key} is used up; retry in {wait:.1f} s",
            service="ratelimit",
            status=429,
            retry_after=wait,
        )

    def tighten(self) -> None:
        """Halve the window for a minute after an unexpected 429."""
        self.backend.tighten(self.key)
