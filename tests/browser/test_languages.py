"""Every settings tab in English and in Swedish, in headless Chromium against the sandbox: the language switch in
the header, the page's words per language, and a layout that holds the longer Swedish words (no horizontal
scrolling in HubSpot's frame, no button or badge text cut). Screenshots: var/screenshots/settings-<tab>-<lang>.png.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from integration.models import Portal
from integration.tasks import object_sync_run
from tests.browser.support import BROWSER, launch_url, signature_headers

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

SECRET = "browser-languages-client-secret"
TABS = ("general", "clients", "invoices", "agreements", "products", "line_items", "projects")
# What each language calls the tabs (the tab bar) and the first heading of the General tab.
WORDS = {
    "en": {
        "general": "General Configuration",
        "clients": "Clients",
        "invoices": "Invoices",
        "agreements": "Agreements",
        "products": "Products",
        "line_items": "Line Items",
        "projects": "Projects",
        "sync_now": "Sync now",
        "switch": "English",
    },
    "sv": {
        "general": "Allmänna inställningar",
        "clients": "Kunder",
        "invoices": "Fakturor",
        "agreements": "Avtal",
        "products": "Produkter",
        "line_items": "Fakturarader",
        "projects": "Projekt",
        "sync_now": "Synka nu",
        "switch": "Svenska",
    },
}


@pytest.fixture
def world(world_factory, settings):
    """A Pro portal with a Kleer company, clients and products switched on and synced once (counts on the tabs)."""
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    cache.clear()
    world = world_factory(clients=6, products=3, invoices=6, agreements=2, projects=2, enable=("clients", "products"))
    for object_sync in world.portal.object_syncs.filter(enabled=True):
        object_sync_run(object_sync.pk)
    return world


def open_settings(page: Page, base: str, portal: Portal) -> None:
    """As HubSpot opens it: a signed launch URL (no locale, so the browser's English applies first)."""
    url = launch_url(base, portal.hub_id)
    page.set_extra_http_headers(signature_headers(secret=SECRET, method="GET", url=url))
    page.goto(url)
    page.set_extra_http_headers({})


def assert_fits(page: Page) -> None:
    """Nothing wider than the frame, and no control whose text is cut (scrollWidth beyond its box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.tab, .button, .badge, .toggle, .language-switch__option, th, dt')]
              .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
              .map(e => e.textContent.trim())"""
    )
    assert cut == []


def test_every_tab_in_english_and_swedish(page: Page, world, live_server, screenshots):
    open_settings(page, live_server.url, world.portal)
    for lang in ("en", "sv"):
        words = WORDS[lang]
        page.locator(".language-switch").get_by_role("button", name=words["switch"]).click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator(".language-switch [aria-pressed=true]")).to_have_text(words["switch"])
        for tab in TABS:
            page.get_by_role("navigation").get_by_role("link", name=words[tab]).click()
            expect(page.locator("h1.tab-title")).to_contain_text(words[tab])
            if tab in ("clients", "products"):
                expect(page.locator("#sync-status").get_by_role("button", name=words["sync_now"])).to_be_visible()
            assert_fits(page)
            page.screenshot(path=str(screenshots / f"settings-{tab}-{lang}.png"), full_page=True)
        # The mapping dialog, whose labels are the longest words of the page.
        page.get_by_role("navigation").get_by_role("link", name=words["clients"]).click()
        page.locator("#mappings").get_by_role(
            "link", name="Lägg till mappning" if lang == "sv" else "Add mapping"
        ).click()
        expect(page.locator("dialog[open]")).to_be_visible()
        assert_fits(page)
        page.screenshot(path=str(screenshots / f"settings-clients-dialog-{lang}.png"))
        page.keyboard.press("Escape")
    # The choice stays for the session: another tab opened later is still Swedish.
    page.goto(f"{live_server.url}/portals/{world.hub_id}/settings/")
    expect(page.locator("h1.tab-title")).to_have_text("Allmänna inställningar")
