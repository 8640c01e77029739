"""An object tab (Clients … Projects): toggle, HubSpot object type, pipeline, mappings table, sync status."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.portal_session import PortalAccess, portal_access_required
from integration import catalog
from integration.clients.errors import ApiError
from integration.clients.hubspot import HubSpotClient
from integration.forms import PipelineForm, TargetForm, default_value_error
from integration.models import FieldMapping, HubSpotInstallation, ObjectSync, Portal, RecordError, SyncRun
from integration.selectors import object_sync_status
from integration.services.hubspot_properties import cached_properties, planned_property
from integration.services.object_syncs import (
    ObjectSyncError,
    enable_blockers,
    hubspot_object_missing,
    object_sync_set_enabled,
    object_sync_set_inbound,
    object_sync_set_pipeline,
    object_sync_set_target,
    synced_count,
)
from integration.services.sync import SyncRequestError, object_sync_request_run
from integration.views.settings_common import (
    direction_texts,
    object_sync_for,
    page_context,
    pro_locked,
    schedule_text,
    settings_url,
)

RECENT_ERRORS = 10


def upgrade_url(portal: Portal) -> str:
    """Where "contact us to upgrade" leads (settings.UPGRADE_URL); a mail names the portal so support can act."""
    url = settings.UPGRADE_URL
    if url.startswith("mailto:"):
        joiner = "&" if "?" in url else "?"
        url += f"{joiner}body={quote(f'HubSpot portal {portal.hub_id}: please switch us to the Pro plan.')}"
    return url


def _mapping_rows(object_sync: ObjectSync) -> list[dict[str, Any]]:
    """Each mapping with its Kleer field's display name and, for two-way object types, its direction badge."""
    spec = object_sync.spec
    rows = []
    properties = cached_properties(object_sync=object_sync) or {}
    for mapping in object_sync.mappings.all():
        known = bool(mapping.kleer_field) and spec.has_field(mapping.kleer_field)
        reason = (
            spec.one_way_reason(object_sync.hubspot_object, mapping.kleer_field or None, mapping.hubspot_property)
            if known or not mapping.kleer_field
            else None
        )
        rows.append(
            {
                "mapping": mapping,
                "kleer_display": spec.field(mapping.kleer_field).display if known else mapping.kleer_field or _("None"),
                "hint": spec.field(mapping.kleer_field).hint if known else "",
                "two_way": mapping.direction == FieldMapping.Direction.TWO_WAY,
                # Why it is one-way when it cannot be anything else (added to the One-way badge's tooltip).
                "one_way_reason": reason or "",
                "default_problem": _default_problem(object_sync, mapping, properties),
            }
        )
    return rows


def _default_problem(object_sync: ObjectSync, mapping: FieldMapping, known: dict[str, dict[str, Any]]) -> str:
    """Why HubSpot would refuse the saved default ("" when it would not, or the property's type is unknown):
    checked against the cached property list (refreshed whenever the sync creates properties), or against the
    type the catalog gives a `kleer_…` property the first sync has not created yet."""
    if not mapping.default_value:
        return ""
    prop = known.get(mapping.hubspot_property) or planned_property(
        spec=object_sync.spec, name=mapping.hubspot_property, kleer_field=mapping.kleer_field
    )
    return default_value_error(prop, mapping.default_value)


def _skip_reasons(run: SyncRun | None) -> list[str]:
    """Why the run's skipped records were skipped, one phrase per reason with its count."""
    if run is None:
        return []
    texts = {
        "filtered": _("drafts and credit invoices, which are not synced")
        if run.object_type == "invoices"
        else _("left out by this object's rules"),
        "waiting_retry": _("failed before and waiting for their next retry"),
        "hubspot_edit_pending": _("a HubSpot edit of them is on its way to Kleer"),
        "deleted_in_kleer": _("deleted in Kleer and not in HubSpot"),
        "not_in_hubspot": _("deleted in Kleer before they reached HubSpot"),
    }
    return [f"{texts.get(key, key)}: {count}" for key, count in (run.skipped_reasons or {}).items() if count]


def _status(object_sync: ObjectSync) -> dict[str, Any]:
    errors = RecordError.objects.filter(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        status__in=[RecordError.Status.OPEN, RecordError.Status.PARKED],
    )
    sync_status = object_sync_status(object_sync)
    return {
        "now": sync_status,
        "last_run": sync_status.last_run,
        "skip_reasons": _skip_reasons(sync_status.last_run),
        "next_run": sync_status.next_run,
        "errors": list(errors.order_by("-last_seen_at")[:RECENT_ERRORS]),
        "error_count": errors.count(),
        "synced_count": synced_count(object_sync),
        "synced_with": [catalog.get(key).title.lower() for key in object_sync.spec.synced_with],
    }


def _hubspot(object_sync: ObjectSync) -> HubSpotClient | None:
    """A client for the portal's HubSpot, or None while it is disconnected (the toggle's blockers say so)."""
    installation = HubSpotInstallation.objects.filter(portal=object_sync.portal).first()
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return None
    return HubSpotClient(installation=installation, allow_sleep=False)


def _pipelines(object_sync: ObjectSync) -> tuple[list[dict[str, Any]], str]:
    """The portal's pipelines of the target object, or an explanation why they could not be read."""
    hubspot = _hubspot(object_sync)
    if hubspot is None:
        return [], _("Reconnect HubSpot to choose a pipeline.")
    try:
        return hubspot.pipelines(object_sync.hubspot_object), ""
    except ApiError as exc:
        return [], _("Could not read the pipelines from HubSpot (%(error)s).") % {"error": exc.message}


def _context(access: PortalAccess, object_sync: ObjectSync, **extra: Any) -> dict[str, Any]:
    spec = object_sync.spec
    target = spec.target(object_sync.hubspot_object)
    rows = _mapping_rows(object_sync)
    context = page_context(
        access,
        spec.key,
        spec=spec,
        object_sync=object_sync,
        target=target,
        pro_locked=pro_locked(spec, access),
        upgrade_url=upgrade_url(access.portal),
        blockers=[] if object_sync.enabled else enable_blockers(object_sync),
        rows=rows,
        default_problems=[row for row in rows if row["default_problem"]],
        direction=direction_texts(object_sync),
        schedule=schedule_text(spec),
        target_form=TargetForm(initial={"hubspot_object": object_sync.hubspot_object}, spec=spec),
        status=_status(object_sync),
        **extra,
    )
    if target.needs_pipeline and "pipeline_form" not in extra:
        pipelines, error = _pipelines(object_sync)
        initial = {"pipeline_id": object_sync.pipeline_id, "stage_id": object_sync.stage_id}
        context["pipeline_form"] = PipelineForm(initial=initial, pipelines=pipelines)
        context["pipeline_error"] = error
    return context


@never_cache
@portal_access_required
@require_GET
def object_tab(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """One object type's tab."""
    object_sync = object_sync_for(access, object_type)
    return render(request, "integration/settings/object.html", _context(access, object_sync))


@portal_access_required
@require_POST
def toggle(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """Switch the object type ON or OFF; a refused ON shows the service's reasons and changes nothing."""
    object_sync = object_sync_for(access, object_type)
    enabled = request.POST.get("enabled") == "1"
    # Switching on asks HubSpot whether the portal has the target object (e.g. the Projects tool).
    hubspot = _hubspot(object_sync) if enabled and not object_sync.enabled else None
    try:
        object_sync_set_enabled(object_sync=object_sync, enabled=enabled, actor=access.actor, hubspot=hubspot)
    except ObjectSyncError as exc:
        messages.error(
            request,
            _("%(label)s sync was not switched on. %(reason)s") % {"label": object_sync.spec.title, "reason": exc},
        )
    else:
        label = object_sync.spec.title
        messages.success(
            request,
            _("%(label)s sync is ON.") % {"label": label}
            if enabled
            else _("%(label)s sync is OFF.") % {"label": label},
        )
    return HttpResponseRedirect(settings_url(access, object_type))


def _inbound_message(object_sync: ObjectSync) -> str:
    spec = object_sync.spec
    words = {"label": spec.title, "lower": spec.title.lower()}
    if not object_sync.inbound_enabled:
        return _("HubSpot → Kleer is OFF for %(lower)s: HubSpot edits are not sent to Kleer.") % words
    if object_sync.enabled:
        return (
            _("HubSpot → Kleer is ON for %(lower)s: HubSpot edits of two-way properties are written to Kleer.") % words
        )
    return (
        _(
            "HubSpot → Kleer is ON for %(lower)s: HubSpot edits of two-way properties are written to Kleer once "
            "%(label)s sync is ON."
        )
        % words
    )


@portal_access_required
@require_POST
def inbound(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """Switch "HubSpot → Kleer" ON or OFF for a two-way object type; refused (with the reason) for the others."""
    object_sync = object_sync_for(access, object_type)
    enabled = request.POST.get("inbound_enabled") == "1"
    try:
        object_sync_set_inbound(object_sync=object_sync, enabled=enabled, actor=access.actor)
    except ObjectSyncError as exc:
        messages.error(request, _("HubSpot → Kleer was not switched on. %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _inbound_message(object_sync))
    return HttpResponseRedirect(f"{settings_url(access, object_type)}#inbound")


@never_cache
@portal_access_required
@require_http_methods(["GET", "POST"])
def target(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """Change the HubSpot object type: GET explains the consequences, POST with `confirm` applies them."""
    object_sync = object_sync_for(access, object_type)
    spec = object_sync.spec
    form = TargetForm(request.POST if request.method == "POST" else request.GET, spec=spec)
    if not form.is_valid():
        targets = ", ".join(t.title for t in spec.targets)
        messages.error(
            request, _("%(label)s can sync to %(targets)s only.") % {"label": spec.title, "targets": targets}
        )
        return HttpResponseRedirect(settings_url(access, object_type))
    new = form.cleaned_data["hubspot_object"]
    if new == object_sync.hubspot_object:
        return HttpResponseRedirect(settings_url(access, object_type))
    hubspot = _hubspot(object_sync)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            object_sync_set_target(object_sync=object_sync, hubspot_object=new, actor=access.actor, hubspot=hubspot)
        except ObjectSyncError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(label)s now sync to HubSpot %(target)s.")
                % {"label": spec.title, "target": spec.target(new).title},
            )
        return HttpResponseRedirect(settings_url(access, object_type))
    return _target_confirm(request, access, object_sync, new, hubspot)


def _target_confirm(
    request: HttpRequest, access: PortalAccess, object_sync: ObjectSync, new: str, hubspot: HubSpotClient | None
) -> HttpResponse:
    """The page that says what changing the HubSpot object does, and asks to confirm it."""
    spec = object_sync.spec
    context = page_context(
        access,
        spec.key,
        spec=spec,
        object_sync=object_sync,
        current=spec.target(object_sync.hubspot_object),
        new=spec.target(new),
        mapping_count=object_sync.mappings.count(),
        synced_count=synced_count(object_sync),
        # Said before asking to confirm: a portal without the new object would only fail every run.
        missing=hubspot_object_missing(object_sync=object_sync, hubspot_object=new, hubspot=hubspot) if hubspot else "",
    )
    return render(request, "integration/settings/target_confirm.html", context)


@portal_access_required
@require_POST
def pipeline(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """Save the pipeline and stage new deals or projects are created in."""
    object_sync = object_sync_for(access, object_type)
    pipelines, error = _pipelines(object_sync)
    form = PipelineForm(request.POST, pipelines=pipelines)
    if form.is_valid():
        try:
            object_sync_set_pipeline(object_sync=object_sync, actor=access.actor, **form.cleaned_data)
        except ObjectSyncError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Pipeline and stage saved."))
            return HttpResponseRedirect(settings_url(access, object_type))
    extra = {"pipeline_form": form, "pipeline_error": error}
    return render(request, "integration/settings/object.html", _context(access, object_sync, **extra))


@never_cache
@portal_access_required
@require_GET
def sync_status(request: HttpRequest, access: PortalAccess, object_type: str) -> JsonResponse:
    """The tab's sync state for static/integration/settings.js to poll while a run is queued or running."""
    object_sync = object_sync_for(access, object_type)
    status = object_sync_status(object_sync)
    run = status.last_run
    return JsonResponse(
        {
            "state": status.state,
            "read": status.read_so_far if status.state == "running" else (run.read if run else 0),
            "expected": status.expected,
            "percent": status.percent,
            "run_status": run.status if run else "",
            "text": render_to_string("integration/settings/_run_state.html", {"now": status, "spec": object_sync.spec}),
        }
    )


@portal_access_required
@require_POST
def sync_now(request: HttpRequest, access: PortalAccess, object_type: str) -> HttpResponse:
    """Queue a run now; refused (with the reason) when the object cannot sync."""
    object_sync = object_sync_for(access, object_type)
    try:
        object_sync_request_run(object_sync=object_sync, actor=access.actor)
    except SyncRequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(object)s sync is queued; this page shows when it runs.") % {"object": object_sync.spec.title}
        )
    return HttpResponseRedirect(f"{settings_url(access, object_type)}#sync-status")
