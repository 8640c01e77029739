"""Server-rendered pages of the fake HubSpot: the request log of a portal, newest first, paged, with counters."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sandbox.hubspot import selectors
from sandbox.hubspot.models import Portal, RequestLog

PAGE_SIZE = 50


@require_GET
def request_log_page(request: HttpRequest) -> HttpResponse:
    """`/_pages/log/?hub_id=…&page=…`; without `hub_id`, the portals and how many calls each made."""
    raw = request.GET.get("hub_id", "")
    if not raw:
        return render(request, "sandbox/hubspot/log_index.html", {"portals": _portal_rows()})
    hub_id = None if raw == "none" else int(raw) if raw.isdigit() else -1
    rows = RequestLog.objects.filter(hub_id=hub_id).order_by("-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "hub_id": hub_id,
        "hub_param": raw,
        "page": page,
        "counts": selectors.request_counts(hub_id),
        "portal": selectors.portal_get(hub_id) if hub_id is not None else None,
    }
    return render(request, "sandbox/hubspot/log.html", context)


def _portal_rows() -> list[dict[str, object]]:
    calls = dict(RequestLog.objects.values_list("hub_id").annotate(n=Count("id")))
    rows: list[dict[str, object]] = [
        {"hub_id": p.hub_id, "hub_domain": p.hub_domain, "installed": p.installed, "calls": calls.get(p.hub_id, 0)}
        for p in Portal.objects.order_by("-hub_id")
    ]
    if calls.get(None):
        rows.append(
            {"hub_id": None, "hub_domain": "calls without a known portal", "installed": None, "calls": calls[None]}
        )
    return rows
