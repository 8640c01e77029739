"""The engine's bulk bookkeeping statements store exactly what they were given (one JSON parameter per batch)."""

from __future__ import annotations

import datetime as dt

import pytest

from integration.models import SyncedRecord
from integration.services.synced_records import links_fingerprints_store, synced_records_upsert
from tests.factories import PortalFactory

pytestmark = pytest.mark.django_db

AWKWARD = 'Kund "AB" \\ 50% _åäö_ \' ;-- \u2028'


def _row(portal, kleer_id: str, **fields) -> SyncedRecord:
    values = {
        "portal_id": portal.pk,
        "object_type": "clients",
        "kleer_id": kleer_id,
        "hubspot_object": "companies",
        "hubspot_id": "",
        "fingerprint": "",
        "associations_fingerprint": "",
        "synced_values": {},
        "deleted_in_kleer": False,
        "last_synced_at": None,
    }
    return SyncedRecord(**{**values, **fields})


def test_upsert_inserts_then_updates_every_column_exactly():
    portal = PortalFactory()
    at = dt.datetime(2026, 12, 3, 7, 15, 30, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    synced_records_upsert(rows=[_row(portal, "1", hubspot_id="9001"), _row(portal, AWKWARD, hubspot_id="9002")])
    synced_records_upsert(
        rows=[
            _row(
                portal,
                AWKWARD,
                hubspot_id="9003",
                fingerprint="f" * 64,
                associations_fingerprint="a" * 64,
                synced_values={"name": AWKWARD, "phone": None, "nested": {"n": 1.5}},
                deleted_in_kleer=True,
                last_synced_at=at,
            )
        ]
    )
    rows = {r.kleer_id: r for r in SyncedRecord.objects.filter(portal=portal)}
    assert set(rows) == {"1", AWKWARD}
    assert (rows["1"].hubspot_id, rows["1"].last_synced_at, rows["1"].synced_values) == ("9001", None, {})
    updated = rows[AWKWARD]
    assert (updated.hubspot_id, updated.fingerprint, updated.associations_fingerprint) == ("9003", "f" * 64, "a" * 64)
    assert updated.synced_values == {"name": AWKWARD, "phone": None, "nested": {"n": 1.5}}
    assert (updated.deleted_in_kleer, updated.last_synced_at) == (True, at)


def test_links_fingerprints_store_sets_only_the_named_records_of_that_portal_and_type():
    portal, other = PortalFactory(), PortalFactory()
    synced_records_upsert(rows=[_row(portal, "1"), _row(portal, AWKWARD), _row(portal, "3"), _row(other, "1")])

    changed = links_fingerprints_store(portal_id=portal.pk, object_type="clients", prints={"1": "p1", AWKWARD: "p2"})

    assert changed == 2
    prints = dict(SyncedRecord.objects.filter(portal=portal).values_list("kleer_id", "associations_fingerprint"))
    assert prints == {"1": "p1", AWKWARD: "p2", "3": ""}
    assert SyncedRecord.objects.get(portal=other, kleer_id="1").associations_fingerprint == ""
