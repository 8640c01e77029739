"""Structured logs: JSON lines in production, plain text under DEBUG, both carrying the sync's ids.

The sync service and the tasks set the ids of the work in hand (`log_context(portal=…, object_type=…,
run=…, task=…)`, contextvars, so they follow the code into every logger it calls, including the HTTP layer);
`ContextFilter` copies them onto each record and the formatters print them. `redact` is a last line of
defence: the code never logs a secret (the HTTP layer logs method, path, status and timing only), and any
text shaped like a credential assignment or a bearer header is masked before it is written.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

CONTEXT_FIELDS = ("portal", "object_type", "run", "task")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("kh_log_context", default={})  # noqa: B039

# `Authorization: Bearer x`, `X-Token: x`, `api_key=x`, `"refresh_token": "x"`, `client_secret=x`, …
_SECRET_PATTERN = re.compile(
    r"(?i)(bearer\s+|(?:x-token|authorization|api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret"
    r"|password|secret|token)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([^\s\"',;&}]+)"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with anything shaped like a credential value masked."""
    return _SECRET_PATTERN.sub(lambda match: match.group(1) + REDACTED, text)


@contextlib.contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Attach ids (portal, object_type, run, task) to every log record written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in values.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_set(**values: Any) -> None:
    """Add ids to the current block (the run id, known only once the run lock is taken)."""
    _context.set({**_context.get(), **{k: v for k, v in values.items() if v not in (None, "")}})


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (attached to the handlers in LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the context ids, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """Human-readable lines for development, with the context ids in brackets when there are any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        ids = " ".join(
            f"{n}={getattr(record, n)}" for n in CONTEXT_FIELDS if getattr(record, n, None) not in (None, "")
        )
        return f"{text} [{ids}]" if ids else text
