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


PARTITIONED = "accounts.portal_session.PartitionedCookieMiddleware"


@pytest.fixture
def production_cookies(live_server, settings) -> Iterator[None]:
    """Cookies as production sends them (SameSite=None; Secure; Partitioned), on the running live server.

    The live server built its middleware chain when it started, so the chain is reloaded after MIDDLEWARE
    changes, and again after it is put back.
    """
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    original = list(settings.MIDDLEWARE)
    added = PARTITIONED not in original  # once settings list it, the live server already runs it
    if added:
        settings.MIDDLEWARE = [original[0], PARTITIONED, *original[1:]]
        _reload_middleware(live_server)
    yield
    if added:
        settings.MIDDLEWARE = original
        _reload_middleware(live_server)


def _reload_middleware(live_server) -> None:
    # The live server nests handlers (static files → media files → WSGIHandler); each wrapper that is itself a
    # handler delegates non-static requests inward, so every level's chain is rebuilt.
    handler = live_server.thread.httpd.get_app()
    while handler is not None:
        if hasattr(handler, "load_middleware"):
            handler.load_middleware()
        handler = getattr(handler, "application", None)
