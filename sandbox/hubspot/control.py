"""Control endpoints of the fake HubSpot (`/sandbox/hubspot/_fake/…`): JSON in, JSON out, no CSRF, no auth.

Tests (in any process) and demo scripts drive the fake through these: create portals, issue/expire/revoke tokens,
uninstall, set rate limits, queue faults, read the request log and its counters, move the clock. They are not
HubSpot APIs: they bypass the gateway, so they are neither rate-limited, faulted nor logged.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from sandbox.hubspot import clock, faults, requestlog, selectors, state
from sandbox.hubspot.models import AccessToken, Portal

LOG_LIMIT_MAX = 1000


class ControlError(Exception):
    """A control request the fake refuses: answered `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def control(*methods: str) -> Callable[..., Any]:
    """Accept `methods`, parse the JSON body into `data`, and turn errors into `{"error": …}` answers."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ControlError(405, f"{request.method} is not allowed here; use {', '.join(methods)}")
                return view(request, _body(request), *args, **kwargs)
            except ControlError as exc:
                return JsonResponse({"error": exc.message}, status=exc.status)
            except (faults.FaultSpecError, ValueError) as exc:
                return JsonResponse({"error": str(exc)}, status=400)

        return wrapper

    return decorate


def _body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except json.JSONDecodeError as exc:
        raise ControlError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


def _portal(hub_id: int) -> Portal:
    portal = selectors.portal_get(hub_id)
    if portal is None:
        raise ControlError(404, f"no fake portal {hub_id}")
    return portal


def _features(data: dict[str, Any]) -> dict[str, bool] | None:
    features = data.get("features")
    if features is None:
        return None
    if not isinstance(features, dict) or not all(isinstance(v, bool) for v in features.values()):
        raise ControlError(400, "features must be an object of feature names to true/false")
    return features


def _token_json(access: AccessToken) -> dict[str, Any]:
    return {
        "access_token": access.token,
        "refresh_token": access.refresh_token,
        "token_type": "bearer",
        "expires_in": max(0, round((access.expires_at - clock.now()).total_seconds())),
        "expires_at": clock.iso(access.expires_at),
        "hub_id": access.portal.hub_id,
        "scopes": list(access.scopes),
        "user_id": access.user_id,
    }


# -- portals and tokens --------------------------------------------------------------------------------


@control("GET", "POST")
def portals(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """GET: every portal. POST `{hub_id?, features?, time_zone?, …, with_token?, scopes?}`: create one (201)."""
    if request.method == "GET":
        return JsonResponse({"portals": [selectors.portal_describe(p) for p in Portal.objects.order_by("hub_id")]})
    hub_id = data.get("hub_id")
    if hub_id is not None and (not isinstance(hub_id, int) or hub_id < 1):
        raise ControlError(400, "hub_id must be a positive integer")
    fields = {name: data[name] for name in state.PORTAL_FIELDS if name in data}
    portal = state.portal_create(hub_id=hub_id, features=_features(data))
    if fields:
        state.portal_update(portal=portal, **fields)
    answer = selectors.portal_describe(portal)
    if data.get("with_token"):
        answer["token"] = _token_json(state.token_issue(portal=portal, scopes=_scopes(data)))
    return JsonResponse(answer, status=201)


@control("GET", "PATCH")
def portal(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """GET: the portal. PATCH `{features?, time_zone?, company_currency?, …}`: change it."""
    found = _portal(hub_id)
    if request.method == "PATCH":
        fields = {name: value for name, value in data.items() if name != "features"}
        state.portal_update(portal=found, features=_features(data), **fields)
    return JsonResponse(selectors.portal_describe(found))


def _scopes(data: dict[str, Any]) -> list[str]:
    scopes = data.get("scopes", list(state.ALL_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ControlError(400, "scopes must be a list of strings")
    return scopes


@control("POST")
def portal_tokens(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """POST `{scopes?, expires_in?, user_id?, user_email?}`: issue an access token (and a new refresh token)."""
    found = _portal(hub_id)
    expires_in = data.get("expires_in", state.ACCESS_TOKEN_SECONDS)
    if not isinstance(expires_in, int) or expires_in < 1:
        raise ControlError(400, "expires_in must be a positive number of seconds")
    access = state.token_issue(
        portal=found,
        scopes=_scopes(data),
        expires_in=expires_in,
        user_id=int(data.get("user_id", state.DEFAULT_USER_ID)),
        user_email=str(data.get("user_email", state.DEFAULT_USER_EMAIL)),
    )
    return JsonResponse(_token_json(access), status=201)


@control("POST")
def portal_tokens_expire(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """POST `{access_token?}`: expire the portal's access tokens (or one) a second ago."""
    expired = state.tokens_expire(portal=_portal(hub_id), token=str(data.get("access_token", "")))
    return JsonResponse({"expired": expired})


@control("POST")
def portal_tokens_revoke(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """POST `{access_token?, refresh_token?}`: revoke those tokens, or all of the portal's when none is named."""
    revoked = state.tokens_revoke(
        portal=_portal(hub_id),
        access_token=str(data.get("access_token", "")),
        refresh_token=str(data.get("refresh_token", "")),
    )
    return JsonResponse({"revoked": revoked})


@control("POST")
def portal_uninstall(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """POST: uninstall the app from the portal, as the customer would."""
    found = _portal(hub_id)
    state.portal_uninstall(portal=found)
    return JsonResponse(selectors.portal_describe(found))


@control("GET", "PUT", "POST")
def portal_rate_limits(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """PUT `{max?, search_max?, daily_max?, retry_after?}`: per-portal limits (null: module default; for
    `daily_max`, no daily bucket) and the Retry-After flag."""
    found = _portal(hub_id)
    if request.method != "GET":
        changes: dict[str, Any] = {}
        for key, name in (("max", "limit"), ("search_max", "search_limit"), ("daily_max", "daily_limit")):
            if key in data:
                value = data[key]
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                    raise ControlError(400, f"{key} must be a positive integer or null")
                changes[name] = value
        if "retry_after" in data:
            changes["retry_after"] = bool(data["retry_after"])
        state.portal_set_rate_limits(portal=found, **changes)
    return JsonResponse(selectors.portal_describe(found)["rate_limits"])


@control("GET", "PUT", "POST")
def portal_latency(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """PUT `{latency_ms, jitter_ms?}`: every API call of the portal takes latency ± jitter ms (0: none)."""
    found = _portal(hub_id)
    if request.method != "GET":
        values = {key: data.get(key, 0) for key in ("latency_ms", "jitter_ms")}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
            raise ControlError(400, "latency_ms and jitter_ms must be integers")
        try:
            state.portal_set_latency(portal=found, **values)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
    return JsonResponse({"latency_ms": found.latency_ms, "jitter_ms": found.latency_jitter_ms})


# -- faults --------------------------------------------------------------------------------------------


def _faults(request: HttpRequest, data: dict[str, Any], owner: Portal | None) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"faults": faults.faults_list(portal=owner)})
    if request.method == "DELETE":
        return JsonResponse({"deleted": faults.faults_clear(portal=owner)})
    specs = data.get("faults", [data])
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        raise ControlError(400, "faults must be a list of fault objects")
    queued = [faults.fault_describe(faults.fault_add(portal=owner, spec=spec)) for spec in specs]
    return JsonResponse({"faults": queued}, status=201)


@control("GET", "POST", "DELETE")
def portal_faults(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """The portal's fault queue: POST a fault (or `{faults: […]}`), GET the queue, DELETE to clear it."""
    return _faults(request, data, _portal(hub_id))


@control("GET", "POST", "DELETE")
def global_faults(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """The global fault queue (matches every call, with or without a valid token)."""
    return _faults(request, data, None)


# -- request log ---------------------------------------------------------------------------------------


def _since(request: HttpRequest) -> tuple[datetime | None, int | None]:
    raw_since, raw_after = request.GET.get("since", ""), request.GET.get("after_id", "")
    since = parse_datetime(raw_since) if raw_since else None
    if raw_since and since is None:
        raise ControlError(400, "since must be an ISO-8601 date-time")
    if raw_after and not raw_after.isdigit():
        raise ControlError(400, "after_id must be a log entry id")
    return since, int(raw_after) if raw_after else None


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= LOG_LIMIT_MAX:
        raise ControlError(400, f"limit must be from 1 to {LOG_LIMIT_MAX}")
    return int(raw)


@control("GET", "DELETE")
def portal_requests(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """GET `?since=&after_id=&limit=`: the portal's log, newest first. DELETE: reset the portal's log."""
    if request.method == "DELETE":
        return JsonResponse({"deleted": requestlog.reset(hub_id)})
    since, after_id = _since(request)
    entries = selectors.request_log(hub_id, since, after_id=after_id, limit=_limit(request))
    return JsonResponse({"hub_id": hub_id, "entries": entries})


@control("GET")
def portal_request_counts(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """GET `?since=&after_id=`: counters of the portal's calls (total, per endpoint, per status, 429s, faults)."""
    since, after_id = _since(request)
    return JsonResponse(selectors.request_counts(hub_id, since, after_id=after_id))


@control("GET")
def unattributed_requests(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """GET: calls no portal could be named for (no or unknown token, unknown code), newest first."""
    since, after_id = _since(request)
    entries = selectors.request_log(None, since, after_id=after_id, limit=_limit(request))
    counts = selectors.request_counts(None, since, after_id=after_id)
    return JsonResponse({"hub_id": None, "entries": entries, "counts": counts})


# -- clock ---------------------------------------------------------------------------------------------


@control("GET", "POST")
def clock_control(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """POST `{reset?: true, freeze?: bool, advance_seconds?: number}`, applied in that order."""
    if request.method == "POST":
        if data.get("reset"):
            clock.reset()
        if data.get("freeze") is True:
            clock.freeze()
        elif data.get("freeze") is False:
            clock.unfreeze()
        seconds = data.get("advance_seconds", 0)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ControlError(400, "advance_seconds must be a number of seconds, zero or more")
        if seconds:
            clock.advance(float(seconds))
    return JsonResponse(clock.describe())
