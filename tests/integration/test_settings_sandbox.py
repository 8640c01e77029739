"""The settings page against the sandbox over real HTTP (no stubs, no browser): Kleer's verdict on a key, the
portal's own property list, creating a property, and "Sync now" landing records in the fake HubSpot."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from integration.models import AuditEvent, KleerCredentials, SyncRun
from sandbox.hubspot_crm import selectors as crm
from sandbox.kleer.seed import company_seed
from tests.conftest import install_sandbox_portal, portal_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(sandbox_urls, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache.clear()
    portal = install_sandbox_portal(installed_by="ada@example.com")
    client = Client()
    session = portal_session(client)
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


@pytest.fixture
def pro_portal(setup):
    """The setup's portal on the Pro plan with Kleer credentials saved, in a HubSpot portal that has neither the
    Projects tool nor HubSpot Payments (so no commerce subscriptions)."""
    from integration.catalog import Plan
    from sandbox.hubspot import state as hubspot_state

    client, portal, company = setup
    portal.plan = Plan.PRO
    portal.save()
    base = f"/portals/{portal.hub_id}/settings/"
    assert (
        client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": company.token}).status_code
        == 302
    )
    hubspot_state.portal_create(hub_id=portal.hub_id, features={"projects": False, "payments": False})
    return client, portal, base


def test_switching_on_an_object_the_hubspot_portal_lacks_is_refused(pro_portal):
    from sandbox.hubspot import state as hubspot_state

    client, portal, base = pro_portal
    page = client.post(f"{base}projects/toggle", {"enabled": "1"}, follow=True).content.decode()
    assert (
        "Projects sync was not switched on. This HubSpot portal has no Projects: that needs the Projects tool. "
        "Set it up in HubSpot, or sync projects to Deals instead."
    ) in page
    assert 'aria-checked="false"' in page
    assert portal.object_syncs.get(object_type="projects").enabled is False
    assert not AuditEvent.objects.filter(portal=portal, action="object_sync.enabled").exists()
    # Once the customer has the Projects tool, the same click switches it on.
    hubspot_state.portal_create(hub_id=portal.hub_id, features={"projects": True})
    page = client.post(f"{base}projects/toggle", {"enabled": "1"}, follow=True).content.decode()
    assert "Projects sync is ON." in page
    assert portal.object_syncs.get(object_type="projects").enabled is True


def test_changing_to_an_object_the_hubspot_portal_lacks_is_refused(pro_portal):
    from integration.services.audit import Actor
    from integration.services.object_syncs import object_sync_set_target

    client, portal, base = pro_portal
    agreements = portal.object_syncs.get(object_type="agreements")
    object_sync_set_target(object_sync=agreements, hubspot_object="deals", actor=Actor.system())
    message = (
        "This HubSpot portal has no Subscriptions: that needs HubSpot Payments or Stripe. "
        "Set it up in HubSpot, or sync agreements to Deals instead."
    )
    page = client.get(f"{base}agreements/target", {"hubspot_object": "subscriptions"}).content.decode()
    assert f'<p class="message message--error" role="alert">{message}</p>' in page
    assert "Nothing was changed: agreements still sync to HubSpot deals." in page
    assert "Change to Subscriptions" not in page and 'name="confirm"' not in page
    # A forged confirmation is refused the same way.
    data = {"hubspot_object": "subscriptions", "confirm": "yes"}
    page = client.post(f"{base}agreements/target", data, follow=True).content.decode()
    assert message in page
    agreements.refresh_from_db()
    assert agreements.hubspot_object == "deals"
    changes = AuditEvent.objects.filter(portal=portal, action="object_sync.target_changed")
    assert list(changes.values_list("actor_label", flat=True)) == ["system"]  # the set-up's change only


def test_default_values_are_checked_against_the_portals_property_types(setup):
    """The dialog knows each property's type and options from the portal's own list (not a stub)."""
    client, portal, _company = setup
    url = f"/portals/{portal.hub_id}/settings/clients/mappings/new"
    data = {"action": "save", "kleer_field": "", "hubspot_property": "lifecyclestage", "default_value": "Lead"}
    page = client.post(url, data).content.decode()
    assert (
        "Lifecycle Stage takes one of its options in HubSpot (the internal values): subscriber, lead, "
        "marketingqualifiedlead (Marketing Qualified Lead), salesqualifiedlead (Sales Qualified Lead), opportunity, "
        "customer, evangelist, other. &quot;Lead&quot; is the label: enter lead."
    ) in page
    data = {"action": "save", "kleer_field": "", "hubspot_property": "numberofemployees", "default_value": "ten"}
    page = client.post(url, data).content.decode()
    assert "Number of Employees is a number property in HubSpot: enter a number such as 12 or 12.5." in page
    assert not AuditEvent.objects.filter(portal=portal, action="mapping.created").exists()
    data = {"action": "save", "kleer_field": "", "hubspot_property": "lifecyclestage", "default_value": "lead"}
    assert client.post(url, data).status_code == 302
    mapping = portal.object_syncs.get(object_type="clients").mappings.get(hubspot_property="lifecyclestage")
    assert (mapping.kleer_field, mapping.default_value) == ("", "lead")
