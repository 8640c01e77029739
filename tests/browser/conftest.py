"""Playwright (sync API) driving Debian's Chromium against the live server. Never downloads a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own cookies) the size of HubSpot's settings frame on a laptop."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots(settings) -> Path:
    """var/screenshots/ (under VAR_DIR), created on demand."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def production_cookies(settings) -> None:
    """Cookies as production sends them: the settings page's SameSite=None; Secure, which
    PartitionedCookieMiddleware (always in MIDDLEWARE) then marks Partitioned; staff's stays Lax. The live server
    reads these settings per request."""
    settings.PORTAL_SESSION_COOKIE_SAMESITE = "None"
    settings.PORTAL_SESSION_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = True
