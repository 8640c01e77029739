"""What every settings tab shares: the tab bar, the portal's ObjectSync lookup, the One-way rule, dialog replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.portal_session import PortalAccess
from integration import catalog
from integration.catalog import Direction, Plan
from integration.models import ObjectSync

GENERAL_TAB = "general"

# Product doc §4 (kleer-for-hubspot-product.md, "Trigger properties for Companies"): a change to one of these
# HubSpot company properties starts an inbound sync. Any other mapped property shows the "One-way" badge: it
# is still sent back to Kleer, but editing only it in HubSpot does not trigger anything.
COMPANY_TRIGGER_PROPERTIES = frozenset(
    {
        "name",
        "domain",
        "phone",
        "address",
        "address2",
        "city",
        "state",
        "zip",
        "country",
        "description",
        "industry",
        "website",
        "numberofemployees",
        "annualrevenue",
        "orgno",
        "organization_number",
        "registration_number",
        "vat_number",
        "email",
        "invoice_email",
        "kleer_email",
        "invoice_delivery_method",
        "kleer_delivery_method",
        "invoice_payment_days",
        "kleer_payment_days",
        "currency",
        "kleer_currency",
        "default_currency",
    }
)


def is_one_way(spec: catalog.ObjectSpec, hubspot_object: str, hubspot_property: str) -> bool:
    """Whether editing `hubspot_property` in HubSpot leaves Kleer untouched until something else triggers.

    Inbound sync exists only for clients → companies (the trigger list above) and projects → projects, where
    the product doc says changes to any mapped field are pushed back (§3.6). Every other pair is one-way.
    """
    if spec.direction is Direction.ONE_WAY:
        return True
    if spec.key == "clients" and hubspot_object == "companies":
        return hubspot_property not in COMPANY_TRIGGER_PROPERTIES
    return not (spec.key == "projects" and hubspot_object == "projects")


def pro_locked(spec: catalog.ObjectSpec, access: PortalAccess) -> bool:
    return spec.plan == Plan.PRO and access.portal.plan != Plan.PRO


@dataclass(frozen=True)
class Tab:
    """One entry of the tab bar."""

    key: str
    label: str
    url: str
    enabled: bool | None = None  # None for the General tab (it has no toggle)
    pro: bool = False


def tabs(access: PortalAccess) -> list[Tab]:
    """General Configuration, then the object tabs in catalog order (Clients, Invoices, … Projects)."""
    enabled = dict(access.portal.object_syncs.values_list("object_type", "enabled"))
    items = [Tab(GENERAL_TAB, "General Configuration", settings_url(access))]
    for spec in catalog.REGISTRY.values():
        items.append(
            Tab(
                key=spec.key,
                label=spec.label,
                url=settings_url(access, spec.key),
                enabled=enabled.get(spec.key, False),
                pro=pro_locked(spec, access),
            )
        )
    return items


def settings_url(access: PortalAccess, object_type: str = "", name: str = "", **kwargs: Any) -> str:
    """URL of a settings page of this portal; `name` picks an object-tab action ("object_toggle", …)."""
    if not object_type:
        return reverse(f"integration:{name or 'settings'}", kwargs={"hub_id": access.hub_id, **kwargs})
    return reverse(
        f"integration:{name or 'object_tab'}", kwargs={"hub_id": access.hub_id, "object_type": object_type, **kwargs}
    )


def object_sync_for(access: PortalAccess, object_type: str) -> ObjectSync:
    """This portal's ObjectSync for a catalog key; 404 for unknown keys (and never another portal's row)."""
    if object_type not in catalog.REGISTRY:
        raise Http404("No such object type")
    try:
        return ObjectSync.objects.select_related("portal", "periodic_task", "periodic_task__interval").get(
            portal=access.portal, object_type=object_type
        )
    except ObjectSync.DoesNotExist:
        raise Http404("No such object type") from None


def page_context(access: PortalAccess, active: str, **extra: Any) -> dict[str, Any]:
    """The context every settings page template needs (base layout, header, tab bar)."""
    return {"access": access, "portal": access.portal, "tabs": tabs(access), "active_tab": active, **extra}


def is_dialog(request: HttpRequest) -> bool:
    """True when settings.js loaded this page into a <dialog> (it then wants the form alone)."""
    return request.headers.get("X-Dialog") == "1"


def done(request: HttpRequest, url: str) -> HttpResponse:
    """POST/redirect/GET; a dialog gets 204 + the URL instead, so its flash message survives the reload."""
    if is_dialog(request):
        response = HttpResponse(status=204)
        response["X-Location"] = url
        return response
    return HttpResponseRedirect(url)
