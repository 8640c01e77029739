"""The per-portal window holds across processes (Redis) and across threads (database fallback)."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from django.conf import settings

from integration.clients import ratelimit
from integration.clients.errors import TransientError
from tests.conftest import redis_forget_rate_limits

WINDOW = ratelimit.Window(limit=10, seconds=1)
# Stamps are taken after acquire() returns, so scheduling on a loaded machine can shift one by some milliseconds.
JITTER = 0.1


def _hammer_redis(url: str, key: str, calls: int, out) -> None:  # runs in a child process
    limiter = ratelimit.PortalRateLimiter(key=key, window=WINDOW, backend=ratelimit.RedisBackend(url))
    for _ in range(calls):
        limiter.acquire()
        out.put(time.time())


def max_in_any_window(stamps: list[float], seconds: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def in_threads(work, count: int) -> None:
    """Run `work` in `count` threads at once, each closing its own database connection, and wait for all."""

    def each() -> None:
        from django.db import connection

        try:
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=each) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def redis_url():
    if not settings.REDIS_URL:
        pytest.skip("no Redis (TEST_REDIS_URL) configured")
    redis_forget_rate_limits(settings.REDIS_URL)
    return settings.REDIS_URL


def test_four_processes_never_exceed_the_window_in_redis(redis_url):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer_redis, args=(redis_url, "hubspot:4711", 8, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    stamps = [out.get(timeout=30) for _ in range(32)]
    for proc in procs:
        proc.join(timeout=30)
    assert len(stamps) == 32
    assert max_in_any_window(stamps, WINDOW.seconds - JITTER) <= WINDOW.limit
    # 32 calls at 10 per second cannot finish in under 3 seconds.
    assert max(stamps) - min(stamps) >= 2.0


def test_a_429_halves_the_window_for_a_minute(redis_url):
    limiter = ratelimit.PortalRateLimiter(key="hubspot:99", window=WINDOW, backend=ratelimit.RedisBackend(redis_url))
    assert limiter.effective_window() == WINDOW
    limiter.tighten()
    assert limiter.effective_window() == ratelimit.Window(limit=5, seconds=1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrent_db
def test_database_backend_holds_the_window_across_threads():
    backend = ratelimit.DatabaseBackend()
    stamps: list[float] = []
    lock = threading.Lock()

    def hammer() -> None:
        limiter = ratelimit.PortalRateLimiter(key="hubspot:7", window=WINDOW, backend=backend)
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.time())

    in_threads(hammer, 4)
    assert len(stamps) == 20
    assert max_in_any_window(stamps, WINDOW.seconds - JITTER) <= WINDOW.limit


@pytest.mark.django_db
def test_without_sleep_a_full_window_raises_a_transient_error_with_the_wait():
    limiter = ratelimit.PortalRateLimiter(
        key="hubspot:8", window=ratelimit.Window(2, 10), backend=ratelimit.DatabaseBackend(), allow_sleep=False
    )
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(TransientError) as caught:
        limiter.acquire()
    assert caught.value.status == 429
    assert 9.0 < caught.value.retry_after <= 10.0


class CountingDatabaseBackend(ratelimit.DatabaseBackend):
    """The real database window, counting how often it is asked for a slot."""

    def __init__(self) -> None:
        self.asked = 0
        self.lock = threading.Lock()

    def try_hit(self, key: str, window: ratelimit.Window) -> float:
        with self.lock:
            self.asked += 1
        return super().try_hit(key, window)


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrent_db
def test_threads_waiting_for_a_full_window_take_turns_instead_of_all_asking_at_every_freed_slot():
    """Six threads, one slot a second: five wait. Taking turns, the first waiter asks once more when its slot
    frees, each later one twice (when its turn comes, and when its slot frees): 6 + 1 + 4 x 2 = 15 asks. Without
    turns every waiter woke at every freed slot: 6 + 5 + 4 + 3 + 2 + 1 = 21."""
    backend = CountingDatabaseBackend()
    window = ratelimit.Window(limit=1, seconds=1)
    stamps: list[float] = []

    def one_call() -> None:
        ratelimit.PortalRateLimiter(key="hubspot:6", window=window, backend=backend).acquire()
        stamps.append(time.time())

    in_threads(one_call, 6)

    assert len(stamps) == 6
    assert max_in_any_window(stamps, window.seconds - JITTER) == 1
    assert 15 <= backend.asked <= 16  # 16: a waiter woken a hair before its slot freed asks once more
    assert ratelimit._TURNS._locks == {}  # nothing kept for a window nobody waits on


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrent_db
def test_a_thread_whose_turn_does_not_come_within_its_max_wait_gets_a_transient_429():
    """The window (one a second) is full and another thread holds the turn, sleeping about a second for its slot:
    a caller allowed to wait only 0.3 s is told to retry instead of queueing behind it."""
    backend = ratelimit.DatabaseBackend()
    window = ratelimit.Window(limit=1, seconds=1)
    ratelimit.PortalRateLimiter(key="hubspot:5", window=window, backend=backend).acquire()
    waiting = ratelimit.PortalRateLimiter(key="hubspot:5", window=window, backend=backend)
    holder = threading.Thread(target=in_threads, args=(waiting.acquire, 1))
    holder.start()
    time.sleep(0.1)  # the holder has asked, found the window full and taken the turn
    impatient = ratelimit.PortalRateLimiter(key="hubspot:5", window=window, backend=backend, max_wait=0.3)

    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        impatient.acquire()

    assert 0.3 <= time.monotonic() - started < 0.8
    assert (caught.value.status, caught.value.service) == (429, "ratelimit")
    assert 0 < caught.value.retry_after <= 1.0
    holder.join()
    assert ratelimit._TURNS._locks == {}
