"""Server-rendered pages showing what a sync wrote into the fake CRM (no auth: dev sandbox).

- `/sandbox/hubspot/_pages/`: portals with their record counts.
- `/sandbox/hubspot/_pages/<hub_id>/<type>/`: records of a type with key properties, 50 per page.
- `/sandbox/hubspot/_pages/<hub_id>/<type>/<id>/`: every property, associations and history of one record, and
  a form (POST, CSRF-protected) that edits a property as a HubSpot user would (`user_edits.py`: same validation
  as the API, history and webhook events with source CRM_UI), so a person can watch the edit reach the app;
  on deals and companies also the workflow-action panel and "Mark won" (`workflow_pages.py`).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.models import Portal  # read only: the portals of the OAuth half, for the index page
from sandbox.hubspot_crm import registry, seed, user_edits
from sandbox.hubspot_crm.models import Association, CrmObject, PortalState, PropertyDefinition
from sandbox.hubspot_crm.registry import ObjectTypeSpec
from sandbox.hubspot_crm.views import workflow_pages

PAGE_SIZE = 50


def _portals() -> dict[int, dict[str, Any]]:
    portals: dict[int, dict[str, Any]] = {}
    for portal in Portal.objects.order_by("hub_id"):
        portals[portal.hub_id] = {"hub_id": portal.hub_id, "domain": portal.hub_domain, "features": portal.features}
    for hub_id in PortalState.objects.values_list("hub_id", flat=True):
        portals.setdefault(hub_id, {"hub_id": hub_id, "domain": "", "features": {}})
    return portals


@require_GET
def portals(request: HttpRequest) -> HttpResponse:
    """Every portal with its record counts per object type."""
    rows = _portals()
    counts = CrmObject.objects.filter(archived=False).values("hub_id", "object_type_id").annotate(n=Count("id"))
    lags = dict(PortalState.objects.values_list("hub_id", "search_lag_seconds"))
    for row in rows.values():
        row["counts"] = []
        row["lag"] = lags.get(row["hub_id"], 0.0)
    for count in counts:
        if count["hub_id"] in rows and count["object_type_id"] in registry.OBJECT_TYPES:
            rows[count["hub_id"]].setdefault("by_type", {})[count["object_type_id"]] = count["n"]
    for row in rows.values():
        by_type = row.get("by_type", {})
        row["counts"] = [(spec, by_type.get(spec.type_id, 0)) for spec in registry.OBJECT_TYPES.values()]
    return render(request, "sandbox_hubspot_crm/portals.html", {"portals": list(rows.values())})


def resolve_spec(object_type: str) -> ObjectTypeSpec:
    """The object type named in a page URL, or 404."""
    try:
        return seed.resolve_type(object_type)
    except HubSpotError:
        raise Http404(f"Unknown object type {object_type}") from None


def _columns(hub_id: int, spec: ObjectTypeSpec) -> list[str]:
    unique = PropertyDefinition.objects.filter(
        hub_id=hub_id, object_type_id=spec.type_id, has_unique_value=True, hubspot_defined=False, archived=False
    ).values_list("name", flat=True)
    return [*spec.list_columns, *sorted(unique)]


@require_GET
def records(request: HttpRequest, hub_id: int, object_type: str) -> HttpResponse:
    """One page of a portal's records of a type."""
    spec = resolve_spec(object_type)
    archived = request.GET.get("archived") == "1"
    rows = CrmObject.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, archived=archived).order_by("object_id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    columns = _columns(hub_id, spec)
    table = [(obj, [obj.properties.get(name, "") for name in columns]) for obj in page.object_list]
    context = {
        "hub_id": hub_id,
        "spec": spec,
        "types": registry.OBJECT_TYPES.values(),
        "columns": columns,
        "table": table,
        "page": page,
        "archived": archived,
    }
    return render(request, "sandbox_hubspot_crm/records.html", context)


def _edit(request: HttpRequest, hub_id: int, spec: ObjectTypeSpec, object_id: int) -> tuple[str, str]:
    """Apply the page's edit form: (property edited, "") or ("", HubSpot's error message)."""
    name = request.POST.get("property", "")
    try:
        user_edits.user_edit(hub_id, spec.type_id, object_id, {name: request.POST.get("value", "")})
    except HubSpotError as exc:
        return "", exc.message
    return name, ""


@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, hub_id: int, object_type: str, object_id: int) -> HttpResponse:
    """Every property and association of one record; POST edits one property as a HubSpot user."""
    spec = resolve_spec(object_type)
    error = ""
    if request.method == "POST":
        edited, error = _edit(request, hub_id, spec, object_id)
        if not error:  # post/redirect/get, so reloading the page does not edit again
            return redirect(f"{request.path}?edited={edited}")
    return record_page(request, hub_id, spec, object_id, error=error)


def record_page(
    request: HttpRequest,
    hub_id: int,
    spec: ObjectTypeSpec,
    object_id: int,
    *,
    error: str = "",
    workflow_error: str = "",
) -> HttpResponse:
    """Render the record page; 400 when it shows a refused edit or workflow run."""
    obj = CrmObject.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, object_id=object_id).first()
    if obj is None:
        raise Http404(f"No {spec.singular} {object_id} in hub {hub_id}")
    definitions = PropertyDefinition.objects.filter(hub_id=hub_id, object_type_id=spec.type_id)
    labels = dict(definitions.values_list("name", "label"))
    writable = sorted(definitions.filter(archived=False, read_only_value=False).values_list("name", flat=True))
    properties = [(name, labels.get(name, ""), value) for name, value in sorted(obj.properties.items())]
    context = {
        "hub_id": hub_id,
        "spec": spec,
        "obj": obj,
        "properties": properties,
        "links": _links(hub_id, obj),
        "writable": writable,
        "edited": request.GET.get("edited", ""),
        "error": error,
        "form": request.POST if error else {},
        "workflow": workflow_pages.panel(request, hub_id, spec, obj),
        "workflow_error": workflow_error,
    }
    status = 400 if error or workflow_error else 200
    return render(request, "sandbox_hubspot_crm/record.html", context, status=status)


def _links(hub_id: int, obj: CrmObject) -> list[dict[str, Any]]:
    edges = Association.objects.filter(hub_id=hub_id, from_id=obj.object_id).order_by("to_type_id", "to_id", "type_id")
    return [
        {
            "spec": registry.OBJECT_TYPES.get(edge.to_type_id),
            "to_id": edge.to_id,
            "type_id": edge.type_id,
            "category": edge.category,
            "label": edge.label,
        }
        for edge in edges
    ]
