"""The background deliverer for `make run`: a daemon thread in the web process delivering due events every second.

It starts lazily, the first time an event is queued (or the configuration or event list is read), in the
process that queued it. Setting SANDBOX_WEBHOOKS_AUTODELIVER switches it on or off; unset, it follows DEBUG:
on for `make run`, off under tests, because Django's test environment runs with DEBUG=False. Tests stay
deterministic by driving delivery themselves (`POST /_fake/webhooks/deliver` or `webhooks_deliver()`); a test
that wants the thread sets the setting to True and calls `stop()` when done. The thread also ends by itself
within a second once the setting is off again.

Several processes (gunicorn workers) may each run one: `delivery` claims events so that none is sent twice.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopping = threading.Event()


def enabled() -> bool:
    """SANDBOX_WEBHOOKS_AUTODELIVER if set, else DEBUG (on for `make run`, off under tests and in production)."""
    value = getattr(settings, "SANDBOX_WEBHOOKS_AUTODELIVER", None)
    return bool(settings.DEBUG if value is None else value)


def running() -> bool:
    """Whether this process's deliverer thread is alive."""
    return _thread is not None and _thread.is_alive()


def ensure_started() -> bool:
    """Start the deliverer in this process if it is enabled and not running; True when it runs."""
    global _thread
    if not enabled():
        return False
    with _lock:
        if running():
            return True
        _stopping.clear()
        _thread = threading.Thread(target=_loop, name="sandbox-webhook-deliverer", daemon=True)
        _thread.start()
    return True


def stop(timeout: float = 10.0) -> None:
    """Stop the deliverer and wait for it (tests that switched it on call this)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
        _stopping.set()
    if thread is not None:
        thread.join(timeout)


def _loop() -> None:
    from sandbox.hubspot.webhooks.delivery import webhooks_deliver

    try:
        # Switching the setting off (a test's `settings` fixture restoring it) ends the thread at its next tick.
        while not _stopping.wait(INTERVAL_SECONDS) and enabled():
            close_old_connections()
            try:
                report = webhooks_deliver()
            except Exception:  # keep delivering: a bad round (database restarting, …) must not end the thread
                logger.exception("sandbox webhook delivery failed")
                continue
            if report.requests:
                logger.info("sandbox webhooks: %s", report.as_json())
    finally:
        connections.close_all()  # this thread's connections only (they are per thread)
