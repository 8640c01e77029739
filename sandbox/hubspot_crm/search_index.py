"""The search index's view of records, with an optional per-portal lag.

HubSpot: "It may take a few moments for newly created or updated CRM objects to appear in search results"
(https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm, hubspot-api.md §2.2/§10.4).
With `PortalState.search_lag_seconds` = N > 0, a record created less than N seconds ago is invisible to
search, and a record updated less than N seconds ago is found (and shown) with the values it had before the
update, as the real index would. Lag 0 (the default) makes every write visible at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.hubspot_crm.models import CrmObject


def on_write(obj: CrmObject, previous: dict[str, str] | None, stamp: datetime, lag_seconds: float) -> None:
    """Update `obj`'s index fields for a write at `stamp`; `previous` is None for a new record."""
    if lag_seconds <= 0:
        obj.indexed_properties = dict(obj.properties)
        obj.index_due_at = stamp
        return
    if previous is None:
        obj.indexed_properties = None
    elif stamp >= obj.index_due_at:
        # The last write had been indexed: search keeps seeing that version until this one is due.
        obj.indexed_properties = dict(previous)
    obj.index_due_at = stamp + timedelta(seconds=lag_seconds)


def visible(obj: CrmObject, stamp: datetime) -> dict[str, str] | None:
    """The properties search sees at `stamp`, or None while the record is not indexed yet."""
    if stamp >= obj.index_due_at:
        return obj.properties
    return obj.indexed_properties


def flush(hub_id: int, stamp: datetime) -> int:
    """Index every pending write of the portal now; returns how many records were pending."""
    pending = list(CrmObject.objects.filter(hub_id=hub_id, index_due_at__gt=stamp))
    for obj in pending:
        obj.indexed_properties = dict(obj.properties)
        obj.index_due_at = stamp
    CrmObject.objects.bulk_update(pending, ["indexed_properties", "index_due_at"])
    return len(pending)
