"""The writes of a set-based batch upsert (`bulk`): new records with their unique values, and changed records.

On PostgreSQL each is one statement whose rows travel as one JSON document: Django's `bulk_create` and
`bulk_update` prepare every value of every row in Python (and send text arrays, which escape every quote inside
the JSON values), and a CASE branch per row and field, which cost more than the rest of a batch. Other databases
get the ORM's bulk operations. Callers hold the portal lock inside a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection

from sandbox.hubspot_crm import uniques
from sandbox.hubspot_crm.models import CrmObject, PortalState, UniqueValue
from sandbox.hubspot_crm.schema import Schema

SAVED_FIELDS = ["properties", "history", "indexed_properties", "index_due_at", "updated_at"]
RECORDS = CrmObject._meta.db_table
UNIQUES = UniqueValue._meta.db_table
STATES = PortalState._meta.db_table

# The portal's id counter, the records and their unique values in one statement: the unique values take their
# record's primary key from the records' RETURNING, in the order the rows are listed.
INSERT_CREATED_SQL = f"""
WITH counter AS (
    UPDATE {STATES} SET next_object_id = %(next_id)s WHERE id = %(state)s
), records AS (
    INSERT INTO {RECORDS} (hub_id, object_type_id, object_id, properties, history, indexed_properties,
        index_due_at, archived, created_at, updated_at)
    SELECT hub_id, object_type_id, object_id, properties, history, CASE WHEN same THEN properties ELSE indexed END,
        due, false, created, updated
    FROM jsonb_to_recordset(%(records)s::jsonb) AS u(hub_id bigint, object_type_id varchar, object_id bigint,
        properties jsonb, history jsonb, indexed jsonb, same boolean, due timestamptz, created timestamptz,
        updated timestamptz)
    RETURNING id, object_id
), unique_values AS (
    INSERT INTO {UNIQUES} (hub_id, object_type_id, property_name, digest, value, crm_object_id)
    SELECT %(hub)s, %(type)s, v.name, v.digest, v.value, r.id
    FROM jsonb_to_recordset(%(uniques)s::jsonb) AS v(n int, object_id bigint, name varchar, digest varchar, value text)
    JOIN records r ON r.object_id = v.object_id
    ORDER BY v.n
)
SELECT id, object_id FROM records
"""


@contextmanager
def server_bound_cursor() -> Iterator[Any]:
    """A PostgreSQL cursor whose parameters travel apart from the SQL (psycopg's server-side binding). Django's
    cursors bind on the client, which escapes and copies a 170 kB JSON document into the statement (~2 ms of a
    100-record batch, under the portal lock). Wrapped as Django wraps its own, so the statement is counted and
    logged as usual."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor


def insert_created(schema: Schema, state: PortalState, rows: Sequence[CrmObject]) -> None:
    """Save the portal's id counter (`state.next_object_id`), insert the new records with the unique values they
    hold, and set the records' primary keys."""
    held = [(row, name) for row in rows for name in schema.unique_names() if name in row.properties]
    if connection.vendor != "postgresql":
        state.save(update_fields=["next_object_id"])
        CrmObject.objects.bulk_create(rows)
        UniqueValue.objects.bulk_create(_unique_value(schema, row, name) for row, name in held)
        return
    values = [
        {
            "n": n,
            "object_id": row.object_id,
            "name": name,
            "digest": uniques.digest(schema, name, row.properties[name]),
            "value": row.properties[name],
        }
        for n, (row, name) in enumerate(held)
    ]
    params = {
        "next_id": state.next_object_id,
        "state": state.pk,
        "records": json.dumps([_created_json(row) for row in rows]),
        "hub": schema.hub_id,
        "type": schema.type_id,
        "uniques": json.dumps(values),
    }
    with server_bound_cursor() as cursor:
        cursor.execute(INSERT_CREATED_SQL, params)
        ids = dict((object_id, pk) for pk, object_id in cursor.fetchall())
    for row in rows:
        row.pk = ids[row.object_id]
        row._state.adding = False


def _unique_value(schema: Schema, row: CrmObject, name: str) -> UniqueValue:
    value = row.properties[name]
    return UniqueValue(
        hub_id=schema.hub_id,
        object_type_id=schema.type_id,
        property_name=name,
        digest=uniques.digest(schema, name, value),
        value=value,
        crm_object=row,
    )


def _indexed(row: CrmObject) -> dict[str, object]:
    """The search index's copy of a row: `same` when it is the properties themselves (no search lag), which then
    travel once instead of twice."""
    same = row.indexed_properties == row.properties
    return {"indexed": None if same else row.indexed_properties, "same": same}


def _created_json(row: CrmObject) -> dict[str, object]:
    return {
        "hub_id": row.hub_id,
        "object_type_id": row.object_type_id,
        "object_id": row.object_id,
        "properties": row.properties,
        "history": row.history,
        **_indexed(row),
        "due": row.index_due_at.isoformat(),
        "created": row.created_at.isoformat(),
        "updated": row.updated_at.isoformat(),
    }


# One JSON document, not one array per column: a text array escapes every quote inside the JSON values.
UPDATE_CHANGED_SQL = f"""
UPDATE {RECORDS} AS o SET properties = u.properties, history = u.history,
    indexed_properties = CASE WHEN u.same THEN u.properties ELSE u.indexed END, index_due_at = u.due,
    updated_at = u.updated
FROM jsonb_to_recordset(%s::jsonb) AS u(id bigint, properties jsonb, history jsonb, indexed jsonb, same boolean,
    due timestamptz, updated timestamptz)
WHERE o.id = u.id
"""


def update_changed(rows: Sequence[CrmObject]) -> None:
    """Save the changed fields of `rows` in one statement."""
    if connection.vendor != "postgresql":
        CrmObject.objects.bulk_update(rows, SAVED_FIELDS)
        return
    document = json.dumps(
        [
            {
                "id": row.pk,
                "properties": row.properties,
                "history": row.history,
                **_indexed(row),
                "due": row.index_due_at.isoformat(),
                "updated": row.updated_at.isoformat(),
            }
            for row in rows
        ]
    )
    with server_bound_cursor() as cursor:
        cursor.execute(UPDATE_CHANGED_SQL, [document])
