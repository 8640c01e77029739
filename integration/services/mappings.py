"""Adding, editing and deleting field mappings, and creating HubSpot properties for them."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from integration import catalog
from integration.models import FieldMapping, ObjectSync
from integration.services.audit import Actor, audit_record

# HubSpot's rule for internal property names (hubspot-api.md §3; message as HubSpot words it).
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class MappingError(ValueError):
    """A mapping change that is refused; the message is safe to show to the customer."""


def _snapshot(mapping: FieldMapping | None) -> dict[str, str]:
    if mapping is None:
        return {}
    return {
        "kleer_field": mapping.kleer_field,
        "hubspot_property": mapping.hubspot_property,
        "default_value": mapping.default_value,
        "direction": mapping.direction,
    }


def mapping_validate(
    *,
    object_sync: ObjectSync,
    kleer_field: str,
    hubspot_property: str,
    default_value: str,
    mapping: FieldMapping | None = None,
    direction: str | None = None,
) -> None:
    """Raise MappingError when the change is refused; shared by the settings page and the admin."""
    spec = object_sync.spec
    if kleer_field and not spec.has_field(kleer_field):
        raise MappingError(
            _("%(label)s have no Kleer field %(field)s.") % {"label": spec.title, "field": repr(kleer_field)}
        )
    if not kleer_field and not default_value:
        raise MappingError(_('With "None" as the Kleer field, enter the default value to write.'))
    if not hubspot_property:
        raise MappingError(_("Choose the HubSpot property to write to."))
    if hubspot_property == catalog.KLEER_ID_PROPERTY:
        raise MappingError(_("kleer_id is written by the sync itself and cannot be mapped."))
    target = catalog.HUBSPOT_OBJECTS.get(object_sync.hubspot_object)
    if target is not None and target.is_read_only(hubspot_property):
        raise MappingError(
            _("%(property)s is calculated by HubSpot and cannot be written.") % {"property": hubspot_property}
        )
    if mapping is not None and mapping.pk and mapping.kleer_field != kleer_field:
        _ensure_required_field_stays(mapping)
    if direction == FieldMapping.Direction.TWO_WAY:
        reason = spec.one_way_reason(object_sync.hubspot_object, kleer_field or None, hubspot_property)
        if reason:
            raise MappingError(_("This mapping cannot be two-way: %(reason)s") % {"reason": reason})
    elif direction not in (None, FieldMapping.Direction.ONE_WAY):
        raise MappingError(_("Choose two-way or Kleer → HubSpot only."))


def mapping_direction(
    *, object_sync: ObjectSync, kleer_field: str, hubspot_property: str, requested: str | None, current: str | None
) -> str:
    """The direction a saved mapping gets: the one asked for, else the current one while it is still possible,
    else the catalog's default (two-way where HubSpot can notify us and the field can be written back)."""
    if requested:
        return requested
    spec = object_sync.spec
    possible = spec.one_way_reason(object_sync.hubspot_object, kleer_field or None, hubspot_property) is None
    if current is not None:
        return current if possible or current == FieldMapping.Direction.ONE_WAY else FieldMapping.Direction.ONE_WAY
    return FieldMapping.Direction.TWO_WAY if possible else FieldMapping.Direction.ONE_WAY


def _ensure_required_field_stays(mapping: FieldMapping) -> None:
    """A required Kleer field's last mapping cannot go (deleted or remapped) while the object syncs."""
    object_sync = mapping.object_sync
    spec = object_sync.spec
    if object_sync.enabled and mapping.kleer_field in spec.required_fields:
        others = object_sync.mappings.filter(kleer_field=mapping.kleer_field).exclude(pk=mapping.pk)
        if not others.exists():
            raise MappingError(
                _("%(field)s is required while %(label)s sync is on.")
                % {"field": spec.field(mapping.kleer_field).display, "label": spec.title}
            )


def mapping_save(
    *,
    object_sync: ObjectSync,
    kleer_field: str,
    hubspot_property: str,
    default_value: str = "",
    actor: Actor,
    mapping: FieldMapping | None = None,
    direction: str | None = None,
) -> FieldMapping:
    """Create a mapping, or update `mapping`; one HubSpot property is written by at most one mapping.

    `direction` None keeps the mapping's direction while it is still possible (else one-way), and gives a new
    mapping the catalog's default."""
    kleer_field, hubspot_property = kleer_field.strip(), hubspot_property.strip()
    mapping_validate(
        object_sync=object_sync,
        kleer_field=kleer_field,
        hubspot_property=hubspot_property,
        default_value=default_value,
        mapping=mapping,
        direction=direction,
    )
    before = _snapshot(mapping)
    target = mapping or FieldMapping(object_sync=object_sync)
    target.direction = mapping_direction(
        object_sync=object_sync,
        kleer_field=kleer_field,
        hubspot_property=hubspot_property,
        requested=direction,
        current=mapping.direction if mapping else None,
    )
    target.kleer_field, target.hubspot_property, target.default_value = kleer_field, hubspot_property, default_value
    try:
        with transaction.atomic():
            target.save()
            audit_record(
                portal=object_sync.portal,
                actor=actor,
                action="mapping.updated" if mapping else "mapping.created",
                target=f"{object_sync.spec.label}: {hubspot_property}",
                before=before,
                after=_snapshot(target),
            )
    except IntegrityError as exc:
        raise MappingError(
            _("%(property)s is already mapped on this tab; edit that mapping instead.") % {"property": hubspot_property}
        ) from exc
    return target


@transaction.atomic
def mapping_delete(*, mapping: FieldMapping, actor: Actor) -> None:
    """Delete a mapping; a required field's last mapping cannot go while the object is switched on."""
    _ensure_required_field_stays(mapping)
    object_sync = mapping.object_sync
    audit_record(
        portal=object_sync.portal,
        actor=actor,
        action="mapping.deleted",
        target=f"{object_sync.spec.label}: {mapping.hubspot_property}",
        before=_snapshot(mapping),
    )
    mapping.delete()


def property_name_error(name: str) -> str:
    """HubSpot's validation of a new property's internal name ("" when valid)."""
    if not name or len(name) >= 100 or not PROPERTY_NAME.match(name):
        return _("Names for properties should be lowercase and have less than 100 characters")
    return ""
