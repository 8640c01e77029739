"""The settings page against the sandbox over real HTTP (no stubs, no browser): Kleer's verdict on a key, the
portal's own property list, creating a property, and "Sync now" landing records in the fake HubSpot."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from integration.models import AuditEvent, KleerCredentials, SyncRun
from sandbox.hubspot_crm import selectors as crm
from sandbox.kleer.seed import company_seed
from tests.conftest import install_sandbox_portal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(sandbox_urls, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache.clear()
    portal = install_sandbox_portal(installed_by="ada@example.com")
    client = Client()
    session = client.session
    session["portal_hub_id"] = portal.hub_id
    session["portal_user_email"] = "ada@example.com"
    session.save()
    company = company_seed(clients=3, products=2, invoices=0, agreements=0, projects=0, seed=5)
    return client, portal, company


def test_kleer_refuses_a_wrong_key_then_accepts_the_right_one(setup):
    client, portal, company = setup
    base = f"/portals/{portal.hub_id}/settings/"
    refused = client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": "nope-0000"})
    assert f"Kleer rejected the API key for company {company.company_id}" in refused.content.decode()
    assert not KleerCredentials.objects.filter(portal=portal).exists()
    accepted = client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": company.token})
    assert accepted.status_code == 302
    page = client.get(base).content.decode()
    assert f"••••{company.token[-4:]}" in page and company.token not in page


def test_mapping_dialog_lists_creates_and_syncs(setup):
    client, portal, company = setup
    base = f"/portals/{portal.hub_id}/settings/"
    client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": company.token})
    page = client.get(f"{base}clients/mappings/new").content.decode()
    assert '<option value="domain">Company Domain Name (domain)</option>' in page  # the portal's own list
    created = client.post(
        f"{base}clients/mappings/new",
        {"action": "create_property", "kleer_field": "foreign-id", "new_property_label": "", "new_property_name": ""},
    ).content.decode()
    assert "Created <code>kleer_foreign_id</code> in HubSpot and selected it." in created
    definition = crm.property_of(portal.hub_id, "companies", "kleer_foreign_id")
    assert (definition["label"], definition["type"], definition["fieldType"]) == ("Kleer Foreign ID", "string", "text")
    saved = client.post(
        f"{base}clients/mappings/new",
        {"action": "save", "kleer_field": "foreign-id", "hubspot_property": "kleer_foreign_id"},
    )
    assert saved.status_code == 302
    assert client.post(f"{base}clients/toggle", {"enabled": "1"}).status_code == 302
    assert client.post(f"{base}clients/sync").status_code == 302
    run = SyncRun.objects.filter(portal=portal, object_type="clients").latest("started_at")
    assert run.error == ""
    assert run.status == "succeeded"
    assert (run.read, run.created, run.failed) == (3, 3, 0)
    assert len(crm.objects_for(portal.hub_id, "companies")) == 3
    page = client.get(f"{base}clients/").content.decode()
    assert "Succeeded" in page and "3 created" in page and "3 records in Companies" in page
    actors = set(AuditEvent.objects.filter(portal=portal).values_list("actor_label", flat=True))
    assert actors == {f"portal {portal.hub_id}: ada@example.com"}


def test_refresh_sees_a_property_added_in_hubspot_meanwhile(setup):
    client, portal, _company = setup
    base = f"/portals/{portal.hub_id}/settings/clients/mappings/new"
    assert "kleer_added_later" not in client.get(base).content.decode()
    sync = portal.object_syncs.get(object_type="clients")
    from integration.clients.hubspot import HubSpotClient

    HubSpotClient(installation=portal.installation, allow_sleep=False).property_create(
        "companies",
        {
            "name": "kleer_added_later",
            "label": "Added later",
            "type": "string",
            "fieldType": "text",
            "groupName": "companyinformation",
        },
    )
    assert "kleer_added_later" not in client.get(base).content.decode()  # still the cached list
    refreshed = client.post(base, {"action": "refresh", "kleer_field": "", "hubspot_property": ""}).content.decode()
    assert '<option value="kleer_added_later">Added later (kleer_added_later)</option>' in refreshed
    assert sync.hubspot_object == "companies"
