"""What `@hubspot_api()` and `@hubspot_public()` do to every call, step by step (see `gateway.py`).

Order: correlation id → scripted fault → Bearer authentication → per-portal rate limit → view → headers → request
log → (dropped connection). A scripted fault answers before authentication, as edge errors do at HubSpot, unless
it is a passthrough fault, which lets the real call run and then alters its answer.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot import clock, faults, ratelimit, requestlog, sockets, state
from sandbox.hubspot.gateway import HubSpotContext, HubSpotError
from sandbox.hubspot.models import AccessToken, Fault, Portal
from sandbox.hubspot.webhooks import events as webhook_events

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
CORRELATION_HEADER = "X-HubSpot-Correlation-Id"
# HubSpot's 401 for a missing, unknown or revoked token (hubspot-api.md §1.5, §10.3).
INVALID_AUTHENTICATION_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass
class Call:
    """One call going through the front door, and what the log needs to know about it."""

    request: HttpRequest
    search: bool
    keep_body: bool
    path: str = ""
    portal: Portal | None = None  # whose fault queue applies (only with a valid token)
    hub_id: int | None = None  # whom the log attributes the call to
    fault: Fault | None = None
    faults_queued: bool = True  # False when the token's lookup found no fault that could match the call
    decision: ratelimit.Decision | None = None
    rate_limited: bool = False
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.path = requestlog.api_path(self.request)


def serve_api(
    request: HttpRequest, view: Callable[..., HttpResponse], args: tuple, kwargs: dict, *, search: bool
) -> HttpResponse:
    """The full pipeline for a Bearer-authenticated API view."""
    token = token_of(request)
    call = Call(request=request, search=search, keep_body=True, faults_queued=token is None or token.faults_queued)
    # One read of the clock's setting, brought along by the token's lookup, serves the whole call, the token's
    # expiry included (a test moves the clock between calls, never during one).
    setting = None if token is None else (token.clock_offset_seconds, token.clock_frozen_at)
    with clock.pinned(setting):
        if token is not None:
            call.hub_id = token.portal.hub_id
            call.portal = token.portal if state.access_token_usable(token) else None
            _round_trip(token.portal)
        return _serve(call, lambda: _api_answer(call, token, view, args, kwargs))


def _round_trip(portal: Portal) -> None:
    """The portal's configured latency, slept before any transaction or lock so that calls in flight overlap
    as they do at HubSpot; counted in the call's logged duration."""
    if portal.latency_ms:
        jitter = portal.latency_jitter_ms
        time.sleep(max(0.0, portal.latency_ms + random.uniform(-jitter, jitter)) / 1000)


def serve_public(
    request: HttpRequest, view: Callable[..., HttpResponse], args: tuple, kwargs: dict, *, portal: Portal | None
) -> HttpResponse:
    """The pipeline without authentication or rate limits (OAuth endpoints)."""
    call = Call(request=request, search=False, keep_body=False, portal=portal)
    call.hub_id = portal.hub_id if portal else None
    return _serve(call, lambda: _guarded(call, lambda: view(request, *args, **kwargs)))


def _serve(call: Call, answer: Callable[[], HttpResponse]) -> HttpResponse:
    sockets.disable_nagle(call.request)
    try:
        response = _with_fault(call, answer)
    except Exception:
        _log(call, status=500)
        raise
    _decorate(call, response)
    dropping = call.fault is not None and call.fault.drop_connection
    # The log row is written before the connection drops, so a client that sees the drop also sees the row.
    _log(call, status=response.status_code if not dropping or call.fault.passthrough else 0)
    if dropping:
        sockets.drop_connection(call.request)
    return response


def _with_fault(call: Call, answer: Callable[[], HttpResponse]) -> HttpResponse:
    if call.faults_queued:
        call.fault = faults.fault_take(method=call.request.method or "GET", path=call.path, portal=call.portal)
    fault = call.fault
    if fault is None:
        return answer()
    if fault.delay_seconds:
        time.sleep(fault.delay_seconds)
    if not fault.passthrough:
        if fault.drop_connection:
            return HttpResponse(status=200)  # never reaches the client
        return faults.fault_response(fault, correlation_id=call.correlation_id, hub_id=call.hub_id, search=call.search)
    response = answer()
    if fault.status:
        response.status_code = fault.status  # e.g. 200 where HubSpot documents 201
    if fault.content_type:
        response["Content-Type"] = fault.content_type
    for name, value in fault.headers.items():
        response[name] = value
    return response


def _api_answer(
    call: Call, token: AccessToken | None, view: Callable[..., HttpResponse], args: tuple, kwargs: dict
) -> HttpResponse:
    def run() -> HttpResponse:
        now = clock.now()
        context = authenticate(token, call.correlation_id, now=now)
        call.request.hs = context  # type: ignore[attr-defined]
        call.hub_id = context.hub_id
        call.decision = ratelimit.consume(portal=context.portal, search=call.search, now=now)
        if not call.decision.allowed:
            call.rate_limited = True
            raise ratelimit.too_many(call.decision, context.portal)
        # Writes made with the app's token produce webhook events (source INTEGRATION) once the view succeeds.
        with webhook_events.capture(context.hub_id, webhook_events.app_source(), installed=True):
            return view(call.request, *args, **kwargs)

    response = _guarded(call, run)
    if call.decision is not None and call.decision.allowed:
        for name, value in ratelimit.headers(call.decision).items():
            response[name] = value
    return response


def _guarded(call: Call, run: Callable[[], HttpResponse]) -> HttpResponse:
    """Run the view; a HubSpotError (or a body that is not JSON) becomes HubSpot's error response."""
    try:
        return run()
    except HubSpotError as exc:
        error = exc
    except json.JSONDecodeError as exc:
        error = HubSpotError(400, f"Invalid input JSON on line {exc.lineno}, column {exc.colno}")
    response = JsonResponse(error.body(call.correlation_id), status=error.status, content_type=JSON_CONTENT_TYPE)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _decorate(call: Call, response: HttpResponse) -> None:
    """HubSpot's content type and correlation id; edge errors (scripted non-JSON faults) carry neither."""
    content_type = response.get("Content-Type", "")
    if content_type == "application/json":
        response["Content-Type"] = JSON_CONTENT_TYPE
    if response.status_code == 204 and not response.streaming and not response.content:
        del response["Content-Type"]  # HubSpot's 204s carry no body and no content type
    scripted = call.fault is not None and not call.fault.passthrough
    if not scripted or content_type.startswith("application/json"):
        response[CORRELATION_HEADER] = call.correlation_id
    # 4xx/5xx are the fake's normal answers and are in its own request log: keep them out of Django's
    # `django.request` warnings (the flag Django itself sets once it has logged a response).
    response._has_been_logged = True  # type: ignore[attr-defined]


def _log(call: Call, *, status: int) -> None:
    requestlog.record(
        request=call.request,
        path=call.path,
        status=status,
        duration_ms=int((time.monotonic() - call.started) * 1000),
        hub_id=call.hub_id,
        correlation_id=call.correlation_id,
        rate_limited=call.rate_limited,
        fault=faults.fault_label(call.fault) if call.fault else "",
        keep_body=call.keep_body,
    )


# -- authentication ------------------------------------------------------------------------------------


def token_of(request: HttpRequest) -> AccessToken | None:
    """The access token named by `Authorization: Bearer …`, whatever its state (None if unknown), with
    `faults_queued` (whether a fault with uses left is queued for its portal or globally) and the fake clock's
    setting (`clock.setting_columns`). Asked in the same query so that the usual call, with no faults queued, makes
    no query for them (`_with_fault`), nor one for the clock."""
    header = request.headers.get("Authorization", "")
    value = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not value:
        return None
    queued = Fault.objects.filter(Q(portal__isnull=True) | Q(portal=OuterRef("portal")), remaining__gt=0)
    tokens = AccessToken.objects.select_related("portal").filter(token=value)
    return tokens.annotate(faults_queued=Exists(queued), **clock.setting_columns()).first()


def authenticate(token: AccessToken | None, correlation_id: str, *, now: datetime) -> HubSpotContext:
    """The request's context, or HubSpot's 401 (unknown, revoked, uninstalled or expired token at `now`)."""
    if token is None or token.revoked or not token.portal.installed:
        raise HubSpotError(401, INVALID_AUTHENTICATION_MESSAGE, category="INVALID_AUTHENTICATION")
    if token.expires_at <= now:
        raise HubSpotError(
            401,
            f"The OAuth token used to make this call expired {expired_ago((now - token.expires_at).total_seconds())}.",
            category="EXPIRED_AUTHENTICATION",
            context={"expire time": [clock.iso(token.expires_at)]},
        )
    return HubSpotContext(
        hub_id=token.portal.hub_id,
        scopes=frozenset(token.scopes),
        portal=token.portal,
        correlation_id=correlation_id,
        app_id=state.app_id(),
    )


def expired_ago(seconds: float) -> str:
    """HubSpot's wording, e.g. "75 second(s) ago", "3 minute(s) ago", "5 hour(s) ago", "20336 day(s) ago".

    Those are real answers quoted in public code; "75 second(s)" shows HubSpot keeps a unit until it reaches two
    of the next one. The fake switches at two of the next unit (120 s, 120 min, 48 h).
    """
    whole = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if whole >= 2 * size:
            return f"{whole // size} {unit}(s) ago"
    return f"{whole} second(s) ago"
