"""Adding, editing and deleting field mappings, and creating HubSpot properties for them.

One view adds and edits (healthchecks' webhook_form pattern). It is a page of its own, so it works without
JavaScript; settings.js loads the same view into a <dialog> (the `X-Dialog` header asks for the form alone), and
asks it for the direction control alone (`?fragment=direction`) when the Kleer field or HubSpot property changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.portal_session import PortalAccess, portal_access_required
from integration.clients.errors import ApiError
from integration.forms import MappingForm
from integration.models import FieldMapping, HubSpotInstallation, ObjectSync
from integration.services.hubspot_properties import hubspot_properties, hubspot_property_create
from integration.services.mappings import MappingError, mapping_delete, mapping_direction, mapping_save
from integration.services.object_syncs import two_way_possible
from integration.views.settings_common import done, is_dialog, object_sync_for, page_context, settings_url


def _properties(object_sync: ObjectSync, *, refresh: bool = False) -> tuple[list[dict[str, Any]] | None, str]:
    """The portal's properties for the dropdown (cached by the service), or None and the reason."""
    installation = HubSpotInstallation.objects.filter(portal=object_sync.portal).first()
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return None, _("HubSpot is disconnected, so its properties cannot be listed; type the internal name.")
    try:
        return hubspot_properties(object_sync=object_sync, refresh=refresh), ""
    except ApiError as exc:
        return None, _("Could not read the properties from HubSpot (%(error)s); type the internal name.") % {
            "error": exc.message
        }


def _render(request: HttpRequest, access: PortalAccess, object_sync: ObjectSync, **extra: Any) -> HttpResponse:
    template = "_mapping_form.html" if is_dialog(request) else "mapping_form.html"
    context = page_context(access, object_sync.object_type, spec=object_sync.spec, object_sync=object_sync, **extra)
    return render(request, f"integration/settings/{template}", context)


def _initial(mapping: FieldMapping | None) -> dict[str, str]:
    if mapping is None:
        return {}
    return {
        "kleer_field": mapping.kleer_field,
        "hubspot_property": mapping.hubspot_property,
        "default_value": mapping.default_value,
        "direction": mapping.direction,
    }


def direction_choice(
    object_sync: ObjectSync, *, kleer_field: str, hubspot_property: str, chosen: str | None
) -> dict[str, Any]:
    """The dialog's direction control for these values: the radio to check, and why two-way is impossible
    ("" when it is possible). `chosen` is the direction the user (or the saved mapping) picked so far.

    Same rules as saving (`ObjectSpec.one_way_reason`, `mapping_direction`), so the control never offers what
    the save would refuse."""
    spec = object_sync.spec
    if kleer_field and not spec.has_field(kleer_field):
        reason = _("Choose a Kleer field from the list.")
    elif kleer_field and not hubspot_property:
        reason = _("Choose the HubSpot property first.")
    else:
        reason = spec.one_way_reason(object_sync.hubspot_object, kleer_field or None, hubspot_property) or ""
    if reason:
        return {"value": FieldMapping.Direction.ONE_WAY, "reason": reason}
    if chosen not in FieldMapping.Direction.values:
        chosen = None
    value = mapping_direction(
        object_sync=object_sync,
        kleer_field=kleer_field,
        hubspot_property=hubspot_property,
        requested=None,
        current=chosen,
    )
    return {"value": value, "reason": ""}


def _direction_context(object_sync: ObjectSync, form: MappingForm, mapping: FieldMapping | None) -> dict[str, Any]:
    """The direction control of a rendered form (where two-way is possible at all), from the form's values."""
    if not two_way_possible(object_sync):
        return {}
    values = form.data if form.is_bound else form.initial
    chosen = values.get("direction") or (mapping.direction if mapping else None)
    choice = direction_choice(
        object_sync,
        kleer_field=(values.get("kleer_field") or "").strip(),
        hubspot_property=(values.get("hubspot_property") or "").strip(),
        chosen=chosen,
    )
    return {"direction": choice}


def _direction_fragment(
    request: HttpRequest, access: PortalAccess, object_sync: ObjectSync, mapping: FieldMapping | None
) -> HttpResponse:
    """The direction control alone, for the values the dialog holds now (settings.js swaps it in on change)."""
    choice = direction_choice(
        object_sync,
        kleer_field=request.GET.get("kleer_field", "").strip(),
        hubspot_property=request.GET.get("hubspot_property", "").strip(),
        chosen=request.GET.get("direction") or (mapping.direction if mapping else None),
    )
    context = page_context(access, object_sync.object_type, spec=object_sync.spec, object_sync=object_sync)
    return render(request, "integration/settings/_mapping_direction.html", {**context, "direction": choice})


@never_cache
@portal_access_required
@require_http_methods(["GET", "POST"])
def mapping_form(
    request: HttpRequest, access: PortalAccess, object_type: str, mapping_id: int | None = None
) -> HttpResponse:
    """Add (no `mapping_id`) or edit a mapping. Buttons: save, refresh the property list, create a property."""
    object_sync = object_sync_for(access, object_type)
    mapping = get_object_or_404(FieldMapping, pk=mapping_id, object_sync=object_sync) if mapping_id else None
    if request.method == "GET" and request.GET.get("fragment") == "direction" and two_way_possible(object_sync):
        return _direction_fragment(request, access, object_sync, mapping)
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    properties, properties_error = _properties(object_sync, refresh=action == "refresh")
    current = mapping.hubspot_property if mapping else ""
    kwargs = {"spec": object_sync.spec, "properties": properties, "current_property": current}
    if request.method == "GET" and request.GET.get("fragment") == "default":
        return _default_fragment(request, access, object_sync, kwargs)
    extra: dict[str, Any] = {"mapping": mapping, "properties_error": properties_error}
    if action == "save":
        form = MappingForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                mapping_save(
                    object_sync=object_sync,
                    mapping=mapping,
                    actor=access.actor,
                    kleer_field=form.cleaned_data["kleer_field"],
                    hubspot_property=form.cleaned_data["hubspot_property"],
                    default_value=form.cleaned_data["default_value"],
                    direction=form.cleaned_data["direction"] or None,
                )
            except MappingError as exc:
                form.add_error(None, str(exc))
            else:
                name = form.cleaned_data["hubspot_property"]
                messages.success(request, _("Mapping to %(name)s saved.") % {"name": name})
                return done(request, f"{settings_url(access, object_type)}#mappings")
    elif action == "create_property":
        form, extra["created"], extra["create_error"] = _create_property(request, access, object_sync, kwargs)
    elif action == "refresh":
        form = MappingForm(initial=_posted(request), **kwargs)
        extra["refreshed"] = properties is not None
    else:
        form = MappingForm(initial=_initial(mapping), **kwargs)
    extra.update(_direction_context(object_sync, form, mapping))
    return _render(request, access, object_sync, form=form, **extra)


def _default_fragment(
    request: HttpRequest, access: PortalAccess, object_sync: ObjectSync, kwargs: dict[str, Any]
) -> HttpResponse:
    """The default value's input alone, fitted to the property the dialog holds now (settings.js swaps it in)."""
    initial = {name: request.GET.get(name, "").strip() for name in ("hubspot_property", "default_value")}
    form = MappingForm(initial=initial, **kwargs)
    context = page_context(access, object_sync.object_type, spec=object_sync.spec, object_sync=object_sync)
    return render(request, "integration/settings/_mapping_default.html", {**context, "form": form})


def _posted(request: HttpRequest) -> dict[str, str]:
    names = ("kleer_field", "hubspot_property", "default_value", "direction")
    return {name: request.POST.get(name, "") for name in names}


def _create_property(
    request: HttpRequest, access: PortalAccess, object_sync: ObjectSync, kwargs: dict[str, Any]
) -> tuple[MappingForm, str, str]:
    """Create the property in HubSpot and select it; (form, created name, error message)."""
    posted = MappingForm(request.POST, **kwargs)
    try:
        label, name, kleer_field = posted.new_property()
        hubspot_property_create(
            object_sync=object_sync, name=name, label=label, kleer_field=kleer_field, actor=access.actor
        )
    except (forms.ValidationError, MappingError) as exc:
        message = exc.messages[0] if isinstance(exc, forms.ValidationError) else str(exc)
        return MappingForm(initial=_posted(request), **kwargs), "", message
    except ApiError as exc:
        return (
            MappingForm(initial=_posted(request), **kwargs),
            "",
            _("HubSpot did not create it: %(error)s") % {"error": exc.message},
        )
    properties, _error = _properties(object_sync)
    refreshed = {**kwargs, "properties": properties, "current_property": name}
    return MappingForm(initial={**_posted(request), "hubspot_property": name}, **refreshed), name, ""


@never_cache
@portal_access_required
@require_http_methods(["GET", "POST"])
def mapping_delete_view(request: HttpRequest, access: PortalAccess, object_type: str, mapping_id: int) -> HttpResponse:
    """Ask, then delete a mapping (a required field's only mapping stays while the sync is on)."""
    object_sync = object_sync_for(access, object_type)
    mapping = get_object_or_404(FieldMapping, pk=mapping_id, object_sync=object_sync)
    if request.method == "POST":
        try:
            mapping_delete(mapping=mapping, actor=access.actor)
        except MappingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Mapping to %(name)s deleted.") % {"name": mapping.hubspot_property})
        return done(request, f"{settings_url(access, object_type)}#mappings")
    template = "_mapping_delete.html" if is_dialog(request) else "mapping_delete.html"
    context = page_context(access, object_type, spec=object_sync.spec, object_sync=object_sync, mapping=mapping)
    return render(request, f"integration/settings/{template}", context)
