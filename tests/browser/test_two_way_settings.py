"""Two-way sync as the customer configures it, in headless Chromium against the sandbox's HubSpot: the direction
of each mapping in the Clients table, the dialog's direction control (enabled for phone, disabled with the reason
for a property HubSpot cannot notify us about, following the chosen property), switching a mapping to one-way,
an inbound error on the tab, the HubSpot → Kleer switch, and conflicts and matching on the General tab.
Screenshots go to var/screenshots/two-way-*.png.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from integration.models import AuditEvent, FieldMapping, Portal, RecordError, SyncDirection
from integration.services.audit import Actor
from integration.services.mappings import mapping_save
from tests.browser.support import BROWSER, launch_url, signature_headers
from tests.conftest import install_sandbox_portal

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

SECRET = "browser-two-way-client-secret"
INBOUND_MESSAGE = "Kleer refused the phone number: it is longer than 30 characters."
NOT_NOTIFIED = (
    "Only Kleer → HubSpot here. HubSpot does not notify the app about changes to 'orgnr': only the properties the app "
    "subscribed to when it was published can send edits back to Kleer."
)


@pytest.fixture
def portal(sandbox_urls, settings) -> Portal:
    """A portal installed in the sandbox's HubSpot, with a one-way mapping (orgno → the standard `orgnr`, which
    the app does not subscribe to) and an inbound error on a client."""
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    cache.clear()  # property lists are cached per hub id; a recycled test hub id must not see stale ones
    portal = install_sandbox_portal()
    clients = portal.object_syncs.get(object_type="clients")
    mapping_save(object_sync=clients, kleer_field="orgno", hubspot_property="orgnr", actor=Actor.system())
    RecordError.objects.create(
        portal=portal,
        object_type="clients",
        kleer_id="17",
        hubspot_id="9001",
        direction=SyncDirection.INBOUND,
        message=INBOUND_MESSAGE,
    )
    return portal


def open_settings(page: Page, base: str, portal: Portal) -> None:
    """Open the settings the way HubSpot does: a launch URL signed with the app's client secret."""
    url = launch_url(base, portal.hub_id)
    page.set_extra_http_headers(signature_headers(secret=SECRET, method="GET", url=url))
    page.goto(url)
    page.set_extra_http_headers({})
    expect(page.get_by_role("heading", name="General Configuration", exact=True)).to_be_visible()


def flash(page: Page):
    return page.locator(".messages").get_by_role("status")


def mapping_row(page: Page, prop: str):
    return page.locator("#mappings tbody tr", has=page.locator("code", has_text=re.compile(f"^{prop}$")))


def test_customer_sets_directions_sees_an_inbound_error_and_chooses_conflict_rules(
    page: Page, sandbox_urls: str, portal: Portal, screenshots
):
    open_settings(page, sandbox_urls, portal)

    # General tab: conflicts and matching, defaults first, then Kleer always wins.
    rules = page.locator("#sync-rules")
    expect(rules.get_by_role("radio", name="The most recent change wins (default)")).to_be_checked()
    expect(rules.get_by_role("radio", name=re.compile(r"^Organisation number, then domain"))).to_be_checked()
    rules.get_by_role("radio", name="Kleer always wins").check()
    rules.get_by_role("radio", name="Organisation number only (products: SKU only)").check()
    rules.get_by_role("button", name="Save conflicts and matching").click()
    expect(flash(page)).to_have_text("Conflicts and matching saved.")
    expect(page.locator("#sync-rules").get_by_role("radio", name="Kleer always wins")).to_be_checked()
    portal.refresh_from_db()
    assert (portal.conflict_rule, portal.match_rule) == ("kleer", "orgno")
    page.locator("#sync-rules").screenshot(path=str(screenshots / "two-way-general-conflicts-and-matching.png"))

    # Clients tab: the switch, the wording, each mapping's direction.
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name=re.compile("^Clients")).click()
    expect(page.get_by_role("heading", level=1, name="Clients")).to_be_visible()
    expect(page.get_by_role("switch", name="HubSpot → Kleer")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#direction-intro")).to_have_text(
        "Properties marked Two-way go both ways: an edit in HubSpot is written to Kleer within seconds. "
        "Properties marked One-way go from Kleer to HubSpot only: edits of them in HubSpot never reach Kleer."
    )
    expect(mapping_row(page, "phone").locator(".badge")).to_have_text("Two-way")
    expect(mapping_row(page, "orgnr").locator(".badge")).to_have_text("One-way")
    expect(mapping_row(page, "orgnr").locator(".badge")).to_have_attribute("title", re.compile("does not notify"))

    # The inbound error, marked with its direction.
    error = page.locator("#sync-status .record-errors li", has_text="Kleer 17")
    expect(error.locator(".badge")).to_have_text("HubSpot → Kleer")
    expect(error).to_contain_text(f"Kleer 17 (HubSpot 9001): {INBOUND_MESSAGE}")
    page.locator("#mappings").screenshot(path=str(screenshots / "two-way-clients-mappings.png"))
    page.screenshot(path=str(screenshots / "two-way-clients-tab.png"), full_page=True)

    # The dialog: both directions for phone; a property HubSpot cannot notify about disables it, with why.
    page.get_by_role("link", name="Edit mapping to phone").click()
    dialog = page.locator("dialog[open]")
    direction = dialog.get_by_role("group", name="Direction")
    two_way = direction.get_by_role("radio", name="Two-way: HubSpot edits go back to Kleer")
    one_way = direction.get_by_role("radio", name="Kleer → HubSpot only")
    expect(two_way).to_be_enabled()
    expect(two_way).to_be_checked()
    dialog.get_by_label("HubSpot property").focus()
    dialog.get_by_label("HubSpot property").select_option("orgnr")
    expect(two_way).to_be_disabled()
    expect(one_way).to_be_checked()
    expect(dialog.locator("#direction-reason")).to_have_text(NOT_NOTIFIED)
    expect(dialog.get_by_label("HubSpot property")).to_be_focused()  # the swap leaves focus where it was
    page.screenshot(path=str(screenshots / "two-way-mapping-dialog-disabled.png"))
    dialog.get_by_label("HubSpot property").select_option("phone")
    expect(two_way).to_be_enabled()
    expect(two_way).to_be_checked()  # the mapping's saved direction comes back
    expect(dialog.locator("#direction-reason")).to_have_count(0)
    one_way.check()
    page.screenshot(path=str(screenshots / "two-way-mapping-dialog.png"))
    dialog.get_by_role("button", name="Save mapping").click()
    expect(flash(page)).to_have_text("Mapping to phone saved.")
    expect(mapping_row(page, "phone").locator(".badge")).to_have_text("One-way")
    phone = FieldMapping.objects.get(
        object_sync__portal=portal, object_sync__object_type="clients", hubspot_property="phone"
    )
    assert phone.direction == "one_way"
    event = AuditEvent.objects.filter(portal=portal, action="mapping.updated").latest("pk")
    assert (event.before["direction"], event.after["direction"]) == ("two_way", "one_way")

    # Switching HubSpot → Kleer off changes what the tab says, at once.
    page.get_by_role("switch", name="HubSpot → Kleer").click()
    expect(flash(page)).to_have_text("HubSpot → Kleer is OFF for clients: HubSpot edits are not sent to Kleer.")
    expect(page.get_by_role("switch", name="HubSpot → Kleer")).to_have_attribute("aria-checked", "false")
    expect(page.locator("#direction-intro")).to_have_text(
        "HubSpot → Kleer is off, so edits made in HubSpot never reach Kleer, whatever a property's direction. "
        "Properties marked Two-way go back to Kleer once it is switched on."
    )
    page.locator("#inbound").screenshot(path=str(screenshots / "two-way-clients-switch-off.png"))
