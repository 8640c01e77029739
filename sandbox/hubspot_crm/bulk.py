"""Set-based batch writes: a batch upsert or association create in a few queries instead of ~10 per input.

The per-input paths (`objects.create` / `objects.update` in a savepoint per input, `associations.create` per
pair) stay the reference behaviour. These functions first check every input in Python against state read in
one query per kind (holders of unique values, products, live records, line items' parents); only when every
input would succeed do they write, with one `bulk_create` / `bulk_update` per table. When any input would fail
(a bad value, a broken rule, a unique value held elsewhere, a missing record, a second parent) they write
nothing and return None, and the caller runs the per-input path, which answers exactly as before: per-input
work happens only when something fails. Callers hold the portal lock inside a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.webhooks import events as webhook_events
from sandbox.hubspot_crm import associations, clock, objects, registry, rules, search_index, serialize, uniques
from sandbox.hubspot_crm.models import Association, CrmObject, PortalState, UniqueValue
from sandbox.hubspot_crm.registry import AssociationTypeSpec, ObjectTypeSpec
from sandbox.hubspot_crm.schema import Schema

SAVED_FIELDS = ["properties", "history", "indexed_properties", "index_due_at", "updated_at"]


class Fallback(Exception):
    """Some input would fail: the caller runs the per-input path instead."""


@dataclass
class _Planned:
    obj: CrmObject
    previous: dict[str, str] | None  # None: a new record
    written: set[str]
    changed: bool


def upsert_many(schema: Schema, state: PortalState, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Upsert every input (keyed on its `idProperty`) and return their results in input order, or None (nothing
    written) when one of them would fail."""
    try:
        plans = _plan_upserts(schema, state, inputs)
    except (Fallback, HubSpotError):
        return None
    _save(schema, state, plans)
    return [{**serialize.record(plan.obj, schema), "new": plan.previous is None} for plan in plans]


def _plan_upserts(schema: Schema, state: PortalState, inputs: Sequence[dict[str, Any]]) -> list[_Planned]:
    stamp = clock.now()
    keys = []
    for item in inputs:
        name, value, props = item["idProperty"], str(item["id"]), item["properties"]
        if not isinstance(props, dict) or (name in props and str(props[name]) != value):
            raise Fallback
        keys.append((name, value))
    holders = _holders(schema, keys)
    products = _products(schema, inputs)
    plans: list[_Planned] = []
    next_id = state.next_object_id
    for item, (name, value) in zip(inputs, keys, strict=True):
        existing = holders.get((name, uniques.digest(schema, name, value)))
        if existing is None:
            plans.append(_plan_create(schema, {**item["properties"], name: value}, next_id, stamp, products))
            next_id += 1
        else:
            plans.append(_plan_update(schema, existing, item["properties"], stamp, products))
    _check_uniques(schema, plans)
    return plans


def _holders(schema: Schema, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CrmObject]:
    """(property, digest) → the live record holding that unique value, for every key (one query)."""
    rows = UniqueValue.objects.select_related("crm_object").filter(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        property_name__in={name for name, _ in keys},
        digest__in={uniques.digest(schema, name, value) for name, value in keys},
    )
    return {(row.property_name, row.digest): row.crm_object for row in rows}


def _products(schema: Schema, inputs: Sequence[dict[str, Any]]) -> dict[str, CrmObject]:
    """The live products line item inputs name in `hs_product_id` (one query), for `rules.on_write`."""
    if schema.type_id != registry.LINE_ITEMS:
        return {}
    wanted = {str(item["properties"].get("hs_product_id") or "") for item in inputs} - {""}
    numbers = [int(value) for value in wanted if value.isdigit()]
    rows = CrmObject.objects.filter(
        hub_id=schema.hub_id, object_type_id=registry.PRODUCTS, object_id__in=numbers, archived=False
    )
    return {str(row.object_id): row for row in rows}


def _plan_create(
    schema: Schema, raw: dict[str, Any], object_id: int, stamp: datetime, products: dict[str, CrmObject]
) -> _Planned:
    changes = objects.changes_from(schema, raw, {})
    merged = objects.merge_changes({}, changes)
    rules.on_write(schema, merged, None, stamp, object_id, products=products)
    objects.add_system(schema, merged, object_id, stamp, stamp)
    _after_write_free(schema, merged, None)
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
    return _Planned(obj, None, set(changes), True)


def _plan_update(
    schema: Schema, obj: CrmObject, raw: dict[str, Any], stamp: datetime, products: dict[str, CrmObject]
) -> _Planned:
    previous = dict(obj.properties)
    changes = objects.changes_from(schema, raw, previous)
    merged = objects.merge_changes(previous, changes)
    rules.on_write(schema, merged, previous, stamp, obj.object_id, products=products)
    if merged == previous:
        return _Planned(obj, previous, set(changes), False)
    if any(merged.get(name) != previous.get(name) for name in schema.unique_names()):
        raise Fallback  # a changed unique value: the per-input path moves its UniqueValue rows
    objects.add_system(schema, merged, obj.object_id, obj.created_at, stamp)
    _after_write_free(schema, merged, previous)
    obj.properties = merged
    obj.updated_at = stamp
    return _Planned(obj, previous, set(changes), True)


def _after_write_free(schema: Schema, merged: dict[str, str], previous: dict[str, str] | None) -> None:
    """`rules.after_write` reads associations only when an invoice turns open; such batches go per input."""
    if schema.type_id != registry.INVOICES:
        return
    opening = merged.get("hs_invoice_status") == "open" and (previous or {}).get("hs_invoice_status") != "open"
    if opening and merged.get("hs_invoice_billable") == "true":
        raise Fallback


def _check_uniques(schema: Schema, plans: Sequence[_Planned]) -> None:
    """Fall back when a new record's unique value is held by another record, in the portal or in the batch."""
    wanted: dict[tuple[str, str], int] = {}
    for plan in plans:
        if plan.previous is not None:
            continue  # an update keeps its unique values (`_plan_update`)
        for name in schema.unique_names():
            value = plan.obj.properties.get(name)
            if value is None:
                continue
            key = (name, uniques.digest(schema, name, value))
            if key in wanted:
                raise Fallback
            wanted[key] = plan.obj.object_id
    if wanted and _holders_of(schema, wanted):
        raise Fallback


def _holders_of(schema: Schema, wanted: dict[tuple[str, str], int]) -> bool:
    rows = UniqueValue.objects.filter(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        property_name__in={name for name, _ in wanted},
        digest__in={digest for _, digest in wanted},
    ).values_list("property_name", "digest")
    return any(tuple(row) in wanted for row in rows)


def _save(schema: Schema, state: PortalState, plans: Sequence[_Planned]) -> None:
    """History, search index and webhook notes per record (no queries); then one write per table."""
    created, updated = [], []
    for plan in plans:
        if not plan.changed:
            continue
        obj, before = plan.obj, plan.previous or {}
        objects.record_history(obj, before, obj.updated_at, plan.written)
        search_index.on_write(obj, plan.previous, obj.updated_at, state.search_lag_seconds)
        (created if plan.previous is None else updated).append(obj)
        webhook_events.note_write(
            schema.type_id, obj.object_id, before, obj.properties, obj.updated_at, created=plan.previous is None
        )
    if created:
        state.next_object_id = max(obj.object_id for obj in created) + 1
        state.save(update_fields=["next_object_id"])
        _insert_records(created)
        UniqueValue.objects.bulk_create(
            UniqueValue(
                hub_id=schema.hub_id,
                object_type_id=schema.type_id,
                property_name=name,
                digest=uniques.digest(schema, name, obj.properties[name]),
                value=obj.properties[name],
                crm_object=obj,
            )
            for obj in created
            for name in schema.unique_names()
            if name in obj.properties
        )
    if updated:
        _update_records(updated)


def _insert_records(rows: Sequence[CrmObject]) -> None:
    """Insert new records in one statement and set their primary keys. On PostgreSQL the rows travel as one JSON
    document: `bulk_create` sends text arrays, which escape every quote inside the JSON values."""
    if connection.vendor != "postgresql":
        CrmObject.objects.bulk_create(rows)
        return
    document = json.dumps(
        [
            {
                "hub_id": row.hub_id,
                "object_type_id": row.object_type_id,
                "object_id": row.object_id,
                "properties": row.properties,
                "history": row.history,
                "indexed": row.indexed_properties,
                "due": row.index_due_at.isoformat(),
                "created": row.created_at.isoformat(),
                "updated": row.updated_at.isoformat(),
            }
            for row in rows
        ]
    )
    table = CrmObject._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hub_id, object_type_id, object_id, properties, history, indexed_properties, "
            "index_due_at, archived, created_at, updated_at) "  # table: the model's
            "SELECT hub_id, object_type_id, object_id, properties, history, indexed, due, false, created, updated "
            "FROM jsonb_to_recordset(%s::jsonb) AS u(hub_id bigint, object_type_id varchar, object_id bigint, "
            "properties jsonb, history jsonb, indexed jsonb, due timestamptz, created timestamptz, "
            "updated timestamptz) "
            "RETURNING id, object_id",
            [document],
        )
        ids = dict((object_id, pk) for pk, object_id in cursor.fetchall())
    for row in rows:
        row.pk = ids[row.object_id]
        row._state.adding = False


def _update_records(rows: Sequence[CrmObject]) -> None:
    """Save the changed fields of `rows` in one statement. Django's `bulk_update` builds a CASE with a branch per
    row and field, which cost more than the rest of a batch; PostgreSQL gets one `UPDATE … FROM unnest(…)`."""
    if connection.vendor != "postgresql":
        CrmObject.objects.bulk_update(rows, SAVED_FIELDS)
        return
    table = CrmObject._meta.db_table
    # One JSON document, not one array per column: a text array escapes every quote inside the JSON values.
    document = json.dumps(
        [
            {
                "id": row.pk,
                "properties": row.properties,
                "history": row.history,
                "indexed": row.indexed_properties,
                "due": row.index_due_at.isoformat(),
                "updated": row.updated_at.isoformat(),
            }
            for row in rows
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS o SET properties = u.properties, history = u.history, "  # table: the model's
            "indexed_properties = u.indexed, index_due_at = u.due, updated_at = u.updated "
            "FROM jsonb_to_recordset(%s::jsonb) "
            "AS u(id bigint, properties jsonb, history jsonb, indexed jsonb, due timestamptz, updated timestamptz) "
            "WHERE o.id = u.id",
            [document],
        )


# -- associations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairInput:
    """One `batch/create` input, parsed: the two record ids and the association types asked for."""

    from_id: Any
    to_id: Any
    specs: tuple[AssociationTypeSpec, ...]


def associate_many(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, pairs: Sequence[PairInput]
) -> list[tuple[CrmObject, CrmObject]] | None:
    """Create every pair's associations (and their inverses) and return the (source, target) records in input
    order, or None (nothing written) when one input would fail."""
    sources = _live_by_id(hub_id, source.type_id, [p.from_id for p in pairs])
    targets = _live_by_id(hub_id, target.type_id, [p.to_id for p in pairs])
    if len({(str(p.from_id), str(p.to_id)) for p in pairs}) != len(pairs):
        return None  # a pair named twice: its labels are answered as they stand after each input
    found = []
    for item in pairs:
        a, b = sources.get(str(item.from_id)), targets.get(str(item.to_id))
        if a is None or b is None:
            return None
        found.append((a, b))
    if associations.SINGLE_PARENT_STRICT and not _single_parents(hub_id, source, target, found):
        return None
    rows = [
        row
        for (a, b), item in zip(found, pairs, strict=True)
        for spec in item.specs
        for row in associations.rows(a, b, spec)
    ]
    _insert_edges(rows)
    return found


EDGE_COLUMNS = (
    ("hub_id", "bigint"), ("from_type_id", "varchar"), ("from_id", "bigint"), ("to_type_id", "varchar"),
    ("to_id", "bigint"), ("type_id", "integer"), ("category", "varchar"), ("label", "varchar"),
)  # fmt: skip


def _insert_edges(rows: Sequence[Association]) -> None:
    """Store new edges, leaving those that exist. On PostgreSQL the rows travel as one JSON parameter: Django's
    `bulk_create` prepares each of 4,000 rows' values in Python, which was most of a 2,000-pair call's time."""
    if connection.vendor != "postgresql":
        Association.objects.bulk_create(rows, ignore_conflicts=True)
        return
    names = [name for name, _ in EDGE_COLUMNS]
    values = json.dumps([{name: getattr(row, name) for name in names} for row in rows])
    columns = ", ".join(names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Association._meta.db_table} ({columns}, created_at) "  # ours; values: one parameter
            f"SELECT {columns}, %s FROM jsonb_to_recordset(%s::jsonb) "
            f"AS u({', '.join(f'{n} {k}' for n, k in EDGE_COLUMNS)}) ON CONFLICT DO NOTHING",
            [timezone.now(), values],
        )


def _live_by_id(hub_id: int, type_id: str, raw_ids: Sequence[Any]) -> dict[str, CrmObject]:
    numbers = set()
    for raw in raw_ids:
        try:
            numbers.add(int(str(raw)))
        except ValueError:
            continue
    rows = CrmObject.objects.filter(hub_id=hub_id, object_type_id=type_id, object_id__in=numbers, archived=False)
    # An association needs the records' identity only: their three JSON documents, decoded for 2,000 records a
    # call, were most of the call's time.
    rows = rows.only("id", "hub_id", "object_type_id", "object_id")
    by_number = {row.object_id: row for row in rows}
    result = {}
    for raw in raw_ids:
        try:
            row = by_number.get(int(str(raw)))
        except ValueError:
            continue
        if row is not None:
            result[str(raw)] = row
    return result


def _single_parents(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, found: Sequence[tuple[CrmObject, CrmObject]]
) -> bool:
    """False when an edge would give a line item a second parent (`associations.check_single_parent`)."""
    if source.type_id == registry.LINE_ITEMS and target.type_id in registry.LINE_ITEM_PARENTS:
        edges = [(a, b) for a, b in found]
    elif target.type_id == registry.LINE_ITEMS and source.type_id in registry.LINE_ITEM_PARENTS:
        edges = [(b, a) for a, b in found]
    else:
        return True
    parent_of: dict[int, int] = {}
    for line_item, parent in edges:
        if parent_of.setdefault(line_item.object_id, parent.object_id) != parent.object_id:
            return False
    existing = Association.objects.filter(
        hub_id=hub_id, from_id__in=list(parent_of), to_type_id__in=registry.LINE_ITEM_PARENTS
    ).values_list("from_id", "to_id")
    return all(parent_of[from_id] == to_id for from_id, to_id in existing)


def labels_of(hub_id: int, found: Sequence[tuple[CrmObject, CrmObject]]) -> dict[tuple[int, int], list[str]]:
    """`associations.labels_json` of every pair, in one query."""
    wanted = {(a.object_id, b.object_id) for a, b in found}
    rows = (
        Association.objects.filter(hub_id=hub_id, from_id__in={a for a, _ in wanted}, to_id__in={b for _, b in wanted})
        .exclude(label="")
        .values_list("from_id", "to_id", "label")
    )
    labels: dict[tuple[int, int], set[str]] = {}
    for from_id, to_id, label in rows:
        if (from_id, to_id) in wanted and label:
            labels.setdefault((from_id, to_id), set()).add(label)
    return {pair: sorted(values) for pair, values in labels.items()}
