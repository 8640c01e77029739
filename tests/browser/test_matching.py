"""An ambiguous match on the Clients tab, in headless Chromium against the sandbox: the error names both HubSpot
candidates, the customer picks one, and the linked company carries the Kleer client from then on.
Screenshot: var/screenshots/matching-ambiguous.png.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from integration.models import RecordError
from sandbox.hubspot_crm.selectors import objects_for
from tests.browser.support import BROWSER, launch_url, signature_headers
from tests.integration.matching.support import ambiguous_world

pytestmark = [*BROWSER, pytest.mark.django_db(transaction=True)]

SECRET = "browser-matching-client-secret"


def test_customer_picks_the_company_an_ambiguous_client_is(
    page: Page, sandbox_urls, world_factory, settings, screenshots
):
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    cache.clear()
    world, ids, crm_ids, error = ambiguous_world(world_factory)
    url = launch_url(sandbox_urls, world.hub_id)
    page.set_extra_http_headers(signature_headers(secret=SECRET, method="GET", url=url))
    page.goto(url)
    page.set_extra_http_headers({})
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name=re.compile("^Clients")).click()

    errors = page.locator(".record-errors")
    expect(errors).to_contain_text("2 HubSpot company records have the organisation number of this record")
    candidates = errors.get_by_role("list", name="Pick the HubSpot record to link")
    expect(candidates.get_by_role("button")).to_have_text(
        [f"Link Acme (HubSpot {crm_ids[0]})", f"Link Acme (old) (HubSpot {crm_ids[1]})", re.compile("^None of these")]
    )
    errors.screenshot(path=str(screenshots / "matching-ambiguous.png"))

    candidates.get_by_role("button", name=f"Link Acme (old) (HubSpot {crm_ids[1]})").click()

    expect(page.locator(".messages")).to_contain_text(f"Linked to HubSpot record {crm_ids[1]}.")
    expect(page.locator(".record-errors")).to_have_count(0)
    error.refresh_from_db()
    assert error.status == RecordError.Status.RESOLVED
    linked = {r["id"]: r["properties"].get("kleer_id") for r in objects_for(world.hub_id, "companies")}
    assert (linked[crm_ids[0]], linked[crm_ids[1]]) == (None, ids[0])
