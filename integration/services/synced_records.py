"""Bulk bookkeeping of SyncedRecord rows for the sync engine: one statement per batch, whatever its size."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from django.db import connection

from integration.models import SyncedRecord


def links_fingerprints_store(*, portal_id: int, object_type: str, prints: Mapping[str, str]) -> int:
    """Set `associations_fingerprint` of the records named by Kleer id (`prints`: Kleer id → fingerprint).

    On PostgreSQL one `UPDATE … FROM unnest(…)` joins the pairs on the (portal, object type, Kleer id) unique
    index; Django's `bulk_update` would build a CASE with one branch per row, which is what made the engine slow
    (issue 15). Other databases take the `bulk_update`."""
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
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET associations_fingerprint = v.print "  # table: the model's; values: parameters
            "FROM unnest(%s::varchar[], %s::varchar[]) AS v(kleer_id, print) "
            "WHERE s.portal_id = %s AND s.object_type = %s AND s.kleer_id = v.kleer_id",
            [list(prints), list(prints.values()), portal_id, object_type],
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


def synced_records_upsert(*, rows: Sequence[SyncedRecord]) -> None:
    """Insert or update SyncedRecords by (portal, object type, Kleer id) in one statement.

    On PostgreSQL an `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` with one array parameter per
    column; Django's `bulk_create(update_conflicts=True)` binds one placeholder per value (a JSON field keeps it
    off its own unnest path), and preparing those was a third of the engine's time (issue 15)."""
    if not rows:
        return
    names = [name for name, _ in UPSERT_COLUMNS]
    if connection.vendor != "postgresql":
        SyncedRecord.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["portal", "object_type", "kleer_id"], update_fields=names[3:]
        )
        return
    arrays = [[getattr(row, name) for row in rows] for name in names]
    arrays[names.index("synced_values")] = [json.dumps(row.synced_values) for row in rows]
    casts = ", ".join(f"%s::{'text' if kind == 'jsonb' else kind}[]" for _, kind in UPSERT_COLUMNS)
    select = ", ".join(f"u.{name}::jsonb" if kind == "jsonb" else f"u.{name}" for name, kind in UPSERT_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[3:])
    table = SyncedRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "  # table and columns: ours; values: parameters
            f"FROM unnest({casts}) AS u({', '.join(names)}) "
            f"ON CONFLICT (portal_id, object_type, kleer_id) DO UPDATE SET {updates}",
            arrays,
        )
