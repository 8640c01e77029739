"""Test controls under `/sandbox/hubspot/_fake/crm/<hub_id>/...` (JSON, no auth: the sandbox is dev-only).

- `GET|PUT|POST search-lag` (`{"seconds": 5}`): how long writes stay invisible to search (§10.4 index lag).
- `POST search-index/flush`: make every pending write visible now.
- `POST reset`: delete the portal's CRM data (defaults come back lazily on the next call).

And `POST /sandbox/hubspot/_fake/portals/<hub_id>/user-edit` (`{"objectType", "id", "properties", "userId"?}`):
edit a record as a HubSpot user would (`user_edits.py`); answers the record as the API shows it, or HubSpot's
error body and status when the API's update would refuse the edit.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.state import DEFAULT_USER_ID
from sandbox.hubspot_crm import selectors, user_edits

USER_EDIT_FIELDS = {"objectType", "id", "properties", "userId"}


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message}, status=status)


@csrf_exempt
def search_lag(request: HttpRequest, hub_id: int) -> HttpResponse:
    """Read or set the portal's search index lag."""
    if request.method in ("PUT", "POST"):
        try:
            seconds = float(json.loads(request.body or b"{}")["seconds"])
        except (ValueError, KeyError, TypeError):
            return _error('Send {"seconds": <number>}')
        if seconds < 0:
            return _error("seconds must be zero or more")
        selectors.set_search_lag(hub_id, seconds)
    elif request.method != "GET":
        return _error("Use GET, PUT or POST", 405)
    return JsonResponse({"hubId": hub_id, "seconds": selectors.search_lag(hub_id)})


@csrf_exempt
def flush_index(request: HttpRequest, hub_id: int) -> HttpResponse:
    """Index every pending write of the portal now."""
    if request.method != "POST":
        return _error("Use POST", 405)
    return JsonResponse({"hubId": hub_id, "flushed": selectors.flush_search_index(hub_id)})


@csrf_exempt
def reset(request: HttpRequest, hub_id: int) -> HttpResponse:
    """Delete the portal's CRM data."""
    if request.method != "POST":
        return _error("Use POST", 405)
    selectors.reset_portal(hub_id)
    return JsonResponse({"hubId": hub_id, "reset": True})


def _user_edit_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    """The user-edit body, or the 400 answer that refuses it."""
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error("The body must be JSON")
    if not isinstance(data, dict):
        return _error("The body must be a JSON object")
    unknown = sorted(set(data) - USER_EDIT_FIELDS)
    missing = [name for name in ("objectType", "id", "properties") if data.get(name) is None]
    if unknown or missing:
        return _error(f"Unknown field(s): {unknown}; missing field(s): {missing}; send {sorted(USER_EDIT_FIELDS)}")
    user_id = data.get("userId", DEFAULT_USER_ID)
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        return _error("userId must be a positive integer")
    return data


@csrf_exempt
def user_edit(request: HttpRequest, hub_id: int) -> HttpResponse:
    """Edit a record as a HubSpot user (changeSource CRM_UI); the record in the API's shape."""
    if request.method != "POST":
        return _error("Use POST", 405)
    data = _user_edit_body(request)
    if isinstance(data, JsonResponse):
        return data
    try:
        record = user_edits.user_edit(
            hub_id, str(data["objectType"]), data["id"], data["properties"], user_id=data.get("userId", DEFAULT_USER_ID)
        )
    except HubSpotError as exc:
        correlation_id = str(uuid.uuid4())
        refused = JsonResponse(exc.body(correlation_id), status=exc.status)
        refused["X-HubSpot-Correlation-Id"] = correlation_id
        return refused
    return JsonResponse(record)
