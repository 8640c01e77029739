"""The HubSpot schema a sync needs, ensured over real HTTP against the fake (integration/sync/schema.py): the Kleer
group and every missing property of an object in one batch call, a property a racing worker created meanwhile
taken as it is, and a refusal that names the property."""

from __future__ import annotations

import pytest

from integration.clients.errors import PermanentError
from integration.clients.hubspot import HubSpotClient
from integration.models import ObjectSync
from integration.sync.schema import schema_ensure
from sandbox.hubspot.models import RequestLog
from sandbox.hubspot_crm.selectors import property_of

pytestmark = pytest.mark.django_db(transaction=True)

KLEER_DELETED = {
    "name": "kleer_deleted",
    "label": "Deleted in Kleer (made by another worker)",
    "type": "bool",
    "fieldType": "booleancheckbox",
    "groupName": "kleer",
    "options": [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}],
}


def calls(world) -> list[str]:
    return list(RequestLog.objects.filter(hub_id=world.hub_id).order_by("id").values_list("endpoint", flat=True))


def test_an_objects_missing_properties_are_created_in_one_batch_call(world_factory):
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0)
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    mappings = list(clients.mappings.all())
    custom = sorted(m.hubspot_property for m in mappings if m.hubspot_property.startswith("kleer_"))
    assert len(custom) >= 3  # the default mappings write several kleer_… properties of their own
    RequestLog.objects.all().delete()

    schema_ensure(object_sync=clients, mappings=mappings, hubspot=HubSpotClient(installation=world.portal.installation))

    made = calls(world)
    # The group is made while the properties are read (either may reach HubSpot first), then one batch call.
    assert sorted(made[:2]) == [
        "GET /crm/properties/2026-03/companies",
        "POST /crm/properties/2026-03/companies/groups",
    ]
    assert made[2:] == ["POST /crm/properties/2026-03/companies/batch/create"]
    kleer_id = property_of(world.hub_id, "companies", "kleer_id")
    assert (kleer_id["hasUniqueValue"], kleer_id["groupName"]) == (True, "kleer")
    for name in ["kleer_deleted", *custom]:
        assert property_of(world.hub_id, "companies", name)["groupName"] == "kleer", name
    clients.refresh_from_db()
    assert clients.schema_checked_at is not None

    # Checked and current: the next run asks HubSpot nothing.
    schema_ensure(object_sync=clients, mappings=mappings, hubspot=HubSpotClient(installation=world.portal.installation))
    assert len(calls(world)) == 3


def test_a_property_another_worker_created_meanwhile_is_read_as_it_is(world_factory):
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0)
    hubspot = HubSpotClient(installation=world.portal.installation)
    hubspot.property_group_create("companies", name="kleer", label="Kleer")
    hubspot.properties_create("companies", [KLEER_DELETED])
    kleer_id = {
        "name": "kleer_id",
        "label": "Kleer ID",
        "type": "string",
        "fieldType": "text",
        "groupName": "kleer",
        "hasUniqueValue": True,
    }
    RequestLog.objects.all().delete()

    answers = hubspot.properties_create("companies", [kleer_id, {**KLEER_DELETED, "label": "Deleted in Kleer"}])

    assert [(a["name"], a["label"]) for a in answers] == [
        ("kleer_id", "Kleer ID"),
        ("kleer_deleted", "Deleted in Kleer (made by another worker)"),
    ]
    assert calls(world) == [
        "POST /crm/properties/2026-03/companies/batch/create",
        "GET /crm/properties/2026-03/companies/kleer_deleted",
    ]


def test_a_property_hubspot_refuses_is_named_and_the_others_are_not_lost(world_factory):
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0)
    hubspot = HubSpotClient(installation=world.portal.installation)
    hubspot.property_group_create("companies", name="kleer", label="Kleer")
    bad = {**KLEER_DELETED, "name": "kleer_flag", "fieldType": "text"}  # a bool cannot be a text field

    with pytest.raises(PermanentError) as raised:
        hubspot.properties_create("companies", [KLEER_DELETED, bad])

    assert str(raised.value).startswith("HubSpot: companies property kleer_flag refused: ")
    assert property_of(world.hub_id, "companies", "kleer_flag") is None
    # HubSpot created the valid one; the next attempt reads it back instead of failing on it.
    assert property_of(world.hub_id, "companies", "kleer_deleted")["label"] == KLEER_DELETED["label"]
