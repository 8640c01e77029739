"""The catalog: one declarative `ObjectSpec` per Kleer object type, in settings-page tab order.

Models derive their choices from `choices()`, and forms, admin, the sync engine and the sandbox read the specs
from `REGISTRY` (STYLE.md practice 5). Pure Python: importable without Django.
"""

from __future__ import annotations

from integration.catalog.base import (
    KLEER_ID_PROPERTY,
    PROPERTY_GROUP,
    PROPERTY_GROUP_LABEL,
    Association,
    DefaultMapping,
    Direction,
    Field,
    FieldType,
    MappingLike,
    ObjectSpec,
    Option,
    Plan,
    PropertyDefinition,
    Target,
    TransformError,
    is_custom_property,
    suggest_property_name,
)
from integration.catalog.hubspot import (
    ASSOCIATION_TYPES,
    HUBSPOT_OBJECTS,
    HubSpotObject,
    association_type_id,
    resolve_hubspot_object,
)
from integration.catalog.objects import SPECS

__all__ = [
    "ASSOCIATION_TYPES",
    "HUBSPOT_OBJECTS",
    "KLEER_ID_PROPERTY",
    "OBJECT_TYPES",
    "PROPERTY_GROUP",
    "PROPERTY_GROUP_LABEL",
    "REGISTRY",
    "Association",
    "DefaultMapping",
    "Direction",
    "Field",
    "FieldType",
    "HubSpotObject",
    "MappingLike",
    "ObjectSpec",
    "Option",
    "Plan",
    "PropertyDefinition",
    "Target",
    "TransformError",
    "association_type_id",
    "choices",
    "get",
    "is_custom_property",
    "resolve_hubspot_object",
    "suggest_property_name",
]

REGISTRY: dict[str, ObjectSpec] = {spec.key: spec for spec in SPECS}
OBJECT_TYPES: tuple[str, ...] = tuple(REGISTRY)


def get(key: str) -> ObjectSpec:
    """The spec for a catalog key ("clients", …); KeyError naming the valid keys otherwise."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown object type {key!r}; expected one of {', '.join(OBJECT_TYPES)}") from None


def choices() -> list[tuple[str, str]]:
    """(key, label) pairs in tab order, for Django model and form choices."""
    return [(spec.key, spec.label) for spec in REGISTRY.values()]
