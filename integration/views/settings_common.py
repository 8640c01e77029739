"""What every settings tab shares: the tab bar, the portal's ObjectSync lookup, the direction wording, dialog
replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.portal_session import PortalAccess
from integration import catalog
from integration.catalog import Plan
from integration.models import ObjectSync
from integration.selectors import interval_text
from integration.services.object_syncs import two_way_possible

GENERAL_TAB = "general"


@dataclass(frozen=True)
class DirectionTexts:
    """What an object tab says about direction. Derived from the catalog entry (`spec.two_way` and the target's
    `inbound_properties`) and the "HubSpot → Kleer" switch (`ObjectSync.inbound_enabled`), the facts that turn
    HubSpot → Kleer on, so the tab changes its words exactly when the behaviour changes."""

    summary: str  # the tab head, after the schedule
    intro: str  # above the mappings table
    # Two-way is possible here: the HubSpot → Kleer switch, a Two-way / One-way badge per mapping and the dialog's
    # direction control are shown. Otherwise everything is one-way and the intro says so once (no badge noise).
    two_way_here: bool
    two_way_title: str = ""  # tooltips of the badges
    one_way_title: str = ""


def _one_way_title() -> str:
    return _("Kleer → HubSpot only: edits of this property in HubSpot do not go back to Kleer.")


def _one_way_target_texts(spec: catalog.ObjectSpec, hubspot_object: str) -> DirectionTexts:
    """A two-way object type synced to a HubSpot object HubSpot sends no change notifications for (projects)."""
    target = spec.target(hubspot_object)
    others = _(" or ").join(t.title.lower() for t in spec.targets if t.inbound_properties)
    words = {"label": spec.title, "lower": spec.title.lower(), "target": target.title.lower(), "others": others}
    intro = (
        _(
            "%(label)s synced to HubSpot %(target)s go one way, from Kleer to HubSpot: HubSpot sends apps no change "
            "notifications for %(target)s, so edits made there never reach Kleer."
        )
        % words
    )
    if others:
        intro += " " + _("Sync %(lower)s to %(others)s (HubSpot object type above) for two-way.") % words
        summary = _("one-way: Kleer → HubSpot (two-way when synced to %(others)s)") % words
    else:
        summary = _("one-way: Kleer → HubSpot")
    return DirectionTexts(summary=summary, intro=intro, two_way_here=False)


def direction_texts(object_sync: ObjectSync) -> DirectionTexts:
    """The direction wording of one object tab (see DirectionTexts)."""
    spec = object_sync.spec
    if not spec.two_way:
        return DirectionTexts(
            summary=_("one-way: Kleer → HubSpot"),
            intro=_("%(label)s sync one way, from Kleer to HubSpot: edits made in HubSpot are never sent to Kleer.")
            % {"label": spec.title},
            two_way_here=False,
        )
    if not two_way_possible(object_sync):
        return _one_way_target_texts(spec, object_sync.hubspot_object)
    if object_sync.inbound_enabled:
        return DirectionTexts(
            summary=_("two-way"),
            intro=_(
                "Properties marked Two-way go both ways: an edit in HubSpot is written to Kleer within seconds. "
                "Properties marked One-way go from Kleer to HubSpot only: edits of them in HubSpot never reach Kleer."
            ),
            two_way_here=True,
            two_way_title=_("Two-way: edits of this property in HubSpot are written to Kleer."),
            one_way_title=_one_way_title(),
        )
    return DirectionTexts(
        summary=_("one-way for now: HubSpot → Kleer is off"),
        intro=_(
            "HubSpot → Kleer is off, so edits made in HubSpot never reach Kleer, whatever a property's direction. "
            "Properties marked Two-way go back to Kleer once it is switched on."
        ),
        two_way_here=True,
        two_way_title=_("Two-way once HubSpot → Kleer is switched on; until then Kleer → HubSpot only."),
        one_way_title=_one_way_title(),
    )


def schedule_text(spec: catalog.ObjectSpec) -> str:
    """How often the object type syncs, in words: "every 15 minutes", "daily", "synced with invoices and …"."""
    if spec.synced_with:
        parents = _(" and ").join(catalog.get(key).title.lower() for key in spec.synced_with)
        return _("synced with %(parents)s") % {"parents": parents}
    return interval_text(spec.interval_minutes)


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
    items = [Tab(GENERAL_TAB, _("General Configuration"), settings_url(access))]
    for spec in catalog.REGISTRY.values():
        items.append(
            Tab(
                key=spec.key,
                label=spec.title,
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
