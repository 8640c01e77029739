"""Set-based batch upsert: a batch of 100 in a few queries instead of ~10 per input (associations: `bulk_edges`).

The per-input path (`objects.create` / `objects.update` in a savepoint per input) stays the reference behaviour.
These functions first check every input in Python against state read in one query per kind (holders of unique
values, products); only when every input would succeed do they write, with one statement per table. When any
input would fail (a bad value, a broken rule, a unique value held elsewhere) they write nothing and return None,
and the caller runs the per-input path, which answers exactly as before: per-input work happens only when
something fails. Callers hold the portal lock inside a transaction, and render the answer after releasing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.webhooks import events as webhook_events
from sandbox.hubspot_crm import (
    clock,
    objects,
    record_sql,
    registry,
    rules,
    search_index,
    serialize,
    sqlarrays,
    uniques,
)
from sandbox.hubspot_crm.models import CrmObject, PortalState, UniqueValue
from sandbox.hubspot_crm.schema import Schema


class Fallback(Exception):
    """Some input would fail: the caller runs the per-input path instead."""


@dataclass
class _Planned:
    obj: CrmObject
    previous: dict[str, str] | None  # None: a new record
    written: set[str]
    changed: bool


def write_upserts(schema: Schema, state: PortalState, inputs: Sequence[dict[str, Any]]) -> list[_Planned] | None:
    """Upsert every input (keyed on its `idProperty`) and return their plans in input order, or None (nothing
    written) when one of them would fail. `upsert_results` renders the answer once the portal lock is released."""
    try:
        plans = _plan_upserts(schema, state, inputs)
    except (Fallback, HubSpotError):
        return None
    _save(schema, state, plans)
    return plans


def upsert_results(schema: Schema, plans: Sequence[_Planned]) -> list[dict[str, Any]]:
    """The results of written upserts, in input order (`new`: the input created its record)."""
    return [{**serialize.record(plan.obj, schema), "new": plan.previous is None} for plan in plans]


def _plan_upserts(schema: Schema, state: PortalState, inputs: Sequence[dict[str, Any]]) -> list[_Planned]:
    stamp = clock.now()
    keys = []
    for item in inputs:
        name, value, props = item["idProperty"], str(item["id"]), item["properties"]
        if not isinstance(props, dict) or (name in props and str(props[name]) != value):
            raise Fallback
        keys.append((name, value))
    holders, checked = _holders(schema, keys)
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
    _check_uniques(schema, plans, holders, checked)
    return plans


@dataclass(frozen=True)
class _Checked:
    """The (property, digest) pairs a holders' query covered: every name with every digest it asked for."""

    names: frozenset[str]
    digests: frozenset[str]

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key[0] in self.names and key[1] in self.digests


def _holders(schema: Schema, keys: Sequence[tuple[str, str]]) -> tuple[dict[tuple[str, str], CrmObject], _Checked]:
    """(property, digest) → the live record holding that unique value, for every key (one query), and which
    pairs the query covered."""
    checked = _Checked(
        frozenset(name for name, _ in keys), frozenset(uniques.digest(schema, name, value) for name, value in keys)
    )
    if not keys:
        return {}, checked
    names = sorted(checked.names)
    rows = CrmObject.objects.raw(*_holders_sql(schema, names, sorted(checked.digests)))
    return {(row.held_name, row.held_digest): row for row in rows}, checked


# A holder's columns as `_holders` reads them: its history and search-index copy come as JSON text, decoded only
# for the records a batch changes (`_decode_documents`); an unchanged batch of 100 spent ~3 ms decoding them.
_DOCUMENTS = ("history", "indexed_properties")
_HOLDER_COLUMNS = ", ".join(
    [f"o.{field.column}" for field in CrmObject._meta.concrete_fields if field.name not in _DOCUMENTS]
    + [f"o.{name} AS {name}_json" for name in _DOCUMENTS]
)


def _decode_documents(obj: CrmObject) -> None:
    """Decode the documents `_holders` left as JSON text, as the model's fields decode them."""
    for name in _DOCUMENTS:
        field = CrmObject._meta.get_field(name)
        setattr(obj, name, field.from_db_value(getattr(obj, f"{name}_json"), None, connection))  # type: ignore[attr-defined]


def _holders_sql(schema: Schema, names: list[str], digests: list[str]) -> tuple[str, list[Any]]:
    """The holders' query: on PostgreSQL the digests travel as one array (Django's IN list of 100 cost more than
    the query) and are probed one by one (LATERAL, OFFSET 0: without statistics the planner filtered every unique
    value of the type instead)."""
    uniques_table, records_table = UniqueValue._meta.db_table, CrmObject._meta.db_table
    # Tables and placeholders are ours; values are parameters.
    held = f"u.hub_id = %s AND u.object_type_id = %s AND u.property_name IN ({', '.join(['%s'] * len(names))})"
    params = [schema.hub_id, schema.type_id, *names]
    select = f"SELECT {_HOLDER_COLUMNS}, u.property_name AS held_name, u.digest AS held_digest"
    if connection.vendor == "postgresql":
        lookup = f"SELECT * FROM {uniques_table} u WHERE {held} AND u.digest = d.digest OFFSET 0"
        return (
            f"{select} FROM unnest(%s::varchar[]) AS d(digest) CROSS JOIN LATERAL ({lookup}) u "
            f"JOIN {records_table} o ON o.id = u.crm_object_id",
            [sqlarrays.hex_array(digests), *params],
        )
    digest_sql, digest_params = sqlarrays.digest_of("u.digest", digests)
    return (
        f"{select} FROM {uniques_table} u JOIN {records_table} o ON o.id = u.crm_object_id "
        f"WHERE {held} AND {digest_sql}",
        [*params, *digest_params],
    )


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
    _decode_documents(obj)  # the write extends its history and may keep its search-index copy
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


def _check_uniques(
    schema: Schema, plans: Sequence[_Planned], holders: dict[tuple[str, str], CrmObject], checked: _Checked
) -> None:
    """Fall back when a new record's unique value is held by another record, in the portal or in the batch.
    Values the holders' query covered are answered by it (under the same lock); only others need a query, and
    a batch of new records keyed on their one unique property has none."""
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
    if any(key in holders for key in wanted if key in checked):
        raise Fallback
    unknown = {key: object_id for key, object_id in wanted.items() if key not in checked}
    if unknown and _holders_of(schema, unknown):
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
        record_sql.insert_created(schema, state, created)
    if updated:
        record_sql.update_changed(updated)
