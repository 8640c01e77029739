"""Liveness/readiness probe for load balancers and `make run`."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integration import metrics


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    from config.celery_app import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises many transport-specific errors
        return {"ok": False, "error": exc.__class__.__name__}
    transport = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return {"ok": True, "transport": transport, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_beat() -> dict:
    """Whether beat dispatched its heartbeat within BEAT_HEARTBEAT_MAX_AGE seconds (recorded by a worker on the
    interactive queue, so a stale one means beat or those workers are down)."""
    try:
        sent, _ran = metrics.beat_heartbeat_last()
    except Exception as exc:  # the store (Redis or the database) is down: say so, never fail the probe
        return {"ok": False, "error": exc.__class__.__name__}
    if sent is None:
        return {"ok": False, "error": "no heartbeat recorded yet"}
    age = max(0.0, time.time() - sent)
    return {"ok": age <= settings.BEAT_HEARTBEAT_MAX_AGE, "age_seconds": round(age, 1)}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise. Never reveals URLs or credentials.

    `checks.beat` says whether beat dispatched recently; it is reported, not part of the status code, because
    a load balancer must not take the web servers out of rotation while beat (another process) is down."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ok = all(check["ok"] for check in checks.values())
    checks["beat"] = _check_beat()
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)
