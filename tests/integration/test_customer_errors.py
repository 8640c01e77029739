"""Customers read a sentence for a record that did not sync (issue 14 point 3): which record, which field
(Kleer and HubSpot labels), what was wrong and what to do, derived from HubSpot's error details; the raw answer
stays in the admin for support."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from integration.models import FieldMapping, ObjectSync, RecordError
from integration.services.sync import object_sync_run
from integration.sync.explain import Problem, problems_from
from sandbox.kleer.models import Resource

pytestmark = pytest.mark.django_db(transaction=True)


def _text(html: str) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return re.sub(r" ([.,:)])", r"\1", spaced)


def test_a_default_hubspot_refuses_and_a_kleer_value_that_is_no_option_read_as_sentences(world_factory, admin_client):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    # Saved before this product validated defaults (or by support in the admin): HubSpot refuses both.
    FieldMapping.objects.create(
        object_sync=clients, kleer_field="", hubspot_property="numberofemployees", default_value="thirty"
    )
    FieldMapping.objects.create(
        object_sync=clients, kleer_field="foreign-id", hubspot_property="lifecyclestage", default_value=""
    )
    doc = Resource.objects.get(company_id=world.company_id, kind="client")
    doc.data = {**doc.data, "foreign-id": "VIP"}
    doc.save()

    run = object_sync_run(object_sync_id=clients.pk)

    assert (run.status, run.failed) == ("partial", 1)
    error = RecordError.objects.get(portal=world.portal, object_type="clients")
    kleer_id = error.kleer_id
    name = doc.data["name"]
    assert error.customer_message == (
        f'HubSpot did not accept client "{name}" (no. {kleer_id}). '
        'Number of Employees (HubSpot, the mapping\'s default value): "thirty" is not a number, and Number of '
        "Employees is a number property in HubSpot. Change the default value of this mapping on this tab. "
        'Foreign ID (Kleer) → Lifecycle Stage (HubSpot): "VIP" is not one of the options of Lifecycle Stage in '
        "HubSpot. Add the value as an option of the property in HubSpot (Settings → Properties), or correct "
        "Foreign ID in Kleer. The record is retried automatically after the fix."
    )
    assert error.message.startswith("Property values were not valid: [")  # the raw answer, for support
    client = Client()
    session = client.session
    session["portal_hub_id"] = world.hub_id
    session.save()
    page = client.get(f"/portals/{world.hub_id}/settings/clients/").content.decode()
    assert error.customer_message in _text(page.replace("&quot;", '"').replace("&#x27;", "'"))
    assert "Property values were not valid" not in page and "isValid" not in page
    admin_page = admin_client.get(f"/admin/integration/recorderror/{error.pk}/change/").content.decode()
    assert "Property values were not valid" in admin_page and "Change the default value of this mapping" in admin_page


def test_problems_are_read_from_the_embedded_json_when_hubspot_sends_no_errors_list():
    message = (
        'Property values were not valid: [{"isValid":false,"message":"x was not a valid number.",'
        '"error":"INVALID_INTEGER","name":"kleer_payment_days"}]'
    )
    assert problems_from([], message) == [Problem("kleer_payment_days", "INVALID_INTEGER", "x was not a valid number.")]
    assert problems_from([], "Something else") == []


def test_a_refusal_without_details_asks_to_contact_support(world_factory):
    from integration import catalog
    from integration.sync.explain import hubspot_error_text

    text = hubspot_error_text(
        spec=catalog.get("invoices"),
        record={"invoice-nr": 5001},
        kleer_id="77",
        sent={},
        mappings=[],
        problems=[],
        property_labels={},
        category="VALIDATION_ERROR",
    )
    assert text == (
        "HubSpot did not accept invoice 5001 (VALIDATION_ERROR). It is retried automatically; if it keeps failing, "
        "contact support, who can see HubSpot's full answer."
    )
