"""HubSpot → Kleer over real HTTP: signed webhook batches in, exactly-once Kleer writes out, no echoes."""

from __future__ import annotations

import pytest

from integration.clients.kleer import KleerClient
from integration.models import AuditEvent, HubSpotInstallation, InboundEvent, ObjectSync, RecordError, SyncedRecord
from sandbox.kleer.testing import KleerApi
from tests.integration.inbound.conftest import company_of, event, hubspot_edit, run

pytestmark = pytest.mark.django_db(transaction=True)


def synced_world(world_factory, clients: int = 3):
    world = world_factory(clients=clients, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    first = run(world)
    assert first.created == clients
    return world


def kleer_client(world, kleer_id: str) -> dict:
    return KleerClient(company_id=world.company_id, token=world.token).get("client", kleer_id)


def kleer_updates(world, live_server, kleer_id: str) -> int:
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    return sum(r["method"] == "POST" and r["path"].endswith(f"/client/{kleer_id}") for r in api.requests_log())


def first_linked(world) -> SyncedRecord:
    return SyncedRecord.objects.filter(portal=world.portal, object_type="clients").order_by("kleer_id").first()


def test_a_hubspot_edit_reaches_kleer_and_the_round_trip_ends_with_zero_writes(world_factory, hook, live_server):
    world = synced_world(world_factory)
    linked = first_linked(world)
    hubspot_edit(world, "companies", linked.hubspot_id, {"phone": "+46 8 555 01 01", "city": "Västerås"})

    response = hook.deliver(
        [
            event(world.hub_id, linked.hubspot_id, "phone", "+46 8 555 01 01"),
            event(world.hub_id, linked.hubspot_id, "city", "Västerås"),
        ]
    )

    assert response.status_code == 200
    assert response.json() == {"received": 2, "pending": 2, "ignored": 0}
    client = kleer_client(world, linked.kleer_id)
    assert (client["phone"], client["address"]["state"]) == ("+46 8 555 01 01", "Västerås")
    assert kleer_updates(world, live_server, linked.kleer_id) == 1  # two changes, one Kleer write
    statuses = set(InboundEvent.objects.values_list("status", flat=True))
    assert statuses == {InboundEvent.Status.PROCESSED}
    audit = AuditEvent.objects.get(action="kleer.updated")
    assert audit.after == {"phone": "+46 8 555 01 01", "address.state": "Västerås"}
    # The write does not come back: the next outbound run sends nothing to HubSpot.
    second = run(world)
    assert (second.updated, second.created, second.unchanged, second.hubspot_calls) == (0, 0, second.read, 0)


def test_duplicated_and_reordered_deliveries_write_kleer_once(world_factory, hook, live_server):
    world = synced_world(world_factory)
    linked = first_linked(world)
    hubspot_edit(world, "companies", linked.hubspot_id, {"phone": "070-111 22 33"})
    old = event(world.hub_id, linked.hubspot_id, "phone", "070-000 00 00", occurredAt=1)
    new = event(world.hub_id, linked.hubspot_id, "phone", "070-111 22 33")

    assert hook.deliver([new, old]).json()["pending"] == 2
    assert hook.deliver([old, new]).json() == {"received": 2, "pending": 2, "ignored": 0}  # the retry: dropped

    assert InboundEvent.objects.count() == 2
    assert kleer_client(world, linked.kleer_id)["phone"] == "070-111 22 33"  # the current value, never the old
    assert kleer_updates(world, live_server, linked.kleer_id) == 1


def test_a_late_event_finds_nothing_left_to_write(world_factory, hook, live_server):
    world = synced_world(world_factory)
    linked = first_linked(world)
    hubspot_edit(world, "companies", linked.hubspot_id, {"phone": "1"})
    hook.deliver([event(world.hub_id, linked.hubspot_id, "phone", "1")])
    hook.deliver([event(world.hub_id, linked.hubspot_id, "phone", "1")])  # same change, a second event id

    assert kleer_updates(world, live_server, linked.kleer_id) == 1
    late = InboundEvent.objects.order_by("id").last()
    assert (late.status, late.error) == ("processed", "nothing to write: Kleer already agrees")


@pytest.mark.parametrize(
    ("rule", "kept", "kleer_phone"),
    [("hubspot", "hubspot", "HS-2"), ("kleer", "kleer", "K-2"), ("latest", "kleer", "K-2")],
)
def test_a_conflict_follows_the_portal_rule_and_is_recorded(world_factory, hook, live_server, rule, kept, kleer_phone):
    world = synced_world(world_factory)
    world.portal.conflict_rule = rule
    world.portal.save(update_fields=["conflict_rule"])
    linked = first_linked(world)
    KleerClient(company_id=world.company_id, token=world.token).update("client", linked.kleer_id, {"phone": "K-2"})
    hubspot_edit(world, "companies", linked.hubspot_id, {"phone": "HS-2"})

    hook.deliver([event(world.hub_id, linked.hubspot_id, "phone", "HS-2")])

    assert kleer_client(world, linked.kleer_id)["phone"] == kleer_phone
    conflict = AuditEvent.objects.get(action="conflict.resolved")
    assert conflict.before == {"hubspot": "HS-2", "kleer": "K-2"}
    assert conflict.after == {"kept": kept, "rule": rule}
    # Whichever side won, the next outbound run leaves both sides equal.
    run(world)
    assert company_of(world, linked.kleer_id)["properties"]["phone"] == kleer_phone


def test_a_value_kleer_cannot_take_is_an_inbound_error_and_a_fix_resolves_it(world_factory, hook):
    world = synced_world(world_factory)
    linked = first_linked(world)
    name = kleer_client(world, linked.kleer_id)["name"]
    hubspot_edit(world, "companies", linked.hubspot_id, {"name": ""})
    hook.deliver([event(world.hub_id, linked.hubspot_id, "name", "")])

    error = RecordError.objects.get(portal=world.portal, direction="inbound")
    assert (error.kleer_id, error.status, error.category) == (linked.kleer_id, "open", "INBOUND")
    assert error.message == "Kleer refused the change: Name (name) is required in Kleer and cannot be emptied"
    assert error.customer_message == (  # what the customer reads on the tab (issue 14 point 3)
        f"Kleer refused your HubSpot edit of name on client no. {linked.kleer_id} (HubSpot record "
        f"{linked.hubspot_id}): Name (name) is required in Kleer and cannot be emptied. Correct the value in "
        "HubSpot; the next edit is sent to Kleer again."
    )
    assert InboundEvent.objects.get().status == "failed"
    assert kleer_client(world, linked.kleer_id)["name"] == name

    hubspot_edit(world, "companies", linked.hubspot_id, {"name": "Rättad AB"})
    hook.deliver([event(world.hub_id, linked.hubspot_id, "name", "Rättad AB")])
    error.refresh_from_db()
    assert error.status == "resolved"
    assert kleer_client(world, linked.kleer_id)["name"] == "Rättad AB"


def test_events_that_cannot_reach_kleer_are_stored_ignored_with_the_reason(world_factory, hook):
    world = synced_world(world_factory)
    linked = first_linked(world)
    sync = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    sync.mappings.filter(hubspot_property="address").update(direction="one_way")
    events = [
        event(999_999_999, 1, "phone"),
        event(world.hub_id, linked.hubspot_id, "address", "Gatan 1"),
        event(world.hub_id, linked.hubspot_id, "description", "x"),
        event(world.hub_id, linked.hubspot_id, "phone", "2", changeSource="INTEGRATION", sourceId="3141592"),
        event(world.hub_id, linked.hubspot_id, "phone", "2", objectTypeId="0-7"),
    ]

    assert hook.deliver(events).json() == {"received": 5, "pending": 0, "ignored": 5}

    reasons = list(InboundEvent.objects.order_by("id").values_list("status", "error"))
    assert reasons == [
        ("ignored", "HubSpot portal 999999999 has not installed the app"),
        ("ignored", "address is not mapped two-way"),
        ("ignored", "description is not mapped two-way"),
        ("ignored", "an echo of the app's own write to HubSpot"),
        ("ignored", "no two-way object type syncs to HubSpot products"),
    ]
    sync.inbound_enabled = False
    sync.save(update_fields=["inbound_enabled"])
    hook.deliver([event(world.hub_id, linked.hubspot_id, "phone", "3")])
    assert InboundEvent.objects.order_by("id").last().error == "HubSpot → Kleer is switched off for Clients"


def test_a_record_without_kleer_id_is_ignored_after_reading_it(world_factory, hook):
    world = synced_world(world_factory, clients=1)
    from sandbox.hubspot_crm.selectors import objects_for

    hubspot_id = objects_for(world.hub_id, "companies")[0]["id"]
    SyncedRecord.objects.all().delete()
    hubspot_edit(world, "companies", hubspot_id, {"kleer_id": ""})
    hook.deliver([event(world.hub_id, hubspot_id, "phone", "1")])
    assert InboundEvent.objects.get().error == "the HubSpot record has no kleer_id: it was not synced from Kleer"


def test_the_uninstall_event_disconnects_the_portal_and_stops_its_schedules(world_factory, hook):
    world = synced_world(world_factory, clients=1)
    uninstall = {
        "eventId": 77,
        "portalId": world.hub_id,
        "appId": 1,
        "occurredAt": 1,
        "subscriptionType": "app.uninstall",
    }

    assert hook.deliver([uninstall]).json()["pending"] == 1

    installation = HubSpotInstallation.objects.get(portal=world.portal)
    assert (installation.status, installation.access_token, installation.refresh_token) == ("uninstalled", None, None)
    task = ObjectSync.objects.get(portal=world.portal, object_type="clients").periodic_task
    assert task.enabled is False
    assert AuditEvent.objects.filter(action="portal.uninstalled").count() == 1


def test_an_outbound_run_never_overwrites_a_hubspot_edit_still_on_its_way(world_factory, hook, live_server):
    """The webhook for a phone edit has not arrived yet when Kleer's name changes: the run writes the name and
    leaves the phone, which then reaches Kleer; afterwards both sides agree and nothing moves."""
    world = synced_world(world_factory)
    linked = first_linked(world)
    hubspot_edit(world, "companies", linked.hubspot_id, {"phone": "08-123 456"})
    KleerClient(company_id=world.company_id, token=world.token).update("client", linked.kleer_id, {"name": "Nytt AB"})

    second = run(world)

    assert (second.updated, second.hubspot_calls) == (1, 1)
    company = company_of(world, linked.kleer_id)["properties"]
    assert (company["name"], company["phone"]) == ("Nytt AB", "08-123 456")
    hook.deliver([event(world.hub_id, linked.hubspot_id, "phone", "08-123 456")])
    assert kleer_client(world, linked.kleer_id)["phone"] == "08-123 456"
    third = run(world)
    assert (third.updated, third.hubspot_calls) == (0, 0)


def test_a_record_with_an_unprocessed_hubspot_edit_waits_for_the_inbound_path(world_factory):
    world = synced_world(world_factory)
    linked = first_linked(world)
    InboundEvent.objects.create(
        portal=world.portal,
        hub_id=world.hub_id,
        source="webhook",
        event_id="1",
        hubspot_object="companies",
        object_id=linked.hubspot_id,
        property_name="phone",
    )
    KleerClient(company_id=world.company_id, token=world.token).update("client", linked.kleer_id, {"phone": "K-9"})

    second = run(world)

    assert (second.skipped, second.updated, second.hubspot_calls) == (1, 0, 0)
    assert company_of(world, linked.kleer_id)["properties"]["phone"] != "K-9"


def test_an_edit_of_a_deal_that_mirrors_an_invoice_never_reaches_a_project(world_factory, hook):
    """Invoices and projects may both sync to deals; a deal's kleer_id names its Kleer type."""
    from integration.services.audit import Actor
    from integration.services.object_syncs import object_sync_set_enabled, object_sync_set_target

    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=1)
    projects = ObjectSync.objects.get(portal=world.portal, object_type="projects")
    object_sync_set_target(object_sync=projects, hubspot_object="deals", actor=Actor(label="t"))
    object_sync_set_enabled(object_sync=ObjectSync.objects.get(pk=projects.pk), enabled=True, actor=Actor(label="t"))
    assert run(world, "projects").created == 1
    deal = SyncedRecord.objects.get(portal=world.portal, object_type="projects")
    SyncedRecord.objects.all().delete()
    hubspot_edit(world, "deals", deal.hubspot_id, {"kleer_id": "invoice-77", "amount": "1500"})

    hook.deliver([event(world.hub_id, deal.hubspot_id, "amount", "1500", objectTypeId="0-3")])

    assert list(InboundEvent.objects.values_list("status", "error")) == [
        ("ignored", "the record mirrors another Kleer record (invoice-77), not one of the Projects")
    ]
