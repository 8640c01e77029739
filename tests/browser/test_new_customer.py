"""A new customer's whole first visit, in headless Chromium against the sandbox: install through HubSpot's
consent page, Kleer credentials, switching objects on, a mapping to a property created from the dialog,
"Sync now", and the records landing in the (fake) HubSpot. Screenshots of every tab go to var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from integration import catalog
from integration.clients.kleer import KleerClient
from integration.models import AuditEvent, KleerCredentials, Portal, SyncRun
from sandbox.hubspot_crm import selectors as crm
from sandbox.kleer.seed import company_seed
from tests.browser.support import BROWSER

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

EMAIL = "ada@example.com"


@pytest.fixture
def sandbox(sandbox_urls, settings) -> str:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # "Sync now" runs inline, inside the request
    cache.clear()  # property lists are cached per hub id; a recycled test hub id must not see stale ones
    return sandbox_urls


def flash(page: Page):
    """The page's flash message (not the dialog's own notices)."""
    return page.locator(".messages").get_by_role("status")


def install(page: Page, base: str) -> int:
    """Go through /hubspot/install and the sandbox's consent page; return the new portal's hub id."""
    page.goto(f"{base}/hubspot/install")
    expect(page.get_by_role("heading", name=re.compile("wants to access your HubSpot account"))).to_be_visible()
    page.get_by_label("Create a new portal").check()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="General Configuration", exact=True)).to_be_visible()
    return int(re.search(r"/portals/(\d+)/settings/$", page.url).group(1))


def open_tab(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name=re.compile(f"^{label}")).click()
    expect(page.get_by_role("heading", level=1, name=re.compile(f"^{label}"))).to_be_visible()


def switch_on(page: Page, label: str) -> None:
    open_tab(page, label)
    page.get_by_role("switch", name=f"{label} sync").click()
    expect(flash(page)).to_have_text(f"{label} sync is ON.")
    expect(page.get_by_role("switch", name=f"{label} sync")).to_have_attribute("aria-checked", "true")


def save_credentials(page: Page, company_id: int, key: str) -> None:
    page.get_by_label("Company ID").fill(str(company_id))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Save credentials").click()


def test_new_customer_installs_configures_and_syncs(page: Page, sandbox: str, screenshots):
    company = company_seed(clients=6, products=3, invoices=4, agreements=2, projects=2, seed=11)
    hub_id = install(page, sandbox)
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible()
    expect(page.locator("#hubspot")).to_contain_text(str(hub_id))
    expect(page.locator("#hubspot")).to_contain_text("Connected")
    portal = Portal.objects.get(hub_id=hub_id)
    expect(page.locator(".portal-id")).to_have_text(f"HubSpot portal {hub_id} · portal-{hub_id}.hubspot.example")
    # The checklist: connecting Kleer is the current step, and the page says where the key comes from.
    expect_checklist(page, current="Connect Kleer", done=[])
    expect(page.locator("#key-source")).to_have_text(
        "In Kleer, open Inställningar (Settings) → API to find your Company ID and create an API key. If your Kleer "
        "account does not show them there, ask Kleer support for a Company ID and an API key for this integration."
    )

    # A wrong key first: Kleer's message, nothing saved.
    save_credentials(page, company.company_id, "wrong-key-0000")
    expect(page.get_by_role("alert")).to_have_text(f"Kleer rejected the API key for company {company.company_id}")
    assert not KleerCredentials.objects.filter(portal=portal).exists()
    # Then the right one: green "Configured", the key masked and never echoed.
    save_credentials(page, company.company_id, company.token)
    expect(flash(page)).to_have_text("Kleer credentials saved: Kleer accepted the key.")
    kleer = page.locator("#kleer")
    expect(kleer.locator(".badge--ok").first).to_have_text("Configured")
    expect(kleer).to_contain_text(f"••••{company.token[-4:]}")
    assert company.token not in page.content()
    expect(page.get_by_label("API key")).to_have_value("")
    expect_checklist(page, current="Switch on an object", done=["Connect Kleer"])
    page.screenshot(path=str(screenshots / "general.png"), full_page=True)

    # Clients can go ON at once: `name` is mapped by default. Products too.
    page.locator("#onboarding").get_by_role("link", name="Switch on an object").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("^Clients"))).to_be_visible()
    switch_on(page, "Clients")
    expect(page.locator("#sync-status")).to_contain_text("Next run Now: the scheduler starts it within seconds")
    open_tab(page, "General Configuration")
    expect_checklist(page, current="First sync", done=["Connect Kleer", "Switch on an object"])
    open_tab(page, "Clients")
    add_mapping_with_new_property(page, hub_id, screenshots)
    switch_on(page, "Products")

    # Sync now: runs inline (eager Celery), then the page shows the run and HubSpot holds the records.
    sync_now(page, "Clients", created=company.clients)
    sync_now(page, "Products", created=company.products)
    assert_companies_landed(hub_id, company)
    open_tab(page, "General Configuration")
    expect(page.locator("#onboarding")).to_have_count(0)  # every step done: the checklist is gone
    products = crm.objects_for(hub_id, "products")
    assert len(products) == company.products
    assert all(p["properties"].get("kleer_id") for p in products)

    for spec in catalog.REGISTRY.values():
        open_tab(page, spec.label)
        page.screenshot(path=str(screenshots / f"{spec.key}.png"), full_page=True)

    labels = set(AuditEvent.objects.filter(portal=portal).values_list("actor_label", flat=True))
    assert labels == {f"portal {hub_id}: {EMAIL}"}
    actions = set(AuditEvent.objects.filter(portal=portal).values_list("action", flat=True))
    assert {"portal.installed", "credentials.saved", "object_sync.enabled", "hubspot_property.created"} <= actions
    assert {"mapping.created"} <= actions


def add_mapping_with_new_property(page: Page, hub_id: int, screenshots: Path) -> None:
    """Add mapping → Kleer field "Foreign ID" → Create new property (suggested name) → Save, all in the dialog."""
    page.get_by_role("link", name="Add mapping").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name=re.compile("Add mapping"))).to_be_visible()
    dialog.get_by_label("Kleer field").select_option("foreign-id")
    dialog.get_by_text("Create new property").click()
    expect(dialog.get_by_label("Label")).to_have_attribute("placeholder", "Kleer Foreign ID")
    expect(dialog.get_by_label("Internal name")).to_have_attribute("placeholder", "kleer_foreign_id")
    # A name HubSpot would refuse first: the dialog says why and creates nothing.
    dialog.get_by_label("Internal name").fill("Kleer Foreign")
    dialog.get_by_role("button", name="Create property").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Names for properties should be lowercase and have less than 100 characters"
    )
    expect(dialog.get_by_label("Internal name")).to_be_focused()
    assert crm.property_of(hub_id, "companies", "kleer_foreign_id") is None
    dialog.get_by_label("Internal name").fill("")
    dialog.get_by_role("button", name="Create property").click()
    expect(dialog.get_by_text("Created kleer_foreign_id in HubSpot and selected it.")).to_be_visible()
    expect(dialog.get_by_label("HubSpot property")).to_have_value("kleer_foreign_id")
    expect(dialog.get_by_label("HubSpot property")).to_be_focused()
    expect(dialog.get_by_label("Kleer field")).to_have_value("foreign-id")
    page.screenshot(path=str(screenshots / "mapping-dialog.png"), full_page=True)
    created = crm.property_of(hub_id, "companies", "kleer_foreign_id")
    assert (created["label"], created["type"], created["groupName"]) == ("Kleer Foreign ID", "string", "kleer")
    dialog.get_by_role("button", name="Save mapping").click()
    expect(flash(page)).to_have_text("Mapping to kleer_foreign_id saved.")
    row = page.locator("#mappings tr", has_text="kleer_foreign_id")
    expect(row).to_contain_text("Foreign ID (foreign-id)")
    expect(row).to_contain_text("One-way")


def sync_now(page: Page, label: str, *, created: int) -> None:
    open_tab(page, label)
    page.get_by_role("button", name="Sync now").click()
    expect(flash(page)).to_have_text(f"{label} sync is queued; this page shows when it runs.")
    status = page.locator("#sync-status")
    expect(status.locator("#run-state .badge")).to_have_text("Succeeded")
    expect(status.locator(".counts")).to_have_text(
        re.compile(rf"^\s*{created} read:\s+{created} created · 0 updated ·\s+0 unchanged · 0 failed · 0 skipped\s*$")
    )
    expect(status).to_contain_text(f"{created} record{'s' if created != 1 else ''} in")


def expect_checklist(page: Page, *, current: str, done: list[str]) -> None:
    """The General tab's onboarding checklist: which steps are done and which one is current."""
    steps = page.locator("#onboarding li")
    expect(steps).to_have_count(3)
    expect(page.locator("#onboarding li[aria-current=step] strong")).to_have_text(current)
    expect(page.locator("#onboarding li.checklist__step--done strong")).to_have_text(done)


def assert_companies_landed(hub_id: int, company) -> None:
    """Every Kleer client is a HubSpot company with its name and (new mapping) foreign id."""
    kleer = KleerClient(company_id=company.company_id, token=company.token, allow_sleep=False)
    clients = {record.id: record.data for record in kleer.iter_clients()}
    companies = {c["properties"]["kleer_id"]: c["properties"] for c in crm.objects_for(hub_id, "companies")}
    assert set(companies) == set(clients)
    for kleer_id, client in clients.items():
        assert companies[kleer_id]["name"] == client["name"]
        assert companies[kleer_id].get("kleer_foreign_id") == (client.get("foreign-id") or None)


def test_declining_on_hubspots_consent_page_changes_nothing(page: Page, sandbox: str):
    page.goto(f"{sandbox}/hubspot/install")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Installation cancelled")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "You declined the installation in HubSpot. Nothing was installed or changed."
    )
    assert Portal.objects.count() == 0


@pytest.mark.concurrent_db
def test_dialog_keyboard_edit_delete_and_target_confirmation(page: Page, sandbox: str, screenshots: Path):
    hub_id = install(page, sandbox)
    open_tab(page, "Clients")
    # Edit by keyboard: the dialog opens on Enter, takes focus, closes on Escape and gives focus back.
    edit = page.get_by_role("link", name="Edit mapping to phone")
    edit.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name=re.compile("Edit mapping"))).to_be_visible()
    expect(dialog.get_by_label("Kleer field")).to_be_focused()
    expect(dialog.get_by_label("HubSpot property")).to_have_value("phone")
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(edit).to_be_focused()
    # A constant mapping ("None" + default value), saved with Enter from the default-value field.
    page.get_by_role("link", name="Add mapping").click()
    dialog.get_by_label("Kleer field").select_option("")
    dialog.get_by_label("HubSpot property").select_option("description")
    dialog.get_by_role("button", name="Save mapping").click()
    expect(dialog.get_by_text('With "None" as the Kleer field, enter the default value to write.')).to_be_visible()
    dialog.get_by_label("Default value").fill("Synced from Kleer")
    dialog.get_by_label("Default value").press("Enter")
    expect(flash(page)).to_have_text("Mapping to description saved.")
    row = page.locator("#mappings tr", has_text="description")
    expect(row).to_contain_text("None")
    expect(row).to_contain_text("Synced from Kleer")
    # Delete through the dialog's confirmation.
    page.get_by_role("link", name="Delete mapping to description").click()
    expect(page.locator("dialog[open]").get_by_role("heading", name="Delete mapping?")).to_be_visible()
    page.locator("dialog[open]").get_by_role("button", name="Delete mapping").click()
    expect(flash(page)).to_have_text("Mapping to description deleted.")
    expect(page.locator("#mappings tr", has_text="description")).to_have_count(0)
    # Changing the HubSpot object explains itself and needs confirming.
    page.get_by_label("Sync clients to").select_option("contacts")
    page.get_by_role("button", name="Change…").click()
    expect(page.get_by_role("heading", name="Sync clients to HubSpot contacts instead of companies?")).to_be_visible()
    page.screenshot(path=str(screenshots / "target-confirmation.png"), full_page=True)
    page.get_by_role("button", name="Change to Contacts").click()
    expect(flash(page)).to_have_text("Clients now sync to HubSpot Contacts.")
    expect(page.locator("#mappings")).to_contain_text("firstname")
    assert Portal.objects.get(hub_id=hub_id).object_syncs.get(object_type="clients").hubspot_object == "contacts"


def test_the_sync_status_follows_a_running_run_until_it_finishes(page: Page, sandbox: str, screenshots: Path):
    """The tab polls its JSON status while a run is running (static JS, CSP-safe) and reloads when it ends."""
    hub_id = install(page, sandbox)
    portal = Portal.objects.get(hub_id=hub_id)
    earlier = SyncRun.objects.create(portal=portal, object_type="clients", status="succeeded", read=600)
    SyncRun.objects.filter(pk=earlier.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    running = SyncRun.objects.create(portal=portal, object_type="clients", status="running", read=300)
    open_tab(page, "Clients")
    state = page.locator("#run-state")
    expect(state).to_contain_text(re.compile(r"Running\s+since .*: 300 records read so far of about 600\."))
    expect(state.locator("progress")).to_have_attribute("value", "300")
    page.screenshot(path=str(screenshots / "sync-running.png"), full_page=True)
    SyncRun.objects.filter(pk=running.pk).update(read=450)
    expect(state).to_contain_text("450 records read so far of about 600.", timeout=10_000)
    expect(state.locator("progress")).to_have_attribute("value", "450")
    SyncRun.objects.filter(pk=running.pk).update(status="succeeded", read=610, created=610, finished_at=timezone.now())
    expect(page.locator("#run-state .badge")).to_have_text("Succeeded", timeout=10_000)
    expect(page.locator("#sync-status .counts")).to_contain_text("610 read:")
