"""The sandbox's front page at /sandbox/, and the bare prefixes of the two fakes: a browser lands on their pages,
an API client still gets the fake's answer for an unknown path."""

from __future__ import annotations

import re

import pytest

from sandbox.hubspot import state as hubspot_state
from sandbox.kleer.seed import company_seed
from tests.sandbox.kleer.conftest import TODAY

pytestmark = pytest.mark.django_db

LINKS = {
    "/sandbox/hubspot/_pages/": "Portals",
    "/sandbox/hubspot/_pages/log/": "Request log",
    "/hubspot/install": "Install the app",
    "/sandbox/kleer/_pages/": "Companies",
}


def test_front_page_explains_the_sandbox_and_links_both_fakes(client):
    page = client.get("/sandbox/")
    assert page.status_code == 200
    text = page.content.decode()
    about = re.sub(r"\s+", " ", re.search(r'<p class="intro" id="about">(.*?)</p>', text, re.S).group(1))
    assert "fakes of the real APIs" in about
    assert "development, the <code>make run</code> demo and the tests" in about
    assert "always off in production" in about
    for href, label in LINKS.items():
        assert f'<a href="{href}">{label}</a>' in text


def test_every_front_page_link_works(client):
    company_seed(clients=2, products=1, invoices=3, agreements=0, projects=0, today=TODAY)
    hubspot_state.portal_create()
    text = client.get("/sandbox/").content.decode()
    assert "Portals</a> (1)" in text and "Companies</a> (1)" in text
    for href in LINKS:
        response = client.get(href, follow=True)
        assert response.status_code == 200, (href, response.redirect_chain)


def test_the_sandbox_pages_link_back_to_the_front_page(client):
    for path in ("/sandbox/kleer/_pages/", "/sandbox/hubspot/_pages/"):
        assert '<a href="/sandbox/">Sandbox</a>' in client.get(path).content.decode(), path


def test_front_page_is_get_only(client):
    assert client.post("/sandbox/").status_code == 405


@pytest.mark.parametrize(
    ("prefix", "pages"),
    [("/sandbox/hubspot/", "/sandbox/hubspot/_pages/"), ("/sandbox/kleer/", "/sandbox/kleer/_pages/")],
)
def test_a_browser_at_a_fakes_bare_prefix_goes_to_its_pages(client, prefix, pages):
    response = client.get(prefix)
    assert (response.status_code, response["Location"]) == (302, pages)
    assert client.head(prefix).status_code == 302
    # Without the slash, Django's slash redirect comes first.
    assert client.get(prefix.rstrip("/"), follow=True).redirect_chain == [(prefix, 301), (pages, 302)]


def test_hubspot_api_paths_keep_hubspots_json_404(client):
    # Only the bare prefix redirects, and only for GET: other methods there, and every unknown API path, are
    # answered as HubSpot answers an unknown endpoint.
    for method, path in (
        ("post", "/sandbox/hubspot/"),
        ("get", "/sandbox/hubspot/crm/v3/nothing-here"),
        ("get", "/sandbox/hubspot/x"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/json"), path
        assert response.json()["category"] == "OBJECT_NOT_FOUND"
    # The fake's own pages keep Django's 404.
    assert client.get("/sandbox/hubspot/_pages/0/widgets/").status_code == 404


def test_kleer_bare_prefix_serves_no_api(client):
    assert client.post("/sandbox/kleer/").status_code == 404
    assert client.put("/sandbox/kleer/").status_code == 404
