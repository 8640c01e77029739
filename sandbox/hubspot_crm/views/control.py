"""Test controls under `/sandbox/hubspot/_fake/crm/<hub_id>/...` (JSON, no auth: the sandbox is dev-only).

- `GET|PUT|POST search-lag` (`{"seconds": 5}`): how long writes stay invisible to search (§10.4 index lag).
- `POST search-index/flush`: make every pending write visible now.
- `POST reset`: delete the portal's CRM data (defaults come back lazily on the next call).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.hubspot_crm import selectors


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
