"""Writing the fake HubSpot's request log: one row per API or OAuth call, with no credential in it.

Paths are stored as HubSpot sees them (the `/sandbox/hubspot` mount prefix removed). Tokens that HubSpot's v1
metadata endpoints put in the path become `{token}`; secrets in query strings become `REDACTED`; bodies are kept
only for Bearer-authenticated JSON calls (OAuth bodies carry client secrets and tokens). Each row also carries an
`endpoint` key ("POST /crm/v3/objects/companies/batch/upsert", record ids as `{id}`) for per-endpoint counters.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from django.http import HttpRequest
from django.http.request import RawPostDataException

from sandbox.hubspot import clock
from sandbox.hubspot.models import RequestLog

MOUNT_PREFIX = "/sandbox/hubspot"
BODY_LIMIT = 4000
_SECRET_PARAMS = frozenset({"hapikey", "access_token", "refresh_token", "client_secret", "code", "token"})
_TOKEN_PARENTS = frozenset({"access-tokens", "refresh-tokens"})
_RECORD_ID = re.compile(r"^\d+$")


def api_path(request: HttpRequest) -> str:
    """The request path as HubSpot would see it, e.g. `/crm/v3/objects/companies`."""
    path = request.path
    index = path.find(MOUNT_PREFIX + "/")
    return path[index + len(MOUNT_PREFIX) :] if index >= 0 else path


def safe_path(path: str) -> str:
    """`path` with tokens in it (`/oauth/v1/access-tokens/<token>`) replaced by `{token}`."""
    segments = path.split("/")
    for position in range(1, len(segments)):
        if segments[position - 1] in _TOKEN_PARENTS and segments[position]:
            segments[position] = "{token}"
    return "/".join(segments)


def endpoint_key(method: str, path: str) -> str:
    """`METHOD path` with numeric record ids as `{id}`: the unit of the per-endpoint counters."""
    segments = [("{id}" if _RECORD_ID.match(part) else part) for part in safe_path(path).split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


def safe_query(query: str) -> str:
    """The query string with secret-bearing parameters redacted (order and other values kept)."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(key, "REDACTED" if key.lower() in _SECRET_PARAMS else value) for key, value in pairs])


def loggable_body(request: HttpRequest) -> str:
    """The JSON request body, truncated; "" for other content types or when the stream was consumed."""
    if not request.content_type.startswith("application/json"):
        return ""
    try:
        raw = request.body
    except RawPostDataException:
        return ""
    return raw[:BODY_LIMIT].decode("utf-8", errors="replace")


def record(
    *,
    request: HttpRequest,
    path: str,
    status: int,
    duration_ms: int,
    hub_id: int | None,
    correlation_id: str,
    rate_limited: bool = False,
    fault: str = "",
    keep_body: bool = False,
) -> RequestLog:
    """Write one log row."""
    return RequestLog.objects.create(
        at=clock.now(),
        hub_id=hub_id,
        method=request.method or "GET",
        path=safe_path(path)[:1000],
        endpoint=endpoint_key(request.method or "GET", path)[:1000],
        query=safe_query(request.META.get("QUERY_STRING", "")),
        status=status,
        duration_ms=max(0, duration_ms),
        correlation_id=correlation_id,
        rate_limited=rate_limited,
        fault=fault[:60],
        request_body=loggable_body(request) if keep_body else "",
        user_agent=request.headers.get("User-Agent", "")[:300],
    )


def reset(hub_id: int | None) -> int:
    """Delete the log of `hub_id` (None: the unattributed calls); returns how many rows went."""
    deleted, _by_model = RequestLog.objects.filter(hub_id=hub_id).delete()
    return deleted
