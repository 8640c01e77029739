"""Scripted faults: queues of failures that the gateway serves before authentication.

A fault matches on method and a regex searched in HubSpot's path (the `/sandbox/hubspot` prefix removed, e.g.
`^/crm/v3/objects/companies/batch/upsert$`). Each portal has its own queue; global faults (no portal) match every
call, including calls without a valid token such as the token endpoint. The portal's queue is tried first, then
the global one, oldest first. Taking a fault is one conditional UPDATE (`remaining > 0`), so two concurrent calls
never both take the last use of a fault. A scripted answer comes before authentication and the rate limiter, like
an edge error, so it takes no rate-limit slot; a passthrough fault runs the whole pipeline and then alters it.

Default bodies follow what HubSpot and its edge send (hubspot-api.md §6.3–6.4,
https://developers.hubspot.com/docs/api-reference/error-handling): a 429 gets the rate-limit body, 423 and 477
HubSpot's JSON error shape (477 with Retry-After in seconds), 5xx and Cloudflare's 52x an HTML page, because edge
errors are not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db.models import F, Q
from django.http import HttpResponse

from sandbox.hubspot.models import Fault, Portal

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=UTF-8"
MAX_DELAY_SECONDS = 300.0
_METHODS = frozenset({"", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_SPEC_FIELDS = frozenset(
    {
        "method",
        "path",
        "count",
        "status",
        "body",
        "headers",
        "content_type",
        "delay_seconds",
        "drop_connection",
        "passthrough",
        "retry_after",
    }
)
_HTML_TITLES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
    520: "520: Web server is returning an unknown error",
    521: "521: Web server is down",
    522: "522: Connection timed out",
    523: "523: Origin is unreachable",
    524: "524: A timeout occurred",
}
_JSON_ERRORS = {
    423: ("LOCKED", "The resource is locked by another request. Locks last 2 seconds; retry after that."),
    477: ("MIGRATION_IN_PROGRESS", "This account is being migrated to another data center. Retry after Retry-After."),
}
DEFAULT_477_RETRY_AFTER = "30"


class FaultSpecError(ValueError):
    """A fault description the control endpoint cannot accept."""


# -- queueing ------------------------------------------------------------------------------------------


def fault_add(*, portal: Portal | None, spec: dict[str, Any]) -> Fault:
    """Queue a fault for `portal` (None: global) from a control-endpoint description."""
    unknown = sorted(set(spec) - _SPEC_FIELDS)
    if unknown:
        raise FaultSpecError(f"unknown fault fields: {', '.join(unknown)}")
    fault = Fault(portal=portal)
    _read_match(fault, spec)
    _read_answer(fault, spec)
    _read_behaviour(fault, spec)
    fault.save()
    return fault


def _read_match(fault: Fault, spec: dict[str, Any]) -> None:
    method = str(spec.get("method") or "").upper()
    if method not in _METHODS:
        raise FaultSpecError(f"method must be an HTTP method, not {method!r}")
    path = str(spec.get("path") or "")
    try:
        re.compile(path)
    except re.error as exc:
        raise FaultSpecError(f"path is not a valid regular expression: {exc}") from None
    count = spec.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FaultSpecError("count must be a positive integer")
    fault.method, fault.path_regex, fault.remaining = method, path, count


def _read_answer(fault: Fault, spec: dict[str, Any]) -> None:
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise FaultSpecError("status must be an HTTP status code")
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str | int) for v in headers.values()):
        raise FaultSpecError("headers must be an object of header names to values")
    headers = {str(name): str(value) for name, value in headers.items()}
    if spec.get("retry_after") is not None:
        headers["Retry-After"] = str(spec["retry_after"])
    fault.status, fault.headers = status, headers
    fault.custom_body, fault.body = body is not None, body or ""
    fault.content_type = str(spec.get("content_type") or "")


def _read_behaviour(fault: Fault, spec: dict[str, Any]) -> None:
    delay = spec.get("delay_seconds", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY_SECONDS:
        raise FaultSpecError(f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS:g}")
    fault.delay_seconds = float(delay)
    fault.drop_connection = bool(spec.get("drop_connection", False))
    fault.passthrough = bool(spec.get("passthrough", False))
    if fault.status is None and not fault.drop_connection and not fault.passthrough:
        if not fault.delay_seconds:
            raise FaultSpecError("a fault needs a status, drop_connection, passthrough or delay_seconds")
        fault.passthrough = True  # only a delay: the real answer, late
    if fault.passthrough and fault.custom_body:
        raise FaultSpecError("a passthrough fault answers with the real body; body cannot be set")


def faults_list(*, portal: Portal | None) -> list[dict[str, Any]]:
    """The portal's queue (None: the global queue), oldest first, used-up faults included."""
    return [fault_describe(fault) for fault in Fault.objects.filter(portal=portal).order_by("id")]


def faults_clear(*, portal: Portal | None) -> int:
    """Delete the portal's queue (None: the global queue); returns how many faults were removed."""
    deleted, _by_model = Fault.objects.filter(portal=portal).delete()
    return deleted


def fault_describe(fault: Fault) -> dict[str, Any]:
    """A fault as the control endpoints show it."""
    return {
        "id": fault.pk,
        "hub_id": fault.portal.hub_id if fault.portal_id else None,
        "method": fault.method,
        "path": fault.path_regex,
        "remaining": fault.remaining,
        "status": fault.status,
        "body": fault.body if fault.custom_body else None,
        "headers": fault.headers,
        "content_type": fault.content_type,
        "delay_seconds": fault.delay_seconds,
        "drop_connection": fault.drop_connection,
        "passthrough": fault.passthrough,
    }


# -- serving -------------------------------------------------------------------------------------------


def fault_take(*, method: str, path: str, portal: Portal | None) -> Fault | None:
    """Consume one use of the first fault matching this call (the portal's queue before the global one), or None."""
    owners = Q(portal__isnull=True) | Q(portal=portal) if portal is not None else Q(portal__isnull=True)
    candidates = sorted(
        Fault.objects.filter(owners, remaining__gt=0), key=lambda fault: (fault.portal_id is None, fault.pk)
    )
    for fault in candidates:
        if not _matches(fault, method, path):
            continue
        # Atomic even without a transaction: only one caller turns remaining 1 into 0.
        if Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1) == 1:
            return fault
    return None


def _matches(fault: Fault, method: str, path: str) -> bool:
    if fault.method and fault.method != method.upper():
        return False
    return not fault.path_regex or re.search(fault.path_regex, path) is not None


def fault_label(fault: Fault) -> str:
    """How the request log names the fault that answered a call."""
    parts = [f"fault#{fault.pk}"]
    if fault.status:
        parts.append(str(fault.status))
    if fault.passthrough:
        parts.append("passthrough")
    if fault.drop_connection:
        parts.append("drop")
    if fault.delay_seconds:
        parts.append(f"delay{fault.delay_seconds:g}s")
    return " ".join(parts)


def fault_response(fault: Fault, *, correlation_id: str, hub_id: int | None, search: bool) -> HttpResponse:
    """The scripted answer (not used for passthrough faults)."""
    from sandbox.hubspot.ratelimit import rate_limit_policy

    status = fault.status or 500
    body, content_type = fault.body, fault.content_type
    if not fault.custom_body:
        if status == 429:
            policy = rate_limit_policy(search=search, hub_id=hub_id or 0)
            body = json.dumps({"status": "error", **policy, "correlationId": correlation_id})
        elif status in _JSON_ERRORS or 400 <= status < 500:
            category, message = _JSON_ERRORS.get(status, ("SCRIPTED_FAULT", f"Scripted fault: HTTP {status}"))
            body = json.dumps(
                {"status": "error", "message": message, "correlationId": correlation_id, "category": category}
            )
        elif status >= 500:
            body, content_type = _html_page(status), content_type or HTML_CONTENT_TYPE
        else:
            body = ""
    response = HttpResponse(body, status=status, content_type=content_type or JSON_CONTENT_TYPE)
    if status == 477 and "Retry-After" not in fault.headers:
        response["Retry-After"] = DEFAULT_477_RETRY_AFTER
    for name, value in fault.headers.items():
        response[name] = value
    return response


def _html_page(status: int) -> str:
    title = _HTML_TITLES.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    )
