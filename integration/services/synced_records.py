"""Bulk bookkeeping of SyncedRecord rows for the sync engine: one statement per batch, whatever its size."""

from __future__ import annotations

from collections.abc import Mapping

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
