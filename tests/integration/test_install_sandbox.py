"""The install flow end to end over HTTP: our /hubspot/install → the sandbox's consent page → our callback →
the sandbox's token and introspection endpoints → the settings page. No browser: plain `requests` sessions."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integration.models import AuditEvent, HubSpotInstallation, Portal

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def consent_page(session: requests.Session, base: str) -> requests.Response:
    page = session.get(f"{base}/hubspot/install", timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert "/sandbox/hubspot/oauth/authorize" in page.url
    return page


def decide(session: requests.Session, page: requests.Response, decision: str, **extra: str) -> requests.Response:
    data = {"csrfmiddlewaretoken": CSRF.search(page.text).group(1), "decision": decision, **extra}
    return session.post(page.url, data=data, headers={"Referer": page.url}, timeout=60)


def test_approve_installs_and_opens_the_settings(sandbox_urls):
    session = requests.Session()
    page = consent_page(session, sandbox_urls)
    landed = decide(session, page, "approve", portal="new", user_email="ada@example.com")
    assert landed.status_code == 200, landed.text[:500]
    hub_id = int(re.search(r"/portals/(\d+)/settings/$", landed.url).group(1))
    assert "General Configuration" in landed.text
    assert "Signed in as ada@example.com" in landed.text
    portal = Portal.objects.get(hub_id=hub_id)
    installation = portal.installation
    assert installation.status == HubSpotInstallation.Status.CONNECTED
    assert installation.installed_by == "ada@example.com"
    assert "crm.objects.companies.write" in installation.scopes
    assert portal.object_syncs.count() == 6
    assert AuditEvent.objects.get(portal=portal, action="portal.installed").actor_label == (
        f"portal {hub_id}: ada@example.com"
    )
    assert installation.access_token not in landed.text


def test_deny_changes_nothing(sandbox_urls):
    session = requests.Session()
    page = consent_page(session, sandbox_urls)
    landed = decide(session, page, "deny")
    assert landed.status_code == 200
    assert "You declined the installation in HubSpot. Nothing was installed or changed." in landed.text
    assert Portal.objects.count() == 0


def test_reusing_an_authorization_code_fails_cleanly(sandbox_urls):
    session = requests.Session()
    page = consent_page(session, sandbox_urls)
    first = session.post(
        page.url,
        data={
            "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
            "decision": "approve",
            "portal": "new",
            "user_email": "ada@example.com",
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=30,
    )
    callback = first.headers["Location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert session.get(callback, timeout=60).status_code == 200  # installs
    installed = Portal.objects.get()
    before = installed.installation.access_token
    # A second install in the same browser, answered with the already-redeemed code: HubSpot refuses it.
    state = parse_qs(
        urlsplit(session.get(f"{sandbox_urls}/hubspot/install", allow_redirects=False).headers["Location"]).query
    )["state"][0]
    replay = session.get(f"{sandbox_urls}/hubspot/oauth/callback", params={"code": code, "state": state}, timeout=60)
    assert replay.status_code == 502
    assert "HubSpot did not accept the authorization" in replay.text
    installed.installation.refresh_from_db()
    assert installed.installation.access_token == before
    assert Portal.objects.count() == 1


def test_a_portal_without_payments_gets_agreements_as_deals(sandbox_urls):
    session = requests.Session()
    page = consent_page(session, sandbox_urls)
    # No HubSpot Payments: commerce subscriptions answer 403 FEATURE_NOT_ENABLED (hubspot-api.md §5.3).
    form = {"portal": "new", "user_email": "ada@example.com", "features_shown": "1", "feature_projects": "on"}
    landed = decide(session, page, "approve", **form)
    assert landed.status_code == 200, landed.text[:500]
    portal = Portal.objects.get()
    agreements = portal.object_syncs.get(object_type="agreements")
    assert (agreements.hubspot_object, agreements.enabled) == ("deals", False)
    assert set(agreements.mappings.values_list("hubspot_property", flat=True)) == {
        m.hubspot_property for m in agreements.spec.target("deals").default_mappings
    }
    event = AuditEvent.objects.get(portal=portal, action="object_sync.target_changed")
    assert (event.actor_label, event.before, event.after) == (
        "system",
        {"hubspot_object": "subscriptions"},
        {"hubspot_object": "deals"},
    )
    assert portal.object_syncs.get(object_type="projects").hubspot_object == "projects"


def test_a_portal_with_payments_keeps_agreements_as_subscriptions(sandbox_urls):
    session = requests.Session()
    page = consent_page(session, sandbox_urls)
    form = {"portal": "new", "user_email": "ada@example.com", "features_shown": "1", "feature_payments": "on"}
    decide(session, page, "approve", **form)
    portal = Portal.objects.get()
    assert portal.object_syncs.get(object_type="agreements").hubspot_object == "subscriptions"
    assert not AuditEvent.objects.filter(portal=portal, action="object_sync.target_changed").exists()
