"""Control endpoints of the fake's webhooks (`/sandbox/hubspot/_fake/…`; JSON, no CSRF, no auth):

- `GET/PUT/DELETE /apps/webhooks`: the app's webhooks component (PUT = `hs project upload` of
  `webhooks-hsmeta.json`; 400 names the invalid field).
- `POST /webhooks/deliver` `{hub_id?}`: deliver everything due now; answers `{requests, delivered, failed, pending}`.
- `GET /webhooks?hub_id=&status=&after_id=&limit=`: events (with the requests that carried them) and requests.
  `DELETE /webhooks?hub_id=`: forget them.
- `GET/POST/DELETE /webhooks/faults`: duplicate / reorder / delay / batch-size injection (`faults.py`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot.control import LOG_LIMIT_MAX, ControlError, control
from sandbox.hubspot.webhooks import autodeliver, config, delivery, faults, selectors


@control("GET", "PUT", "DELETE")
def app_webhooks(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """The app's webhooks component: GET it, PUT a new one (validated), DELETE it (no subscriptions)."""
    if request.method == "PUT":
        if not data:
            raise ControlError(400, "send the webhooks component (webhooks-hsmeta.json) as the body")
        app = config.webhooks_configure(data)
    elif request.method == "DELETE":
        app = config.webhooks_unconfigure()
    else:
        app = config.app_row()
    autodeliver.ensure_started()
    return JsonResponse({**config.describe(app), "delivery": delivery.describe_app(app)})


def _hub_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).isdigit():
        raise ControlError(400, f"hub_id must be a portal id, not {value!r}")
    return int(value)


@control("POST")
def deliver(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """Deliver every event due now (optionally of one portal), synchronously."""
    report = delivery.webhooks_deliver(_hub_id(data.get("hub_id")))
    return JsonResponse(report.as_json())


def _int_param(request: HttpRequest, name: str, default: int, high: int | None = None) -> int:
    raw = request.GET.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or (high is not None and not 1 <= int(raw) <= high):
        raise ControlError(400, f"{name} must be a whole number" + (f" from 1 to {high}" if high else ""))
    return int(raw)


@control("GET", "DELETE")
def webhook_log(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """GET: events and requests, oldest first. DELETE: forget them (of `hub_id`, or all)."""
    hub_id = _hub_id(request.GET.get("hub_id"))
    if request.method == "DELETE":
        return JsonResponse({"deleted": selectors.webhooks_clear(hub_id=hub_id)})
    autodeliver.ensure_started()
    limit = _int_param(request, "limit", 100, LOG_LIMIT_MAX)
    after_id = _int_param(request, "after_id", 0)
    status = request.GET.get("status") or None
    listed = selectors.webhook_events(hub_id=hub_id, status=status, after_id=after_id, limit=limit)
    sent = selectors.webhook_requests(hub_id=hub_id, limit=limit, after_id=_int_param(request, "after_request", 0))
    return JsonResponse({"hub_id": hub_id, "events": listed, "requests": sent})


@control("GET", "POST", "DELETE")
def webhook_faults(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """GET the knobs, POST some of them (`{duplicate?, reorder?, delay_seconds?, batch_size?}`), DELETE: reset."""
    if request.method == "POST":
        app = faults.faults_set(data)
    elif request.method == "DELETE":
        app = faults.faults_clear()
    else:
        app = config.app_row()
    return JsonResponse(faults.faults_describe(app))
