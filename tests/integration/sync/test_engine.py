"""The sync engine against the sandbox over real HTTP (DESIGN §4)."""

from __future__ import annotations

import pytest

from integration.clients.kleer import KleerClient
from integration.models import ObjectSync, RecordError, SyncedRecord, SyncRun
from integration.services.sync import object_sync_run
from sandbox.hubspot_crm.selectors import objects_for

pytestmark = pytest.mark.django_db(transaction=True)


def run(world, object_type, **kwargs) -> SyncRun:
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type=object_type)
    return object_sync_run(object_sync_id=object_sync.pk, **kwargs)


def kleer_clients(world) -> dict[str, dict]:
    client = KleerClient(company_id=world.company_id, token=world.token)
    return {r.id: dict(r.data) for r in client.iter_clients()}


def companies_by_kleer_id(world) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for record in objects_for(world.hub_id, "companies"):
        key = record["properties"].get("kleer_id")
        assert key not in found, f"duplicate HubSpot company for kleer_id {key}"
        found[key] = record
    return found


def test_first_sync_lands_every_client_with_its_properties(world_factory):
    world = world_factory(clients=12, enable=("clients",))
    result = run(world, "clients")
    kleer = kleer_clients(world)
    companies = companies_by_kleer_id(world)

    assert (result.status, result.read, result.created, result.updated, result.failed) == (
        "succeeded",
        len(kleer),
        len(kleer),
        0,
        0,
    )
    assert set(companies) == set(kleer)
    for kleer_id, client in kleer.items():
        props = companies[kleer_id]["properties"]
        assert props["name"] == client["name"]
        assert props.get("kleer_email") == (client.get("email") or None)
        assert props["kleer_deleted"] == "false"
    assert SyncedRecord.objects.filter(portal=world.portal, object_type="clients").count() == len(kleer)


def test_second_sync_makes_no_hubspot_call(world_factory):
    world = world_factory(clients=10, enable=("clients",))
    run(world, "clients")
    second = run(world, "clients")
    assert (second.status, second.created, second.updated, second.unchanged, second.hubspot_calls) == (
        "succeeded",
        0,
        0,
        second.read,
        0,
    )


def test_a_changed_mapping_resends_the_affected_records(world_factory):
    world = world_factory(clients=6, enable=("clients",))
    run(world, "clients")
    sync = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    sync.mappings.filter(hubspot_property="phone").update(kleer_field="contact")
    second = run(world, "clients")
    with_contact = [c for c in kleer_clients(world).values() if c.get("contact") or c.get("phone")]
    assert second.updated == len(with_contact)
    assert second.unchanged == second.read - len(with_contact)


def test_a_record_hubspot_rejects_becomes_a_record_error_and_the_rest_lands(world_factory):
    world = world_factory(clients=10, enable=("clients",))
    sync = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    # numberofemployees is a number property: a phone number like "08-123 45 67" is refused per record (207).
    sync.mappings.filter(hubspot_property="phone").update(hubspot_property="numberofemployees")
    result = run(world, "clients")
    kleer = kleer_clients(world)
    bad = {k for k, c in kleer.items() if c.get("phone")}
    assert bad, "the seed must contain clients with phone numbers"
    assert (result.status, result.failed, result.created) == ("partial", len(bad), len(kleer) - len(bad))
    errors = RecordError.objects.filter(portal=world.portal, object_type="clients")
    assert set(errors.values_list("kleer_id", flat=True)) == bad
    assert set(companies_by_kleer_id(world)) == set(kleer) - bad
    error = errors.first()
    assert (error.status, error.attempts) == ("open", 1)
    assert error.category == "VALIDATION_ERROR"
    for each in errors:  # HubSpot's 207 error, word for word (hubspot-api.md §4)
        phone = kleer[each.kleer_id]["phone"]
        problem = (
            f'{{"isValid":false,"message":"{phone} was not a valid number.","error":"INVALID_INTEGER",'
            f'"name":"numberofemployees","localizedErrorMessage":"{phone} was not a valid number.",'
            f'"portalId":{world.hub_id}}}'
        )
        assert (each.category, each.message) == ("VALIDATION_ERROR", f"Property values were not valid: [{problem}]")
