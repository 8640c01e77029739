"""Scripted faults of the fake Kleer: a FIFO queue per company of answers that replace the real one.

A fault matches on method (or "*") and a regex searched in the path below `/company/{id}` (e.g. `/client/invoice`,
`^/client/invoice/\\d+$`). It fires before authentication, `count` times; taking one is atomic (a row lock), so two
concurrent requests never both take the last use. It can answer with any status, body and content type (HTML on a
200 or a 502, a 401, "Tekniskt fel"), answer late (`delay_seconds`; without a status the real answer follows the
delay), or close the socket without answering (`drop_connection`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from sandbox.kleer import conventions as C
from sandbox.kleer.models import Fault

logger = logging.getLogger(__name__)
FAULT_KEYS = {"method", "path", "count", "status", "body", "content_type", "delay_seconds", "drop_connection"}
MAX_DELAY_SECONDS = 120.0


class FaultSpecError(ValueError):
    """A fault description the control endpoint cannot accept."""


def _body_and_type(spec: Mapping[str, Any], status: int | None) -> tuple[str, str]:
    body = spec.get("body")
    if body is None and status is not None and status >= 400:
        body = {"message": C.TECHNICAL_ERROR}  # Kleer's generic error (§1.9)
    if isinstance(body, dict | list):
        return json.dumps(body, ensure_ascii=False), spec.get("content_type") or C.JSON_CONTENT_TYPE
    if body is not None and not isinstance(body, str):
        raise FaultSpecError("body must be a string, an object or a list")
    return body or "", spec.get("content_type") or "text/html; charset=utf-8"


def _validated(spec: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(spec) - FAULT_KEYS
    if unknown:
        raise FaultSpecError(f"unknown fault keys: {sorted(unknown)}")
    method = str(spec.get("method") or "*").upper()
    path = str(spec.get("path") or "")
    try:
        re.compile(path)
    except re.error as exc:
        raise FaultSpecError(f"path is not a regex: {exc}") from None
    status, count, delay = spec.get("status"), spec.get("count", 1), spec.get("delay_seconds", 0)
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise FaultSpecError("status must be an HTTP status code")
    if not isinstance(count, int) or count < 1:
        raise FaultSpecError("count must be a positive integer")
    if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_SECONDS:
        raise FaultSpecError(f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS}")
    drop = bool(spec.get("drop_connection", False))
    if status is None and not drop and not delay:
        raise FaultSpecError("a fault needs a status, a delay or drop_connection")
    body, content_type = _body_and_type(spec, status)
    return {"method": method, "path_regex": path, "remaining": count, "status": status, "body": body,
            "content_type": content_type, "delay_seconds": float(delay), "drop_connection": drop}  # fmt: skip


def fault_add(*, company_id: int, spec: Mapping[str, Any]) -> Fault:
    """Queue one fault (see module docstring for the keys); raises FaultSpecError on a bad description."""
    if not isinstance(spec, Mapping):
        raise FaultSpecError("a fault is a JSON object")
    return Fault.objects.create(company_id=company_id, **_validated(spec))


def fault_take(*, company_id: int, method: str, path: str) -> Fault | None:
    """The first queued fault matching this request, with one use consumed; None when nothing matches."""
    if not Fault.objects.filter(company_id=company_id, remaining__gt=0).exists():
        return None  # the common case: no lock taken
    with transaction.atomic():
        # Locking the company's queue serialises concurrent takers; after the wait the row is re-read.
        queue = Fault.objects.select_for_update().filter(company_id=company_id, remaining__gt=0).order_by("id")
        for fault in queue:
            if fault.method in ("*", method.upper()) and re.search(fault.path_regex, path):
                Fault.objects.filter(pk=fault.pk).update(remaining=F("remaining") - 1)
                return fault
    return None


def fault_answer(request: HttpRequest, fault: Fault) -> HttpResponse | None:
    """Play a taken fault: wait, then drop the connection, answer, or (no status) return None = answer normally."""
    if fault.delay_seconds:
        time.sleep(fault.delay_seconds)
    if fault.drop_connection:
        return connection_drop(request)
    if fault.status is None:
        return None
    return HttpResponse(fault.body.encode("utf-8"), status=fault.status, content_type=fault.content_type)


def client_socket(environ: Mapping[str, Any]) -> socket.socket | None:
    """The client's socket behind a WSGI request: gunicorn exposes it as `gunicorn.socket`; Django's dev and
    live servers wrap it as wsgi.input = LimitedStream(BufferedReader(SocketIO(socket)))."""
    candidate: Any = environ.get("gunicorn.socket") or environ.get("wsgi.input")
    for _ in range(8):
        if candidate is None or isinstance(candidate, socket.socket):
            return candidate
        reader = getattr(candidate, "_read", None)  # LimitedStream keeps the bound read() of what it wraps
        following = (
            getattr(candidate, "_sock", None)  # socket.SocketIO
            or getattr(candidate, "raw", None)  # io.BufferedReader
            or getattr(reader, "__self__", None)
            or getattr(candidate, "stream", None)
        )
        if following is candidate:
            return None
        candidate = following
    return None


def connection_drop(request: HttpRequest) -> HttpResponse:
    """Close the client connection without an answer. The returned response is never delivered: the server's
    write fails with a broken pipe, which Django's and gunicorn's servers ignore."""
    sock = client_socket(request.META)
    if sock is None:
        logger.warning("drop_connection: no client socket under this server; answering 502 instead")
        return HttpResponse(b"", status=502)
    with contextlib.suppress(OSError):  # already closed by the client
        sock.shutdown(socket.SHUT_RDWR)
    # Never delivered; 204 keeps Django from logging a server error for an answer nobody receives.
    return HttpResponse(b"", status=204)
