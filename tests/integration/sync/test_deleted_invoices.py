"""Invoices deleted in Kleer (`disabled`): voided in HubSpot when they are there, never created when not."""

from __future__ import annotations

import pytest

from integration.catalog import transforms
from integration.clients.kleer import KleerClient
from integration.models import ObjectSync, SyncedRecord
from integration.services.sync import object_sync_run
from integration.sync.readers import history_start
from sandbox.hubspot_crm.selectors import object_by_property
from sandbox.kleer.testing import KleerApi

pytestmark = pytest.mark.django_db(transaction=True)


def run(world, object_type: str):
    return object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type=object_type).pk)


def test_a_deleted_invoice_is_skipped_if_never_synced_and_voided_if_it_was(world_factory, live_server):
    world = world_factory(clients=6, products=2, invoices=30, agreements=0, projects=0, enable=("clients", "invoices"))
    kleer = KleerClient(company_id=world.company_id, token=world.token)
    window = kleer.iter_invoices(date_from=history_start(world.portal))
    syncable = [r.id for r in window if transforms.invoice_is_syncable(r.data)]
    never, later = syncable[0], syncable[1]
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    assert api.control("PATCH", f"/record/invoice/{never}", {"disabled": True}).status_code == 200
    run(world, "clients")

    first = run(world, "invoices")

    assert object_by_property(world.hub_id, "invoices", "kleer_id", never) is None
    assert not SyncedRecord.objects.filter(object_type="invoices", kleer_id=never).exists()
    assert first.created == len(syncable) - 1
    assert first.read == first.created + first.skipped + first.failed
    before = object_by_property(world.hub_id, "invoices", "kleer_id", later)["properties"]["hs_invoice_status"]
    assert before in ("open", "paid")

    assert api.control("PATCH", f"/record/invoice/{later}", {"disabled": True}).status_code == 200
    second = run(world, "invoices")

    voided = object_by_property(world.hub_id, "invoices", "kleer_id", later)["properties"]
    assert voided["hs_invoice_status"] == "voided"
    assert (second.updated, second.created, second.skipped - first.skipped) == (1, 0, 0)
