"""The admin fits a laptop screen (issue 14 point 8): at 1280 and 1024 px the portal list shows Last sync,
Errors 24 h and HubSpot API; sync runs show counts, calls, duration and error; the audit log shows target,
before and after; nothing scrolls sideways, and the portal page's buttons do not overlap its title.
Screenshots: var/screenshots/admin-<page>-<width>.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from integration.models import ObjectSync
from integration.services.audit import Actor
from integration.services.object_syncs import object_sync_set_enabled
from integration.services.sync import object_sync_run
from tests.browser.support import BROWSER

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 1024)
PAGES = {
    "portals": ("/admin/integration/portal/", ["Last sync", "Errors 24 h", "HubSpot API"]),
    "syncruns": ("/admin/integration/syncrun/", ["Counts", "Calls", "Duration", "Error"]),
    "auditlog": ("/admin/integration/auditevent/", ["Target", "Before", "After"]),
}


@pytest.fixture
def world(world_factory, django_user_model):
    world = world_factory(clients=6, products=2, invoices=8, agreements=2, projects=1, enable=("clients",))
    for object_type in ("products", "invoices"):
        object_sync = ObjectSync.objects.get(portal=world.portal, object_type=object_type)
        object_sync_set_enabled(object_sync=object_sync, enabled=True, actor=Actor("ops@example.com"))
    for object_type in ("clients", "products", "invoices"):
        object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type=object_type).pk)
    django_user_model.objects.create_superuser(email="admin@example.com", password="pw-admin-1")
    return world


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", "pw-admin-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def _no_sideways_scroll(page: Page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page is {overflow} px wide at {width} px"
    table = page.evaluate(
        "(() => { const t = document.querySelector('#result_list'); if (!t) return 0;"
        " return t.getBoundingClientRect().right; })()"
    )
    assert table <= width, f"the changelist table ends at {table} px"


def test_admin_lists_and_portal_page_fit_1280_and_1024(world, browser, live_server, screenshots):
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        _login(page, live_server.url)
        for name, (path, headers) in PAGES.items():
            page.goto(f"{live_server.url}{path}")
            page.screenshot(path=str(screenshots / f"admin-{name}-{width}.png"), full_page=True)
            _no_sideways_scroll(page, width)
            for header in headers:
                cell = page.locator("#result_list thead th", has_text=header).first
                box = cell.bounding_box()
                assert box is not None, f"{name}: no column {header!r}"
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{name} {width}: {header!r} off screen"
        page.goto(f"{live_server.url}/admin/integration/portal/{world.portal.pk}/change/")
        page.screenshot(path=str(screenshots / f"admin-portal-{width}.png"))
        _no_sideways_scroll(page, width)
        title = page.locator("#content h2, #content h1").first.bounding_box()
        for index in range(page.locator(".object-tools li").count()):
            button = page.locator(".object-tools li").nth(index).bounding_box()
            overlaps = not (
                button["x"] + button["width"] <= title["x"]
                or title["x"] + title["width"] <= button["x"]
                or button["y"] + button["height"] <= title["y"]
                or title["y"] + title["height"] <= button["y"]
            )
            assert not overlaps, f"portal page at {width}: a button overlaps the title"
        context.close()
