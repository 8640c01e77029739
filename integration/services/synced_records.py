"""Bulk bookkeeping of SyncedRecord rows for the sync engine: one statement per batch, whatever its size."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from integration.models import SyncedRecord


@dataclass(slots=True)
class SyncedRow:
    """A SyncedRecord as the engine writes it after a batch: the columns `synced_records_upsert` stores, without a
    model instance's cost (building 100 models per batch was a tenth of the engine's time, issue 15)."""

    portal_id: int
    object_type: str
    kleer_id: str
    hubspot_object: str
    hubspot_id: str
    fingerprint: str
    associations_fingerprint: str
    synced_values: dict
    deleted_in_kleer: bool
    last_synced_at: datetime | None


SYNCED_ROW_FIELDS = tuple(SyncedRow.__dataclass_fields__)  # in SyncedRow's order: SyncedRow(*values_list(...))

# What the engine knows about a record's link: a row read from the database, or one it just wrote.
Synced = SyncedRecord | SyncedRow


def links_fingerprints_store(*, portal_id: int, object_type: str, prints: Mapping[str, str]) -> int:
    """Set `associations_fingerprint` of the records named by Kleer id (`prints`: Kleer id → fingerprint).

    On PostgreSQL one `UPDATE … FROM jsonb_to_recordset(…)` (one JSON parameter, see `synced_records_upsert`)
    joins the pairs on the (portal, object type, Kleer id) unique index; Django's `bulk_update` would build a CASE
    with one branch per row, which is what made the engine slow (issue 15). Other databases take the
    `bulk_update`."""
    if not prints:
        return 0
    if connection.vendor != "postgresql":
        rows = list(
            SyncedRecord.objects.filter(portal_id=portal_id, object_type=object_type, kleer_id__in=list(prints))
        )
        for row in rows:
            row.associations_fingerprint = prints[row.kleer_id]
        return SyncedRecord.objects.bulk_update(rows, ["associations_fingerprint"])
    table = SyncedRecord._meta.db_table
    pairs = json.dumps([{"kleer_id": k, "print": v} for k, v in prints.items()])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET associations_fingerprint = v.print "  # table: the model's; values: parameters
            "FROM jsonb_to_recordset(%s::jsonb) AS v(kleer_id varchar, print varchar) "
            "WHERE s.portal_id = %s AND s.object_type = %s AND s.kleer_id = v.kleer_id",
            [pairs, portal_id, object_type],
        )
        return cursor.rowcount


UPSERT_COLUMNS = (
    ("portal_id", "integer"),
    ("object_type", "varchar"),
    ("kleer_id", "varchar"),
    ("hubspot_object", "varchar"),
    ("hubspot_id", "varchar"),
    ("fingerprint", "varchar"),
    ("associations_fingerprint", "varchar"),
    ("synced_values", "jsonb"),
    ("deleted_in_kleer", "boolean"),
    ("last_synced_at", "timestamptz"),
)


def synced_records_upsert(*, rows: Sequence[Synced]) -> None:
    """Insert or update SyncedRecords by (portal, object type, Kleer id) in one statement.

    On PostgreSQL an `INSERT … SELECT FROM jsonb_to_recordset(…) ON CONFLICT DO UPDATE` with the rows as one
    JSON parameter: Django's `bulk_create(update_conflicts=True)` binds one placeholder per value, and with
    Django's client-side binding (psycopg's ClientCursor) even one array per column is quoted element by element
    into the SQL text, which was a quarter of the engine's time (issue 15); one JSON string is escaped once."""
    if not rows:
        return
    names = [name for name, _ in UPSERT_COLUMNS]
    if connection.vendor != "postgresql":
        models = [
            row if isinstance(row, SyncedRecord) else SyncedRecord(**{n: getattr(row, n) for n in names})
            for row in rows
        ]
        SyncedRecord.objects.bulk_create(
            models, update_conflicts=True, unique_fields=["portal", "object_type", "kleer_id"], update_fields=names[3:]
        )
        return
    values = json.dumps([{name: getattr(row, name) for name in names} for row in rows], default=_json_value)
    columns = ", ".join(names)
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[3:])
    table = SyncedRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # table and columns: ours; values: one parameter
            f"FROM jsonb_to_recordset(%s::jsonb) AS u({', '.join(f'{n} {k}' for n, k in UPSERT_COLUMNS)}) "
            f"ON CONFLICT (portal_id, object_type, kleer_id) DO UPDATE SET {updates}",
            [values],
        )


def _json_value(value: object) -> str:
    """Timestamps as ISO 8601 with their offset, which PostgreSQL reads back as the same instant."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a SyncedRecord column value")
