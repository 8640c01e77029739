"""Writing CRM records: validate, apply the type's rules, keep unique values, history and the search index.

Callers hold the portal lock (`seed.lock_portal`) inside a transaction. Validation follows hubspot-api.md §10.4
(https://developers.hubspot.com/docs/api-reference/legacy/crm/using-object-apis): a property must exist and not
be read-only ("Property values were not valid" with PROPERTY_DOESNT_EXIST / READ_ONLY_VALUE), values are
coerced by type, an empty string clears a value, and `hasUniqueValue` values may not collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.hubspot.webhooks import events as webhook_events
from sandbox.hubspot_crm import associations, clock, errors, registry, rules, search_index, uniques, values
from sandbox.hubspot_crm.associations import Edge
from sandbox.hubspot_crm.errors import Problem
from sandbox.hubspot_crm.models import CrmObject, PortalState
from sandbox.hubspot_crm.schema import Schema

SYSTEM_SOURCE = "CALCULATED"


@dataclass(frozen=True)
class HistorySource:
    """Who wrote: the `sourceType` of the property history entries a write records (values the type's rules
    compute get CALCULATED), and the HubSpot user for edits made in HubSpot's UI (`updatedByUserId`)."""

    source_type: str = "API"
    user_id: int | None = None


API_WRITE = HistorySource()


def changes_from(schema: Schema, raw: Any, current: dict[str, str]) -> dict[str, str | None]:
    """The coerced writes of a `properties` object (None clears); 400 listing every bad property."""
    if not isinstance(raw, dict):
        raise errors.invalid_body("properties must be an object of property names to string values")
    problems: list[Problem] = []
    changes: dict[str, str | None] = {}
    for name, value in raw.items():
        prop = schema.props.get(name)
        if prop is None:
            problems.append(Problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
        elif prop.read_only_value:
            problems.append(
                Problem(name, "READ_ONLY_VALUE", f'Property "{name}" is read-only; its value cannot be set')
            )
        else:
            # Only enumerations read their options, which are rebuilt on each call (pipelines, stages).
            options = schema.option_values(prop) if prop.type == "enumeration" else []
            try:
                changes[name] = values.coerce(prop, value, options, current.get(name))
            except values.ValueProblem as exc:
                problems.append(Problem(name, exc.code, exc.message))
    if problems:
        raise errors.invalid_properties(problems, schema.hub_id)
    return changes


def merge_changes(current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def add_system(schema: Schema, merged: dict[str, str], object_id: int, created: datetime, stamp: datetime) -> None:
    for name, value in (
        ("hs_object_id", str(object_id)),
        ("createdate", clock.iso(created)),
        ("hs_createdate", clock.iso(created)),
        ("hs_lastmodifieddate", clock.iso(stamp)),
        ("lastmodifieddate", clock.iso(stamp)),
    ):
        if name in schema.props:
            merged[name] = value


def record_history(
    obj: CrmObject, before: dict[str, str], stamp: datetime, written: set[str], source: HistorySource = API_WRITE
) -> None:
    after, at = obj.properties, clock.iso(stamp)
    for name in before.keys() | after.keys():
        if before.get(name) == after.get(name):
            continue
        by_writer = name in written
        entry: dict[str, Any] = {
            "value": after.get(name, ""),
            "timestamp": at,
            "sourceType": source.source_type if by_writer else SYSTEM_SOURCE,
        }
        if by_writer and source.user_id is not None:
            entry["updatedByUserId"] = source.user_id
        obj.history[name] = [entry, *obj.history.get(name, [])]


def allocate_id(state: PortalState) -> int:
    """The next record id of the portal (ids are unique across all object types of a portal)."""
    object_id = state.next_object_id
    state.next_object_id += 1
    state.save(update_fields=["next_object_id"])
    return object_id


def create(schema: Schema, state: PortalState, raw: Any, raw_associations: Any = None) -> CrmObject:
    """Create a record from a create input (`properties`, optional inline `associations`)."""
    stamp = clock.now()
    changes = changes_from(schema, raw, {})
    edges_wanted = plan_inline(schema, raw_associations)
    object_id = allocate_id(state)
    merged = merge_changes({}, changes)
    rules.on_write(schema, merged, None, stamp, object_id)
    uniques.check(schema, merged, own_id=None)
    add_system(schema, merged, object_id, stamp, stamp)
    obj = CrmObject(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        object_id=object_id,
        properties=merged,
        history={},
        created_at=stamp,
        updated_at=stamp,
        index_due_at=stamp,
    )
    record_history(obj, {}, stamp, set(changes))
    search_index.on_write(obj, None, stamp, state.search_lag_seconds)
    obj.save()
    uniques.sync(schema, obj)
    for target, spec in edges_wanted:
        associations.create(Edge(obj, target, spec))
    rules.after_write(schema, obj, None)
    webhook_events.note_write(schema.type_id, object_id, {}, obj.properties, stamp, created=True)
    return obj


def update(
    schema: Schema, state: PortalState, obj: CrmObject, raw: Any, *, source: HistorySource = API_WRITE
) -> CrmObject:
    """Apply a `properties` object to a live record (a write that changes nothing leaves it untouched, and
    produces no webhook event: HubSpot sends none for a value set to what it already was)."""
    stamp = clock.now()
    previous = dict(obj.properties)
    changes = changes_from(schema, raw, previous)
    merged = merge_changes(previous, changes)
    rules.on_write(schema, merged, previous, stamp, obj.object_id)
    if merged == previous:
        return obj
    uniques.check(schema, merged, own_id=obj.object_id)
    add_system(schema, merged, obj.object_id, obj.created_at, stamp)
    obj.properties = merged
    obj.updated_at = stamp
    record_history(obj, previous, stamp, set(changes), source)
    search_index.on_write(obj, previous, stamp, state.search_lag_seconds)
    obj.save()
    uniques.sync(schema, obj)
    rules.after_write(schema, obj, previous)
    webhook_events.note_write(schema.type_id, obj.object_id, previous, obj.properties, stamp, created=False)
    return obj


def archive(schema: Schema, obj: CrmObject, *, merged: bool = False) -> None:
    """Move a live record to the recycling bin (its unique values and associations are released). A record
    merged into another is archived too, but its webhook event is the merge, not a deletion (fake's reading)."""
    rules.before_archive(schema, obj)
    obj.archived = True
    obj.archived_at = clock.now()
    obj.save(update_fields=["archived", "archived_at"])
    uniques.sync(schema, obj)
    associations.remove_all_of(obj)
    if not merged:
        webhook_events.note_deletion(schema.type_id, obj.object_id, obj.archived_at)


def plan_inline(schema: Schema, raw: Any) -> list[tuple[CrmObject, registry.AssociationTypeSpec]]:
    """Resolve a create input's `associations` ([{to: {id}, types: [...]}]) to (target, type) pairs."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise errors.invalid_body("associations must be an array")
    planned = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("to"), dict)
            or not isinstance(item.get("types"), list)
        ):
            raise errors.invalid_body("each association needs to: {id} and types: [...]")
        for association_type in item["types"]:
            spec = _inline_spec(schema, association_type)
            target = associations.live(schema.hub_id, spec.to_type, item["to"].get("id"))
            if target is None:
                raise associations.missing(spec.to_type, item["to"].get("id"))
            planned.append((target, spec))
    return planned


def _inline_spec(schema: Schema, raw: Any) -> registry.AssociationTypeSpec:
    if not isinstance(raw, dict):
        raise errors.invalid_body("types must hold {associationCategory, associationTypeId} objects")
    category, type_id = raw.get("associationCategory"), raw.get("associationTypeId")
    associations.refuse_products(schema.type_id)
    spec = registry.association_type(schema.type_id, type_id) if category == "HUBSPOT_DEFINED" else None
    if spec is None:
        raise errors.validation(
            f"{category} association type {type_id} is not valid from {schema.type_id}",
            context={"associationTypeId": [str(type_id)]},
        )
    associations.refuse_products(spec.to_type)
    return spec


def find(schema: Schema, object_id: Any, *, archived: bool = False) -> CrmObject | None:
    """The record with id `object_id` (live ones, or only archived ones when `archived`)."""
    try:
        number = int(str(object_id))
    except ValueError:
        return None
    return CrmObject.objects.filter(
        hub_id=schema.hub_id, object_type_id=schema.type_id, object_id=number, archived=archived
    ).first()


def find_by(
    schema: Schema, id_property: str | None, value: Any, *, action: str, archived: bool = False
) -> CrmObject | None:
    """The record addressed by `value`: its id, or the value of the unique property `id_property`."""
    if not id_property:
        return find(schema, value, archived=archived)
    prop = schema.props.get(id_property)
    if prop is None or not prop.has_unique_value:
        raise errors.non_unique_id_property(schema.type_id, id_property, action)
    if archived:
        rows = CrmObject.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, archived=True)
        return next((obj for obj in rows if obj.properties.get(id_property) == str(value)), None)
    return uniques.holder(schema, id_property, str(value))


MERGEABLE = (registry.COMPANIES, registry.CONTACTS, registry.DEALS, registry.PROJECTS)


def merge(schema: Schema, state: PortalState, primary: CrmObject, other: CrmObject) -> CrmObject:
    """Merge `other` into `primary` (crm-companies.json `merge`): `other` is archived, its associations move to
    `primary`, and values `primary` lacks are copied over (fake's choice: the primary's values win)."""
    if schema.type_id not in MERGEABLE:
        raise errors.validation(f"Records of type {schema.type_id} cannot be merged")
    if primary.object_id == other.object_id:
        raise errors.validation("A record cannot be merged into itself")
    fill = {
        name: value
        for name, value in other.properties.items()
        if name not in primary.properties and name in schema.props and not schema.props[name].read_only_value
    }
    moved = [
        (edge.to_type_id, edge.to_id, edge.type_id)
        for edge in associations.edges_from(schema.hub_id, other.object_id)
        if edge.to_id != primary.object_id
    ]
    archive(schema, other, merged=True)
    primary = update(schema, state, primary, fill)
    webhook_events.note_merge(schema.type_id, primary.object_id, other.object_id, len(fill), other.archived_at)
    for to_type, to_id, type_id in moved:
        target = associations.live(schema.hub_id, to_type, to_id)
        spec = registry.association_type(schema.type_id, type_id)
        if target is not None and spec is not None:
            associations.create(Edge(primary, target, spec))
    return primary
