"""A default value HubSpot would refuse is never saved and never waits silently for a run (issue 14 point 2):
checked against the type the catalog gives a property the first sync has not created yet; the cached property
list is refreshed when the sync creates properties; a saved default HubSpot would refuse shows on the tab."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from integration.models import FieldMapping, ObjectSync
from integration.services.hubspot_properties import cached_properties, hubspot_properties
from integration.services.sync import object_sync_run
from sandbox.hubspot_crm import selectors as crm

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = "Kleer Payment days is a number property in HubSpot: enter a number such as 12 or 12.5."


def _client(hub_id: int) -> Client:
    client = Client()
    session = client.session
    session["portal_hub_id"] = hub_id
    session.save()
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip().replace("&quot;", '"').replace("&#x27;", "'")


@pytest.fixture
def world(world_factory):
    cache.clear()
    return world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0)


def _payment_days(world) -> FieldMapping:
    return FieldMapping.objects.get(object_sync__portal=world.portal, hubspot_property="kleer_payment_days")


def test_a_default_for_a_property_not_yet_in_hubspot_is_checked_against_the_catalog_type(world):
    assert crm.property_of(world.hub_id, "companies", "kleer_payment_days") is None  # no sync yet
    mapping = _payment_days(world)
    url = f"/portals/{world.hub_id}/settings/clients/mappings/{mapping.pk}/"
    data = {"action": "save", "kleer_field": "payment-days", "hubspot_property": "kleer_payment_days"}
    refused = _client(world.hub_id).post(url, {**data, "default_value": "thirty"})
    assert refused.status_code == 200 and REFUSED in _text(refused.content.decode())
    mapping.refresh_from_db()
    assert mapping.default_value == ""
    saved = _client(world.hub_id).post(url, {**data, "default_value": "30"})
    assert saved.status_code == 302
    mapping.refresh_from_db()
    assert mapping.default_value == "30"


def test_a_saved_default_hubspot_would_refuse_shows_on_the_tab_before_any_run(world):
    FieldMapping.objects.filter(pk=_payment_days(world).pk).update(default_value="thirty")  # saved long ago
    page = _text(_client(world.hub_id).get(f"/portals/{world.hub_id}/settings/clients/").content.decode())
    assert (
        "HubSpot would refuse a saved default value: every record that uses it would fail. Edit the mapping to fix "
        f"it. kleer_payment_days = “thirty”: {REFUSED}"
    ) in page
    assert "thirty HubSpot would refuse it" in page


def test_the_sync_refreshes_the_cached_property_list_when_it_creates_properties(world):
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    before = {p["name"] for p in hubspot_properties(object_sync=clients)}  # the dialog cached the list
    assert "kleer_payment_days" not in before
    clients.enabled = True
    clients.save()
    object_sync_run(object_sync_id=clients.pk, require_enabled=False)
    cached = cached_properties(object_sync=clients)
    assert cached["kleer_payment_days"]["type"] == "number"
    assert cached["kleer_payment_days"]["label"] == "Kleer Payment days"
    # A standard property's default is now checked against HubSpot's type from the refreshed cache.
    FieldMapping.objects.create(
        object_sync=clients, kleer_field="", hubspot_property="numberofemployees", default_value="many"
    )
    page = _text(_client(world.hub_id).get(f"/portals/{world.hub_id}/settings/clients/").content.decode())
    assert (
        "numberofemployees = “many”: Number of Employees is a number property in HubSpot: enter a number such as "
        "12 or 12.5."
    ) in page
