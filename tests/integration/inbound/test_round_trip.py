"""Two-way sync end to end with the fake HubSpot delivering its own webhooks: a user's edit in HubSpot reaches
Kleer exactly once, whatever HubSpot's delivery does (duplicates, reordering), and nothing echoes back."""

from __future__ import annotations

import pytest

from integration.clients.kleer import KleerClient
from integration.models import InboundEvent, SyncedRecord
from sandbox.hubspot.webhooks import faults as webhook_faults
from sandbox.hubspot.webhooks.config import webhooks_configure
from sandbox.hubspot.webhooks.delivery import webhooks_deliver
from sandbox.hubspot_crm.user_edits import user_edit
from sandbox.kleer.testing import KleerApi
from tests.integration.inbound.conftest import run

pytestmark = pytest.mark.django_db(transaction=True)
SUBSCRIBED = ("name", "phone", "city", "zip", "kleer_payment_days")


def webhooks_deployed(target: str) -> None:
    """What `hs project upload` of the app's webhooks component does, for the properties these tests edit."""
    crm_objects = [
        {"subscriptionType": "object.propertyChange", "objectType": "company", "propertyName": p, "active": True}
        for p in SUBSCRIBED
    ]
    webhooks_configure(
        {
            "uid": "kleer_webhooks",
            "type": "webhooks",
            "config": {
                "settings": {"targetUrl": target, "maxConcurrentRequests": 10},
                "subscriptions": {"crmObjects": crm_objects, "legacyCrmObjects": [], "hubEvents": []},
            },
        }
    )


@pytest.fixture
def world(world_factory, sandbox_urls):
    world = world_factory(clients=3, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    assert run(world).created == 3
    webhooks_deployed(f"{sandbox_urls}/hubspot/webhooks")
    return world


def linked(world) -> SyncedRecord:
    return SyncedRecord.objects.filter(portal=world.portal, object_type="clients").order_by("kleer_id").first()


def kleer_client(world, kleer_id: str) -> dict:
    return KleerClient(company_id=world.company_id, token=world.token).get("client", kleer_id)


def kleer_writes(world, live_server) -> int:
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    return sum(r["method"] == "POST" for r in api.requests_log())


def test_a_user_edit_in_hubspot_reaches_kleer_and_the_round_trip_ends_with_zero_writes(world, live_server):
    record = linked(world)
    user_edit(world.hub_id, "companies", record.hubspot_id, {"phone": "+46 31 700 00 00", "kleer_payment_days": "45"})

    report = webhooks_deliver(world.hub_id)

    assert (report.delivered, report.failed) == (2, 0)
    client = kleer_client(world, record.kleer_id)
    assert (client["phone"], client["payment-days"]) == ("+46 31 700 00 00", 45)
    assert kleer_writes(world, live_server) == 1
    assert list(InboundEvent.objects.values_list("status", "change_source")) == [("processed", "CRM_UI")] * 2
    after = run(world)  # Kleer → HubSpot: nothing changed on either side any more
    assert (after.updated, after.created, after.hubspot_calls) == (0, 0, 0)
    assert webhooks_deliver(world.hub_id).requests == 0  # and nothing for HubSpot to report back


@pytest.mark.concurrent_db  # the fake delivers up to 10 requests at once
def test_duplicated_and_reordered_deliveries_have_exactly_one_effect(world, live_server):
    record = linked(world)
    webhook_faults.faults_set({"duplicate": 4, "reorder": True, "batch_size": 1})
    user_edit(world.hub_id, "companies", record.hubspot_id, {"phone": "1"})
    user_edit(world.hub_id, "companies", record.hubspot_id, {"phone": "2", "city": "Luleå"})

    report = webhooks_deliver(world.hub_id)

    assert report.failed == 0 and report.requests >= 6
    assert InboundEvent.objects.count() == 3  # three distinct events, each stored once
    client = kleer_client(world, record.kleer_id)
    assert (client["phone"], client["address"]["state"]) == ("2", "Luleå")  # the current values, never "1"
    writes = kleer_writes(world, live_server)
    assert 1 <= writes <= 3  # at most one write per delivered batch, each with the record's current values
    assert run(world).hubspot_calls == 0


def test_our_own_writes_come_back_as_events_and_are_ignored(world, live_server):
    record = linked(world)
    KleerClient(company_id=world.company_id, token=world.token).update("client", record.kleer_id, {"phone": "K"})
    before = kleer_writes(world, live_server)

    assert run(world).updated == 1  # the app writes the new phone to HubSpot...
    report = webhooks_deliver(world.hub_id)  # ...and HubSpot tells the app about it

    assert report.delivered == 1
    echo = InboundEvent.objects.get()
    assert (echo.status, echo.change_source, echo.error) == (
        "ignored",
        "INTEGRATION",
        "an echo of the app's own write to HubSpot",
    )
    assert kleer_writes(world, live_server) == before
