"""The settings page inside HubSpot's iframe (signed launch, cookies, CSRF, frame-ancestors) and by keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integration.models import Portal
from integration.services.installations import portal_install
from tests.browser.support import BROWSER, launch_url, signature_headers

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

# A stand-in for app.hubspot.com: another site than the live server (localhost), so the cookie rules matter.
HUBSPOT = "https://app.hubspot.test"
SECRET = "browser-test-client-secret"


@pytest.fixture
def portal(live_server, settings) -> Portal:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    return portal_install(
        hub_id=55_000_001, access_token="a", refresh_token="r", expires_in=1800, scopes=["oauth"], installed_by=""
    )


def host_hubspot(page: Page, live_server, portal: Portal) -> str:
    """Serve a stand-in HubSpot page that frames our launch URL, and sign the launch the way HubSpot does."""
    # Chrome's Local Network Access checks stop a public page from framing localhost; in production both
    # sides are public, so the test grants what a real deployment never needs.
    page.context.grant_permissions(["local-network-access"], origin=HUBSPOT)
    launch = launch_url(live_server.url, portal.hub_id)
    page.route(
        f"{HUBSPOT}/settings",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<h1>HubSpot</h1><iframe id="app" title="Kleer" src="{launch}" width="400" height="900"></iframe>',
        ),
    )

    def sign(route, request):
        headers = {**request.headers, **signature_headers(secret=SECRET, method="GET", url=request.url)}
        route.continue_(headers=headers)

    page.route(f"{live_server.url}/hubspot/launch*", sign)
    return f"{HUBSPOT}/settings"


def test_settings_work_inside_a_400px_hubspot_iframe(
    page, live_server, portal, settings, production_cookies, screenshots
):
    # A Playwright context blocks third-party cookies like Chrome's incognito mode: without the Partitioned
    # attribute the session set inside the frame would be dropped and the page would say "signed out".
    settings.FRAME_ANCESTORS = [HUBSPOT]
    page.goto(host_hubspot(page, live_server, portal))
    frame = page.frame_locator("#app")
    expect(frame.get_by_role("heading", name="General Configuration")).to_be_visible()
    expect(frame.get_by_text("Signed in as ada@example.com")).to_be_visible()
    field = frame.get_by_label("Invoice history window (months)")
    field.fill("24")
    frame.get_by_role("button", name="Save sync configuration").click()
    expect(frame.get_by_text("Sync configuration saved.")).to_be_visible()
    portal.refresh_from_db()
    assert portal.invoice_history_months == 24
    page.screenshot(path=str(screenshots / "iframe-400px.png"), full_page=True)
    # The busiest tab fits too: the mappings table turns into labelled rows, nothing scrolls sideways.
    frame.get_by_role("link", name="Clients (off)").click()
    expect(frame.get_by_role("heading", level=1, name="Clients")).to_be_visible()
    expect(frame.get_by_role("switch", name="Clients sync")).to_be_in_viewport()
    inner = page.frame(url=lambda url: "/clients/" in url)
    inner.wait_for_load_state("load")  # the stylesheet applied: measured before it, the table is still wide
    widths = inner.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 400
    assert inner.evaluate("getComputedStyle(document.querySelector('.mappings td')).display") == "block"
    page.screenshot(path=str(screenshots / "iframe-400px-clients.png"), full_page=True)


def test_other_sites_cannot_frame_the_settings(page, live_server, portal, settings, production_cookies):
    settings.FRAME_ANCESTORS = ["https://app.hubspot.com"]
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "frame-ancestors" in message.text else None)
    page.goto(host_hubspot(page, live_server, portal))
    page.wait_for_timeout(1000)
    frame = page.frame(url=lambda url: url.startswith(live_server.url))
    assert frame is None or "General Configuration" not in frame.content()
    assert any("frame-ancestors" in text for text in blocked)


def test_keyboard_only_toggle_shows_the_refusal(page, live_server, portal, settings):
    page.set_extra_http_headers(
        signature_headers(secret=SECRET, method="GET", url=launch_url(live_server.url, portal.hub_id))
    )
    page.goto(launch_url(live_server.url, portal.hub_id))
    page.set_extra_http_headers({})
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    # Tab order: skip link, the language switch in the header, then the section tabs in catalog order.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="English")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Svenska")).to_be_focused()
    names = []
    for _ in range(7):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent.trim().split(/\\s+/).slice(0, 2).join(' ')"))
    assert names == [
        "General Configuration",
        "Clients (off)",
        "Invoices Pro",
        "Agreements Pro",
        "Products (off)",
        "Line Items",
        "Projects Pro",
    ]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Clients (off)")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Clients (off)")).to_have_attribute("aria-current", "page")
    switch = page.get_by_role("switch", name="Clients sync")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.focus()
    page.keyboard.press("Space")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Clients sync was not switched on. Save your Kleer credentials first (General Configuration)."
    )
    expect(page.get_by_role("switch", name="Clients sync")).to_have_attribute("aria-checked", "false")
    assert page.evaluate("getComputedStyle(document.querySelector('.toggle'), ':focus-visible') !== null")
