"""Work a sync hands to a thread pool: HubSpot calls in flight, schemas ensured side by side, a portal's objects
run side by side. One place for what every such thread needs."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")
R = TypeVar("R")


def in_pool(pool: Executor, call: Callable[..., R], *args: Any) -> Future[R]:
    """Submit `call(*args)` to `pool` with the caller's log context (integration.logs keeps the portal, object and
    run ids in contextvars, which a pool thread does not inherit), closing the database connection the thread
    opened (the shared rate limiter, a token refresh, a run), so none is left behind when the pool ends."""
    return pool.submit(contextvars.copy_context().run, _closing_connection, call, *args)


def side_by_side(call: Callable[[T], R], items: Iterable[T], *, workers: int, name: str) -> list[R]:
    """`call` on every item, `workers` at a time (one at a time in this thread when `workers` ≤ 1); the answers in
    the order of `items`. An exception of one call is raised here once every call has ended."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix=name) as pool:
        futures = [in_pool(pool, call, item) for item in items]
    return [future.result() for future in futures]


def _closing_connection(call: Callable[..., R], *args: Any) -> R:
    try:
        return call(*args)
    finally:
        connection.close()
