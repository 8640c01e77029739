"""In-process reads of the fake CRM for tests of the product ("what did the sync write?").

Object types may be given by any alias the API accepts (`companies`, `company`, `0-2`). Only live
(non-archived) records are returned. Also home of the state operations the control endpoints use.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sandbox.hubspot_crm import clock, property_admin, registry, search_index, seed
from sandbox.hubspot_crm import schema as schema_module
from sandbox.hubspot_crm.models import (
    Association,
    CrmObject,
    Pipeline,
    PortalState,
    PropertyDefinition,
    PropertyGroup,
    SeedMarker,
    UniqueValue,
)


def _type_id(object_type: str) -> str:
    return seed.resolve_type(object_type).type_id


def _live(hub_id: int, type_id: str) -> Any:
    return CrmObject.objects.filter(hub_id=hub_id, object_type_id=type_id, archived=False).order_by("object_id")


def _plain(obj: CrmObject) -> dict[str, Any]:
    return {"id": str(obj.object_id), "properties": dict(obj.properties)}


def objects_for(hub_id: int, object_type: str) -> list[dict[str, Any]]:
    """Every live record of the type: [{"id": "1000000001", "properties": {...}}, ...] in id order."""
    return [_plain(obj) for obj in _live(hub_id, _type_id(object_type))]


def object_by_property(hub_id: int, object_type: str, name: str, value: str) -> dict[str, Any] | None:
    """The first live record (by id) whose property `name` equals `value`, or None."""
    for obj in _live(hub_id, _type_id(object_type)):
        if obj.properties.get(name) == value:
            return _plain(obj)
    return None


def associations_of(hub_id: int, object_type: str, object_id: str | int) -> list[dict[str, Any]]:
    """Every association leaving a record, one entry per type id:
    [{"toObjectType": "deals", "toObjectTypeId": "0-3", "toObjectId": "...", "typeId": 20,
      "category": "HUBSPOT_DEFINED", "label": None}, ...] ordered by target id then type id."""
    type_id = _type_id(object_type)
    rows = Association.objects.filter(hub_id=hub_id, from_type_id=type_id, from_id=int(object_id))
    return [
        {
            "toObjectType": registry.OBJECT_TYPES[row.to_type_id].name,
            "toObjectTypeId": row.to_type_id,
            "toObjectId": str(row.to_id),
            "typeId": row.type_id,
            "category": row.category,
            "label": row.label or None,
        }
        for row in rows.order_by("to_id", "type_id")
    ]


def property_of(hub_id: int, object_type: str, name: str) -> dict[str, Any] | None:
    """The property's definition as the properties API returns it (None if missing or archived)."""
    spec = seed.resolve_type(object_type)
    seed.ensure_seeded(hub_id, spec)
    prop = PropertyDefinition.objects.filter(
        hub_id=hub_id, object_type_id=spec.type_id, name=name, archived=False
    ).first()
    if prop is None:
        return None
    return property_admin.property_json(schema_module.load(hub_id, spec), prop)


def search_lag(hub_id: int) -> float:
    """The portal's search index lag in seconds."""
    return seed.portal_state(hub_id).search_lag_seconds


def set_search_lag(hub_id: int, seconds: float) -> None:
    """Make writes of the portal invisible to search for `seconds` (0 turns the lag off)."""
    seed.portal_state(hub_id)
    PortalState.objects.filter(hub_id=hub_id).update(search_lag_seconds=max(0.0, float(seconds)))


def flush_search_index(hub_id: int) -> int:
    """Make every pending write visible to search now; returns how many records were pending."""
    return search_index.flush(hub_id, clock.now())


def reset_portal(hub_id: int) -> None:
    """Delete all CRM data of the portal (records, properties, groups, pipelines, settings)."""
    with transaction.atomic():
        UniqueValue.objects.filter(hub_id=hub_id).delete()
        Association.objects.filter(hub_id=hub_id).delete()
        CrmObject.objects.filter(hub_id=hub_id).delete()
        PropertyDefinition.objects.filter(hub_id=hub_id).delete()
        PropertyGroup.objects.filter(hub_id=hub_id).delete()
        Pipeline.objects.filter(hub_id=hub_id).delete()
        SeedMarker.objects.filter(hub_id=hub_id).delete()
        PortalState.objects.filter(hub_id=hub_id).delete()
