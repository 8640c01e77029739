"""`hasUniqueValue` enforcement: one `UniqueValue` row per (portal, type, property, value) of a live record.

A write first looks for holders of its new values (so the error names the record that holds one), then
inserts its rows inside a savepoint; should another transaction win a race anyway, the database's unique
constraint turns that into the same error instead of a duplicate.
Unique properties: https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/guide (§3).
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot_crm import errors, registry
from sandbox.hubspot_crm.errors import Problem
from sandbox.hubspot_crm.models import CrmObject, UniqueValue
from sandbox.hubspot_crm.schema import Schema


def normalise(schema: Schema, name: str, value: str) -> str:
    """Contacts' email is unique case-insensitively; custom unique properties compare exactly."""
    return value.lower() if schema.type_id == registry.CONTACTS and name == "email" else value


def digest(schema: Schema, name: str, value: str) -> str:
    """The indexed form of a unique value."""
    return hashlib.sha256(normalise(schema, name, value).encode()).hexdigest()


def holder(schema: Schema, name: str, value: str) -> CrmObject | None:
    """The live record whose unique property `name` holds `value`."""
    row = (
        UniqueValue.objects.select_related("crm_object")
        .filter(
            hub_id=schema.hub_id,
            object_type_id=schema.type_id,
            property_name=name,
            digest=digest(schema, name, value),
        )
        .first()
    )
    return row.crm_object if row else None


def conflict(schema: Schema, name: str, value: str, existing_id: int) -> HubSpotError:
    """The error for a value another live record already holds."""
    if schema.type_id == registry.CONTACTS and name == "email":
        # HubSpot's own wording for contacts (hubspot-api.md §6.4 "Contact already exists. Existing ID: X").
        return HubSpotError(
            409,
            f"Contact already exists. Existing ID: {existing_id}",
            category="CONFLICT",
            context={"existingId": [str(existing_id)]},
        )
    problem = Problem(name, "INVALID_UNIQUE_VALUE", f"{value} already has that value on {schema.type_id} {existing_id}")
    exc = errors.invalid_properties([problem], schema.hub_id)
    exc.context = {"existingId": [str(existing_id)]}
    return exc


def check(schema: Schema, values: dict[str, str], own_id: int | None) -> None:
    """Raise if another live record holds one of the unique `values`."""
    for name in schema.unique_names():
        value = values.get(name)
        if value is None:
            continue
        other = holder(schema, name, value)
        if other is not None and other.object_id != own_id:
            raise conflict(schema, name, value, other.object_id)


def sync(schema: Schema, obj: CrmObject) -> None:
    """Make `obj`'s unique rows match its current properties (none once it is archived)."""
    wanted = {} if obj.archived else {n: obj.properties[n] for n in schema.unique_names() if n in obj.properties}
    existing = {row.property_name: row for row in UniqueValue.objects.filter(crm_object=obj)}
    for name, row in existing.items():
        if wanted.get(name) is None or row.digest != digest(schema, name, wanted[name]):
            row.delete()
    for name, value in wanted.items():
        row = existing.get(name)
        if row is not None and row.digest == digest(schema, name, value):
            continue
        _insert(schema, obj, name, value)


def _insert(schema: Schema, obj: CrmObject, name: str, value: str) -> None:
    row = UniqueValue(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        property_name=name,
        digest=digest(schema, name, value),
        value=value,
        crm_object=obj,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        other = holder(schema, name, value)
        raise conflict(schema, name, value, other.object_id if other else 0) from None
