"""The consent page driven by a real browser (Playwright + Debian's Chromium), through its labels and roles."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sandbox.hubspot import state
from tests.sandbox.hubspot.conftest import CLIENT_ID, REDIRECT_URI

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}; set CHROMIUM_PATH"),
]


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _authorize_url(hs, redirect_uri: str) -> str:
    query = {"client_id": CLIENT_ID, "redirect_uri": redirect_uri, "scope": " ".join(state.ALL_SCOPES), "state": "st"}
    return hs.url("/oauth/authorize") + "?" + urlencode(query)


def test_approve_in_a_browser(hs, page):
    from playwright.sync_api import expect

    # Any page of the live server will do as the callback: the test reads the code from the URL.
    callback = hs.url("/_pages/log/")
    page.goto(_authorize_url(hs, callback))
    expect(page.get_by_role("heading", name=re.compile("wants to access your HubSpot account"))).to_be_visible()
    page.get_by_label("Create a new portal").check()
    page.get_by_label("custom_objects").check()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/_pages/log/\?code="))
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st"]
    # Through HTTP, not the ORM: under Playwright's greenlets an ORM call would open a connection nobody closes.
    [portal] = hs.control("GET", "/portals").json()["portals"]
    assert portal["features"] == {"projects": True, "payments": True, "custom_objects": True}
    body = hs.token_form(grant_type="authorization_code", code=query["code"][0], redirect_uri=callback).json()
    assert body["hub_id"] == portal["hub_id"]


def test_deny_in_a_browser(hs, page):
    from playwright.sync_api import expect

    assert hs.control("POST", "/portals", {}).status_code == 201
    page.goto(_authorize_url(hs, hs.url("/_pages/log/")))
    expect(page.get_by_label(re.compile(r"^Account 10000001"))).to_be_visible()
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(re.compile(r"error=access_denied"))
    assert parse_qs(urlsplit(page.url).query)["error_description"] == ["The user declined to install the app."]


def test_error_page_in_a_browser(hs, page):
    from playwright.sync_api import expect

    page.goto(_authorize_url(hs, REDIRECT_URI).replace(CLIENT_ID, "someone-else"))
    expect(page.get_by_role("alert")).to_have_text("The app's client_id 'someone-else' is not valid.")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
