"""The portal's HubSpot properties for the mapping dialog (cached), and creating new ones."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from integration import catalog
from integration.clients.hubspot import HubSpotClient
from integration.models import ObjectSync
from integration.services.audit import Actor, audit_record
from integration.services.mappings import MappingError, property_name_error

CACHE_SECONDS = 600


def _cache_key(object_sync: ObjectSync) -> str:
    return f"hubspot-properties:{object_sync.portal.hub_id}:{object_sync.hubspot_object}"


def hubspot_properties(*, object_sync: ObjectSync, refresh: bool = False) -> list[dict[str, Any]]:
    """Writable properties of the target object as [{name, label, type, fieldType, options}], sorted by label."""
    key = _cache_key(object_sync)
    cached = None if refresh else cache.get(key)
    if cached is not None:
        return cached
    client = HubSpotClient(installation=object_sync.portal.installation, allow_sleep=False)
    return properties_cache_store(object_sync=object_sync, raw=client.properties(object_sync.hubspot_object))


def properties_cache_store(*, object_sync: ObjectSync, raw: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cache the target's writable properties from HubSpot's answer `raw` (the mapping dialog's list); the sync
    calls it after creating properties, so the dialog and the tab's default checks see them at once."""
    target = catalog.HUBSPOT_OBJECTS.get(object_sync.hubspot_object)
    found = [
        property_shape(p)
        for p in raw
        if not (p.get("modificationMetadata") or {}).get("readOnlyValue")
        and not (target and target.is_read_only(p["name"]))
        and p["name"] != catalog.KLEER_ID_PROPERTY
    ]
    found.sort(key=lambda p: p["label"].lower())
    cache.set(_cache_key(object_sync), found, CACHE_SECONDS)
    return found


def property_shape(p: dict[str, Any]) -> dict[str, Any]:
    """One property as the mapping form and the default checks read it."""
    return {
        "name": p["name"],
        "label": p.get("label") or p["name"],
        "type": p.get("type"),
        "fieldType": p.get("fieldType"),
        # An enumeration takes only its option values; the mapping form checks default values against them.
        "options": [o["value"] for o in p.get("options") or [] if "value" in o],
        "optionLabels": {o["value"]: o.get("label", "") for o in p.get("options") or [] if "value" in o},
    }


def planned_property(*, spec: catalog.ObjectSpec, name: str, kleer_field: str) -> dict[str, Any] | None:
    """The property the first sync will create for a `kleer_…` mapping (its type comes from the catalog), shaped
    like `property_shape`; None for a HubSpot property the integration does not create."""
    if not catalog.is_custom_property(name) or (kleer_field and not spec.has_field(kleer_field)):
        return None
    return property_shape(spec.property_definition(name, kleer_field or None).as_payload())


def cached_properties(*, object_sync: ObjectSync) -> dict[str, dict[str, Any]] | None:
    """The cached property list by name, without asking HubSpot (None when nothing is cached)."""
    cached = cache.get(_cache_key(object_sync))
    return None if cached is None else {p["name"]: p for p in cached}


def hubspot_property_create(
    *, object_sync: ObjectSync, name: str, label: str, kleer_field: str, actor: Actor
) -> dict[str, Any]:
    """Create a custom property in the portal with a type that fits the Kleer field (in the "Kleer" group)."""
    name, label = name.strip(), label.strip()
    error = property_name_error(name)
    if error:
        raise MappingError(error)
    if not label:
        raise MappingError(_("Enter a label for the new property."))
    if any(unicodedata.category(c) == "Cc" for c in label) or len(label) > 100:
        # Checked before HubSpot is called: a label the audit log could not store used to create the property
        # and then fail, leaving a change without its audit event.
        raise MappingError(_("A property label is at most 100 characters, without control characters."))
    spec = object_sync.spec
    if kleer_field and not spec.has_field(kleer_field):
        raise MappingError(
            _("%(label)s have no Kleer field %(field)s.") % {"label": spec.title, "field": repr(kleer_field)}
        )
    definition = spec.property_definition(name, kleer_field or None)
    payload = {**definition.as_payload(), "label": label}
    client = HubSpotClient(installation=object_sync.portal.installation, allow_sleep=False)
    client.property_group_create(
        object_sync.hubspot_object, name=catalog.PROPERTY_GROUP, label=catalog.PROPERTY_GROUP_LABEL
    )
    created = client.property_create(object_sync.hubspot_object, payload)
    cache.delete(_cache_key(object_sync))
    audit_record(
        portal=object_sync.portal,
        actor=actor,
        action="hubspot_property.created",
        target=f"{object_sync.hubspot_object}.{name}",
        after={"name": name, "label": label, "type": payload["type"], "fieldType": payload["fieldType"]},
    )
    return created
