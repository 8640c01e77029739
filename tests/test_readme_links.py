"""Every local page the README names answers: a newcomer who follows it after `make run` never meets a 404.

The links are read from README.md itself: `http://127.0.0.1:8000/…` URLs and backticked paths (`/admin/`,
`GET /healthz`). Paths that are not pages (API endpoints that need a token or a body, path patterns) are left out
by NOT_PAGES. The world is the one `make run` builds (`demo_setup`), and pages behind the admin login are fetched
signed in with the login the README gives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

README = Path(settings.BASE_DIR) / "README.md"
SERVER_URL = re.compile(r"http://127\.0\.0\.1:8000(/[^\s<>()`'\"]*)")
CODE_PATH = re.compile(r"`(?:GET )?(/[^`\s]*)`")
NOT_PAGES = [
    re.compile(r"[{}<>*…]"),  # a pattern such as /sandbox/kleer/v1/company/{id}/…, not a link
    re.compile(r"^/sandbox/kleer/(api/)?v1/"),  # the fake Kleer's API: needs an X-Token
    re.compile(r"^/sandbox/hubspot/(?!$|_pages/)"),  # the fake HubSpot's API and controls: tokens, bodies
    re.compile(r"^/sandbox/kleer/_fake/"),  # the fake Kleer's control endpoints
    re.compile(r"^/hubspot/(webhooks|oauth/callback|launch)"),  # called by HubSpot, signed or with a code
    re.compile(r"^/metrics$"),  # Prometheus's: needs METRICS_TOKEN, 404 while it is unset (make run)
]
# Pages behind the staff login: fetched signed in as the README's admin.
NEEDS_LOGIN = re.compile(r"^/(admin|portals)/")
# Named by the README today; the test fails if the parsing stops finding them.
EXPECTED = {
    "/admin/",
    "/healthz",
    "/hubspot/install",
    "/sandbox/",
    "/sandbox/hubspot/",
    "/sandbox/hubspot/_pages/",
    "/sandbox/hubspot/_pages/log/",
    "/sandbox/kleer/",
    "/sandbox/kleer/_pages/",
}
# The login `make run` creates, as the README states it.
ADMIN_LOGIN = {"email": "admin@example.com", "password": "admin"}


def readme_pages() -> list[str]:
    """The local GET pages the README names, in order."""
    text = README.read_text(encoding="utf-8")
    paths = {m.group(1) for m in SERVER_URL.finditer(text)} | {m.group(1) for m in CODE_PATH.finditer(text)}
    return sorted(path for path in paths if not any(rule.search(path) for rule in NOT_PAGES))


def test_the_readme_names_the_pages_a_newcomer_opens():
    assert set(readme_pages()) >= EXPECTED
    assert f"`{ADMIN_LOGIN['email']}` / `{ADMIN_LOGIN['password']}`" in README.read_text(encoding="utf-8")


@pytest.fixture
def demo_world(sandbox_urls, transactional_db, settings):  # type: ignore[no-untyped-def]
    """What `make run` seeds on first start: the admin login and a demo portal connected to a Kleer company."""
    from integration.models import Portal

    settings.DEBUG = True  # demo_setup refuses to run without it, as in production
    call_command("demo_setup", "--invoices=20")
    settings.DEBUG = False
    assert Portal.objects.exists(), "demo_setup did not seed the demo portal"


def test_every_local_page_the_readme_names_answers(demo_world, client):
    assert client.login(**ADMIN_LOGIN), "the README's admin login does not sign in"
    anonymous = type(client)()
    failures = []
    for path in readme_pages():
        browser = client if NEEDS_LOGIN.match(path) else anonymous
        response = browser.get(path, follow=True)
        if response.status_code != 200:
            failures.append((path, response.status_code, response.redirect_chain))
    assert not failures, failures


def test_readme_pages_behind_the_login_ask_for_it(demo_world, client):
    # So the signed-in fetch above is needed, and the pages fetched anonymously really are public.
    for path in readme_pages():
        response = client.get(path)
        if NEEDS_LOGIN.match(path):
            assert response.status_code == 302 and "/login/" in response["Location"], path
        else:
            assert "/login/" not in response.get("Location", ""), path
