"""The one outbound HTTP layer every API client uses.

- One `requests.Session` per process (connection pooling; re-created after a fork, so Celery's prefork
  children never share a socket with their parent).
- A connect and a read timeout on every call, and a User-Agent naming the product and its version.
- Bounded retries with exponential backoff and full jitter that honour `Retry-After`; when the service asks
  for a wait longer than a worker should sleep (HubSpot's 477 can say hours), `RescheduleError` ends the
  run instead. Callers in a web request pass `allow_sleep=False`: they get the error at once.
- Non-idempotent calls (Kleer's PUT-creates) are retried only when the server certainly did not act on
  them (connection refused, 429, 423); a timeout or a 5xx may hide a completed write, so those raise.
- Each call is logged as method, path, status, milliseconds and correlation id; never headers or bodies.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

from integration import metrics
from integration.clients.errors import ApiError, RescheduleError, TransientError

logger = logging.getLogger("integration.http")

VERSION = "0.1.0"
USER_AGENT = f"kleer-hubspot/{VERSION} (+https://github.com/kleer-hubspot/kleer-hubspot)"
CONNECT_TIMEOUT = 5.0
# Statuses that say "the server did not do it, come back later": safe to retry even a non-idempotent call.
NOT_PROCESSED = {423, 429}

_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def session() -> requests.Session:
    """The pooled session of this process."""
    pid = os.getpid()
    with _sessions_lock:
        existing = _sessions.get(pid)
        if existing is None:
            existing = requests.Session()
            adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
            existing.mount("http://", adapter)
            existing.mount("https://", adapter)
            existing.headers["User-Agent"] = USER_AGENT
            _sessions.clear()  # drop a parent's session after a fork
            _sessions[pid] = existing
        return existing


def sessions_close() -> None:
    """Close pooled connections (keep-alive sockets hold a server thread, and its database connection, open)."""
    with _sessions_lock:
        for pooled in _sessions.values():
            pooled.close()
        _sessions.clear()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `max_sleep`: the longest single wait a worker accepts."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_sleep: float = 60.0

    @classmethod
    def configured(cls) -> RetryPolicy:
        """The policy of every client that is not given one: the first backoff from HTTP_RETRY_BASE_DELAY."""
        return cls(base_delay=settings.HTTP_RETRY_BASE_DELAY)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter in [d/2, d] so retrying workers spread out."""
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(delay / 2, delay)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (an integer or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class CallStats:
    """Counts of the calls one client made (a sync run reports them)."""

    calls: int = 0
    throttled: int = 0
    errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (connect failed or timed out)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


Classifier = Callable[[requests.Response], ApiError]


@dataclass
class HttpClient:
    """A base URL plus the retry policy, the rate-limit hooks and the error classifier of one service."""

    service: str
    base_url: str
    classify: Classifier
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_sleep: bool = True
    sleep: Callable[[float], None] = time.sleep
    before_call: Callable[[], None] | None = None
    on_throttled: Callable[[requests.Response], None] | None = None
    stats: CallStats = field(default_factory=CallStats)
    rng: random.Random = field(default_factory=random.Random)

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        log_path: str | None = None,
        accept: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request with bounded retries; return the 2xx response or raise an ApiError.

        Statuses in `accept` are answers the caller expects (a 409 "already exists"): returned like a 2xx and
        not counted as failed calls in the portal's API budget."""
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "OPTIONS", "DELETE"}
        url = path if path.startswith("http") else f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT, settings.HTTP_TIMEOUT_SECONDS))
        for attempt in range(1, self.retry.max_attempts + 1):
            error, response = self._attempt(method, url, log_path or path, idempotent, accept, kwargs)
            if error is None:
                return response  # type: ignore[return-value]
            if error.permanent or attempt == self.retry.max_attempts:
                raise error
            self._wait(error, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, method: str, url: str, log_path: str, idempotent: bool, accept: tuple[int, ...], kwargs: dict[str, Any]
    ) -> tuple[ApiError | None, requests.Response | None]:
        if self.before_call is not None:
            self.before_call()
        started = time.monotonic()
        self.stats.calls += 1
        try:
            response = session().request(method, url, **kwargs)
        except requests.RequestException as exc:
            self.stats.errors += 1
            self._log(method, log_path, None, started, "")
            metrics.api_call_count(service=self.service, status=None)
            return self._network_error(exc, idempotent), None
        cid = response.headers.get("X-HubSpot-Correlation-Id", "") or str(uuid.uuid4())
        self._log(method, log_path, response.status_code, started, cid)
        metrics.api_call_count(service=self.service, status=response.status_code)
        self.stats.by_status[response.status_code] = self.stats.by_status.get(response.status_code, 0) + 1
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return None, response
        self.stats.errors += 1
        if response.status_code == 429:
            self.stats.throttled += 1
            if self.on_throttled is not None:
                self.on_throttled(response)
        error = self.classify(response)
        error.correlation_id = error.correlation_id or cid
        if error.retry_after is None:
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if not error.permanent and not idempotent and response.status_code not in NOT_PROCESSED:
            # The server may have acted on it: do not repeat a non-idempotent write blindly.
            error.retry_after = None
            raise error
        return error, response

    def _network_error(self, exc: requests.RequestException, idempotent: bool) -> ApiError:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        error = TransientError(f"{kind}: {exc.__class__.__name__}", service=self.service)
        if not idempotent and not _never_sent(exc):
            raise error  # the server may have received it; the caller decides (e.g. re-read first)
        return error

    def _wait(self, error: ApiError, attempt: int) -> None:
        wait = error.retry_after if error.retry_after is not None else self.retry.backoff(attempt, self.rng)
        if wait > self.retry.max_sleep:
            # Longer than a worker should sleep (a 477, a DAILY 429): the run ends and the task comes back after
            # `retry_after`; the server's own message says why.
            raise RescheduleError(
                error.message,
                service=self.service,
                status=error.status,
                category=error.category,
                correlation_id=error.correlation_id,
                retry_after=wait,
                body=error.body,
            )
        if not self.allow_sleep:
            raise error
        self.sleep(wait)

    def _log(self, method: str, path: str, status: int | None, started: float, cid: str) -> None:
        ms = round((time.monotonic() - started) * 1000)
        logger.info("%s %s %s -> %s %sms cid=%s", self.service, method, path, status or "network-error", ms, cid)
