"""What a new customer meets on the General tab and the Pro-only tabs (issue 14 points 6, 7 and 9): the
onboarding checklist with its current step and where the Kleer key comes from, the portal's name filled at
install, Kleer refusing the saved key during a run, and the upgrade link."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
import requests
from django.core.cache import cache
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from integration.catalog import Plan
from integration.models import AuditEvent, KleerCredentials, ObjectSync, Portal
from integration.services.audit import Actor
from integration.services.credentials import credentials_save
from integration.services.object_syncs import object_sync_set_enabled
from integration.services.sync import object_sync_run
from sandbox.kleer.models import Token
from sandbox.kleer.seed import company_seed
from tests.conftest import install_sandbox_portal, portal_session
from tests.integration.test_install_sandbox import consent_page, decide

pytestmark = pytest.mark.django_db(transaction=True)


def _client(hub_id: int) -> Client:
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = hub_id
    session["portal_user_email"] = "ada@example.com"
    session.save()
    return client


def _text(html: str) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return re.sub(r" ([.,)])", r"\1", spaced)


def _steps(html: str) -> list[tuple[str, str]]:
    """(title, state) of each checklist step: state is done, current or todo."""
    found = []
    for classes, body in re.findall(r'<li class="checklist__step([^"]*)"[^>]*>(.*?)</li>', html, re.S):
        title = re.search(r"<strong>(.*?)</strong>", body).group(1)
        state = "done" if "--done" in classes else "current" if "--current" in classes else "todo"
        found.append((title, state))
    return found


@pytest.fixture
def setup(sandbox_urls, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache.clear()
    portal = install_sandbox_portal(installed_by="ada@example.com")
    company = company_seed(clients=2, products=0, invoices=0, agreements=0, projects=0, seed=3)
    return portal, company, _client(portal.hub_id)


def test_the_checklist_follows_the_customer_from_install_to_a_first_sync(setup):
    portal, company, client = setup
    base = f"/portals/{portal.hub_id}/settings/"

    page = client.get(base).content.decode()
    assert _steps(page) == [("Connect Kleer", "current"), ("Switch on an object", "todo"), ("First sync", "todo")]
    assert 'aria-current="step"' in page and '<a href="#kleer"><strong>Connect Kleer</strong></a>' in page
    assert (
        "In Kleer, open Inställningar (Settings) → API to find your Company ID and create an API key. If your Kleer "
        "account does not show them there, ask Kleer support for a Company ID and an API key for this integration."
    ) in _text(page)

    client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": company.token})
    page = client.get(base).content.decode()
    assert _steps(page) == [("Connect Kleer", "done"), ("Switch on an object", "current"), ("First sync", "todo")]
    assert f'<a href="{base}clients/"><strong>Switch on an object</strong></a>' in page

    client.post(f"{base}clients/toggle", {"enabled": "1"})
    page = client.get(base).content.decode()
    assert _steps(page) == [("Connect Kleer", "done"), ("Switch on an object", "done"), ("First sync", "current")]
    assert f'<a href="{base}clients/#sync-status"><strong>First sync</strong></a>' in page

    client.post(f"{base}clients/sync")
    page = client.get(base).content.decode()
    assert _steps(page) == [] and 'id="onboarding"' not in page


def test_install_fills_the_portals_name_from_hubspot(sandbox_urls):
    session = requests.Session()
    landed = decide(session, consent_page(session, sandbox_urls), "approve", portal="new", user_email="ada@example.com")
    portal = Portal.objects.get(hub_id=int(re.search(r"/portals/(\d+)/settings/$", landed.url).group(1)))
    # HubSpot's account info has no name; token introspection names the account's domain, which HubSpot shows.
    assert (portal.name, portal.hub_domain) == (f"portal-{portal.hub_id}.hubspot.example",) * 2
    assert f"HubSpot portal {portal.hub_id} · portal-{portal.hub_id}.hubspot.example" in _text(landed.text)


def test_kleer_refusing_the_saved_key_shows_on_the_general_tab_until_a_new_key_is_verified(setup):
    portal, company, client = setup
    base = f"/portals/{portal.hub_id}/settings/"
    client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": company.token})
    object_sync_set_enabled(
        object_sync=ObjectSync.objects.get(portal=portal, object_type="clients"), enabled=True, actor=Actor("t")
    )
    assert "Configured" in _text(client.get(base).content.decode())

    revoked = Token.objects.get(token=company.token)
    revoked.delete()  # revoked in Kleer
    run = object_sync_run(object_sync_id=ObjectSync.objects.get(portal=portal, object_type="clients").pk)

    assert (run.status, run.error) == (
        "failed",
        f"Kleer: Kleer rejected the API key for company {company.company_id} (HTTP 401)",
    )
    creds = KleerCredentials.objects.get(portal=portal)
    assert creds.refused_at is not None and creds.verified_at is None
    page = _text(client.get(base).content.decode())
    assert "Kleer API credentials Kleer refuses the saved key" in page
    # The Company ID is still set; the key is what Kleer refuses, so it is not "Configured".
    assert "Company ID Configured" in page and "API key Configured" not in page and "API key" in page
    when = timezone.localtime(creds.refused_at).strftime("%Y-%m-%d %H:%M %Z")
    assert (
        f"Kleer refuses the saved key (HTTP 401 during the sync at {when}). The key was probably revoked or replaced "
        "in Kleer. Syncing from Kleer fails until you save a key Kleer accepts."
    ) in page
    assert (
        "What to do: create a new API key in Kleer and enter it below with your Company ID, then press Save "
        "credentials."
    ) in page
    assert AuditEvent.objects.filter(portal=portal, action="credentials.refused").count() == 1
    object_sync_run(object_sync_id=ObjectSync.objects.get(portal=portal, object_type="clients").pk)
    assert AuditEvent.objects.filter(portal=portal, action="credentials.refused").count() == 1  # once, not per run
    assert _steps(client.get(base).content.decode())[0] == ("Connect Kleer", "current")

    new_key = Token.objects.create(company=revoked.company, token="new-key-5678", user_id=revoked.user_id).token
    saved = client.post(f"{base}credentials", {"company_id": company.company_id, "api_key": new_key})
    assert saved.status_code == 302
    page = _text(client.get(base).content.decode())
    assert "Kleer API credentials Configured" in page and "API key Configured" in page
    assert "Kleer refuses the saved key" not in page
    assert KleerCredentials.objects.get(portal=portal).refused_at is None


def test_a_run_that_reads_kleer_again_clears_the_refusal(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    KleerCredentials.objects.filter(portal=world.portal).update(refused_at="2026-01-01T00:00:00Z")
    object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type="clients").pk)
    assert KleerCredentials.objects.get(portal=world.portal).refused_at is None


@override_settings(UPGRADE_URL="https://example.com/kleer-for-hubspot/pricing")
def test_pro_only_tabs_link_to_the_upgrade_url(setup):
    portal, _company, client = setup
    page = client.get(f"/portals/{portal.hub_id}/settings/invoices/").content.decode()
    assert (
        '<a href="https://example.com/kleer-for-hubspot/pricing" target="_blank" rel="noopener">'
        "Contact us to upgrade</a>"
    ) in page
    assert "Support switches portals to the Pro plan. Contact us to upgrade." in _text(page)


def test_the_default_upgrade_url_mails_support_naming_the_portal(setup, settings):
    portal, _company, client = setup
    assert settings.UPGRADE_URL == "mailto:support@127.0.0.1?subject=Kleer%20for%20HubSpot%3A%20Pro%20plan"
    page = client.get(f"/portals/{portal.hub_id}/settings/projects/").content.decode()
    href = re.search(r'<a href="([^"]+)"[^>]*>Contact us to upgrade</a>', page).group(1).replace("&amp;", "&")
    assert unquote(href) == (
        "mailto:support@127.0.0.1?subject=Kleer for HubSpot: Pro plan"
        f"&body=HubSpot portal {portal.hub_id}: please switch us to the Pro plan."
    )
    portal.plan = Plan.PRO
    portal.save()
    assert "Contact us to upgrade" not in client.get(f"/portals/{portal.hub_id}/settings/projects/").content.decode()


def test_a_new_key_saved_without_verification_forgets_the_old_refusal(setup):
    portal, company, _ = setup
    credentials_save(
        portal=portal, company_id=company.company_id, api_key=company.token, actor=Actor("t"), verify=False
    )
    KleerCredentials.objects.filter(portal=portal).update(refused_at="2026-01-01T00:00:00Z")
    credentials_save(portal=portal, company_id=company.company_id, api_key=None, actor=Actor("t"), verify=False)
    assert KleerCredentials.objects.get(portal=portal).refused_at is not None  # the same key, still refused
    credentials_save(
        portal=portal, company_id=company.company_id, api_key="other-key-9999", actor=Actor("t"), verify=False
    )
    assert KleerCredentials.objects.get(portal=portal).refused_at is None
