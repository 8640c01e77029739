"""Property and property-group definitions: validation and JSON (crm-properties.json).

Rules from hubspot-api.md §3 and §10.5 (https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/guide):
`name` matches ^[a-z][a-z0-9_]*$ and has at most 100 characters ("Names for properties should be lowercase and
have less than 100 characters", quoted from a real response); `type` and `fieldType` must be a valid pair;
enumerations need options; `groupName` must exist; a duplicate name is 409 OBJECT_ALREADY_EXISTS; at most 10
custom `hasUniqueValue` properties per object type; `name`, `type` and `hasUniqueValue` never change; HubSpot-
defined properties cannot be archived or redefined. Other messages are the fake's choice.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot_crm import clock, errors
from sandbox.hubspot_crm.http import body_bool, body_int, check_fields
from sandbox.hubspot_crm.models import PropertyDefinition, PropertyGroup, UniqueValue
from sandbox.hubspot_crm.schema import Schema

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_MAX = 100
UNIQUE_LIMIT = 10
FIELD_TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file", "calculation_equation"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "phone_number": {"phonenumber", "text"},
}
HINTS = {
    "dataSensitivity": {"non_sensitive", "sensitive", "highly_sensitive"},
    "numberDisplayHint": {"currency", "duration", "formatted", "percentage", "probability", "unformatted"},
    "textDisplayHint": {
        "domain_name",
        "email",
        "ip_address",
        "multi_line",
        "phone_number",
        "physical_address",
        "postal_code",
        "unformatted_single_line",
    },
}
EXTRA_FIELDS = (
    "dataSensitivity",
    "numberDisplayHint",
    "textDisplayHint",
    "referencedObjectType",
    "currencyPropertyName",
    "showCurrencySymbol",
    "calculationFormula",
)
CREATE_FIELDS = (
    "name",
    "label",
    "type",
    "fieldType",
    "groupName",
    "description",
    "options",
    "displayOrder",
    "hasUniqueValue",
    "hidden",
    "formField",
    "externalOptions",
    *EXTRA_FIELDS,
)
UPDATE_FIELDS = (
    "label",
    "type",
    "fieldType",
    "groupName",
    "description",
    "options",
    "displayOrder",
    "hidden",
    "formField",
    *EXTRA_FIELDS,
)
CREATE_REQUIRED = ("name", "label", "type", "fieldType", "groupName")
BOOL_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


def check_name(name: Any) -> None:
    """400 unless `name` follows HubSpot's property naming rule."""
    if not isinstance(name, str) or not NAME.match(name) or len(name) > NAME_MAX:
        raise errors.validation(
            "Names for properties should be lowercase and have less than 100 characters",
            context={"name": [str(name)]},
        )


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise errors.validation(f"{field} must be a non-empty string")
    return value


def _check_type_pair(kind: Any, field_type: Any) -> None:
    if kind not in FIELD_TYPES:
        raise errors.validation(f"{kind!r} is not a property type; use one of {sorted(FIELD_TYPES)}")
    if field_type not in FIELD_TYPES[kind]:
        allowed = ", ".join(sorted(FIELD_TYPES[kind]))
        raise errors.validation(f"fieldType {field_type!r} is not valid for type {kind}; use one of: {allowed}")


def _options(kind: str, raw: Any) -> list[dict[str, Any]]:
    """Normalised options: required for enumerations, Yes/No for bools, none otherwise."""
    if kind == "bool":
        return list(BOOL_OPTIONS)
    if kind != "enumeration":
        return []
    if not isinstance(raw, list) or not raw:
        raise errors.validation("Enumeration properties need at least one option")
    options, seen = [], set()
    for order, option in enumerate(raw):
        check_fields(option, ("label", "value", "displayOrder", "hidden", "description"), ("label", "value"), "option")
        value = option["value"]
        if not isinstance(value, str) or not value or value in seen:
            raise errors.validation(f"Option values must be unique non-empty strings; got {value!r}")
        seen.add(value)
        entry = {
            "label": str(option["label"]),
            "value": value,
            "displayOrder": body_int(option, "displayOrder", order),
            "hidden": body_bool(option, "hidden"),
        }
        if option.get("description"):
            entry["description"] = str(option["description"])
        options.append(entry)
    return options


def _extra(data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    extra = dict(current or {})
    for field in EXTRA_FIELDS:
        if field in data:
            if field in HINTS and data[field] not in HINTS[field]:
                raise errors.validation(f"{field} must be one of {sorted(HINTS[field])}")
            extra[field] = data[field]
    return extra


def _group_exists(schema: Schema, name: Any) -> None:
    if not PropertyGroup.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, name=name).exists():
        raise errors.validation(
            f"Property group {name} does not exist on {schema.type_id}", context={"groupName": [str(name)]}
        )


def _unique_count(schema: Schema) -> int:
    """How many live custom properties of the type have unique values."""
    return PropertyDefinition.objects.filter(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        has_unique_value=True,
        hubspot_defined=False,
        archived=False,
    ).count()


def _unique_limit(schema: Schema) -> None:
    if _unique_count(schema) >= UNIQUE_LIMIT:
        raise errors.validation(
            f"Object type {schema.type_id} already has {UNIQUE_LIMIT} unique value properties, the maximum allowed"
        )


def create(schema: Schema, data: Any) -> PropertyDefinition:
    """Create a custom property from a `PropertyCreate` body."""
    label = _checked_head(data)
    _group_exists(schema, data["groupName"])
    if PropertyDefinition.objects.filter(
        hub_id=schema.hub_id, object_type_id=schema.type_id, name=data["name"]
    ).exists():
        raise HubSpotError(
            409, "Property already exists", category="OBJECT_ALREADY_EXISTS", context={"name": [data["name"]]}
        )
    unique = body_bool(data, "hasUniqueValue")
    if unique:
        _unique_limit(schema)
    prop = _definition(schema, data, label, unique)
    prop.save(force_insert=True)
    return prop


def create_many(schema: Schema, inputs: list[Any]) -> list[PropertyDefinition] | None:
    """Create every input's property in a few queries in all, as `create` input by input would, or None (nothing
    written) when one input would fail: the caller then runs `create` per input, which words each error. The
    caller holds the portal lock."""
    try:
        props = [_definition(schema, data, _checked_head(data), body_bool(data, "hasUniqueValue")) for data in inputs]
    except HubSpotError:
        return None
    if not props:
        return []
    if not _all_creatable(schema, props):
        return None
    return PropertyDefinition.objects.bulk_create(props)


def _all_creatable(schema: Schema, props: list[PropertyDefinition]) -> bool:
    """Whether `create` would accept every one of `props` in turn: distinct new names, existing groups, and room
    for the new unique properties (the k-th new one sees k-1 more than exist now)."""
    names = [prop.name for prop in props]
    if len(set(names)) != len(names) or not all(isinstance(prop.group_name, str) for prop in props):
        return False
    groups = {prop.group_name for prop in props}
    mine = {"hub_id": schema.hub_id, "object_type_id": schema.type_id}
    if set(PropertyGroup.objects.filter(**mine, name__in=groups).values_list("name", flat=True)) != groups:
        return False
    if PropertyDefinition.objects.filter(**mine, name__in=names).exists():
        return False
    unique = sum(1 for prop in props if prop.has_unique_value)
    return not unique or _unique_count(schema) + unique <= UNIQUE_LIMIT


def _checked_head(data: Any) -> str:
    """The checks `create` makes before asking the database; returns the label."""
    check_fields(data, CREATE_FIELDS, CREATE_REQUIRED, "property")
    check_name(data["name"])
    _check_type_pair(data["type"], data["fieldType"])
    return _text(data, "label")


def _definition(schema: Schema, data: dict[str, Any], label: str, unique: bool) -> PropertyDefinition:
    """The unsaved property of a checked `create` body (its remaining fields checked in `create`'s order)."""
    stamp = clock.now()
    return PropertyDefinition(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        name=data["name"],
        label=label,
        type=data["type"],
        field_type=data["fieldType"],
        group_name=data["groupName"],
        description=str(data.get("description") or ""),
        options=_options(data["type"], data.get("options")),
        display_order=body_int(data, "displayOrder", -1),
        has_unique_value=unique,
        hidden=body_bool(data, "hidden"),
        form_field=body_bool(data, "formField"),
        external_options=body_bool(data, "externalOptions"),
        extra=_extra(data),
        created_at=stamp,
        updated_at=stamp,
    )


def update(schema: Schema, prop: PropertyDefinition, data: Any) -> PropertyDefinition:
    """Apply a `PropertyUpdate` body."""
    if isinstance(data, dict):
        for frozen in ("name", "hasUniqueValue"):
            if frozen in data:
                raise errors.validation(f"{frozen} cannot be changed once a property exists")
    check_fields(data, UPDATE_FIELDS, (), "property update")
    if prop.read_only_definition:
        raise errors.validation(f"Property {prop.name} is HubSpot-defined; its definition is read-only")
    if data.get("type", prop.type) != prop.type:
        raise errors.validation(f"The type of property {prop.name} cannot be changed (it is {prop.type})")
    _check_type_pair(prop.type, data.get("fieldType", prop.field_type))
    if "groupName" in data:
        _group_exists(schema, data["groupName"])
    if "label" in data:
        prop.label = _text(data, "label")
    if "options" in data:
        prop.options = _options(prop.type, data["options"])
    for field, attr in (("fieldType", "field_type"), ("groupName", "group_name"), ("description", "description")):
        if field in data:
            setattr(prop, attr, data[field])
    if "displayOrder" in data:
        prop.display_order = body_int(data, "displayOrder", -1)
    for field, attr in (("hidden", "hidden"), ("formField", "form_field")):
        if field in data:
            setattr(prop, attr, body_bool(data, field))
    prop.extra = _extra(data, prop.extra)
    prop.updated_at = clock.now()
    prop.save()
    return prop


def archive(schema: Schema, prop: PropertyDefinition) -> None:
    """Archive a custom property (its unique values are released)."""
    if prop.hubspot_defined or not prop.archivable:
        raise errors.validation(f"Property {prop.name} is HubSpot-defined and cannot be archived")
    if prop.archived:
        return
    prop.archived = True
    prop.archived_at = clock.now()
    prop.save(update_fields=["archived", "archived_at"])
    UniqueValue.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, property_name=prop.name).delete()


def property_json(schema: Schema, prop: PropertyDefinition) -> dict[str, Any]:
    """`Property` (crm-properties.json)."""
    data: dict[str, Any] = {
        "updatedAt": clock.iso(prop.updated_at),
        "createdAt": clock.iso(prop.created_at),
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": prop.field_type,
        "description": prop.description,
        "groupName": prop.group_name,
        "options": schema.options(prop),
        "displayOrder": prop.display_order,
        "calculated": prop.calculated,
        "externalOptions": prop.external_options,
        "hasUniqueValue": prop.has_unique_value,
        "hidden": prop.hidden,
        "hubspotDefined": prop.hubspot_defined,
        "modificationMetadata": {
            "archivable": prop.archivable,
            "readOnlyDefinition": prop.read_only_definition,
            "readOnlyValue": prop.read_only_value,
        },
        "formField": prop.form_field,
        "dataSensitivity": prop.extra.get("dataSensitivity", "non_sensitive"),
        "archived": prop.archived,
    }
    data.update({k: v for k, v in prop.extra.items() if k != "dataSensitivity"})
    if prop.archived_at is not None:
        data["archivedAt"] = clock.iso(prop.archived_at)
    return data


# ---- groups ------------------------------------------------------------------------------------------


def group_json(group: PropertyGroup) -> dict[str, Any]:
    """`PropertyGroup`."""
    return {"name": group.name, "label": group.label, "displayOrder": group.display_order, "archived": group.archived}


def create_group(schema: Schema, data: Any) -> PropertyGroup:
    """Create a property group from a `PropertyGroupCreate` body (409 if the name is taken)."""
    check_fields(data, ("name", "label", "displayOrder"), ("name", "label"), "property group")
    name = data["name"]
    if not isinstance(name, str) or not NAME.match(name) or len(name) > NAME_MAX:
        raise errors.validation("Names for property groups should be lowercase and have less than 100 characters")
    if PropertyGroup.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, name=name).exists():
        raise HubSpotError(
            409, "Property group already exists", category="OBJECT_ALREADY_EXISTS", context={"name": [name]}
        )
    return PropertyGroup.objects.create(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        name=name,
        label=_text(data, "label"),
        display_order=body_int(data, "displayOrder", -1),
    )


def update_group(group: PropertyGroup, data: Any) -> PropertyGroup:
    """Apply a `PropertyGroupUpdate` body."""
    check_fields(data, ("label", "displayOrder"), (), "property group update")
    if "label" in data:
        group.label = _text(data, "label")
    if "displayOrder" in data:
        group.display_order = body_int(data, "displayOrder", -1)
    group.save()
    return group


def delete_group(schema: Schema, group: PropertyGroup) -> None:
    """Delete an empty custom group (HubSpot-defined and non-empty groups are refused)."""
    if group.hubspot_defined:
        raise errors.validation(f"Property group {group.name} is HubSpot-defined and cannot be deleted")
    names = list(
        PropertyDefinition.objects.filter(
            hub_id=schema.hub_id, object_type_id=schema.type_id, group_name=group.name, archived=False
        ).values_list("name", flat=True)
    )
    if names:
        raise errors.validation(f"Property group {group.name} still holds properties: {', '.join(sorted(names))}")
    group.delete()
