"""The sandbox's own pages: the front page at /sandbox/ and the bare prefixes of the two fakes.

A person who types `/sandbox/hubspot/` or `/sandbox/kleer/` into a browser wants the fake's pages; an API client
never asks for the bare prefix with GET. So GET (and HEAD) there redirect to the pages, and every other method
gets what the fake answers for an unknown path.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from sandbox.hubspot import api_views as hubspot_api_views
from sandbox.hubspot.models import Portal
from sandbox.kleer.models import Company

BROWSER_METHODS = ("GET", "HEAD")
# The app's install view, by URL name only: the sandbox must work (and import) without the integration.
APP_INSTALL_URL_NAME = "integration:install"


def _app_install_url() -> str:
    """Where the app's install flow starts ("" when the app is not mounted next to the sandbox)."""
    try:
        return reverse(APP_INSTALL_URL_NAME)
    except NoReverseMatch:
        return ""


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """What the sandbox is, and links to the pages of both fakes."""
    context = {
        "portals": Portal.objects.count(),
        "companies": Company.objects.count(),
        "install_url": _app_install_url(),
    }
    return render(request, "sandbox/index.html", context)


@csrf_exempt  # like the API views it stands in for: a POST here is an API call, answered by HubSpot's rules
def hubspot_root(request: HttpRequest) -> HttpResponse:
    """`/sandbox/hubspot/`: the portals page for a browser, HubSpot's JSON 404 for any other method."""
    if request.method in BROWSER_METHODS:
        return redirect("hubspot_crm_pages_portals")
    return hubspot_api_views.unknown_path(request)


@csrf_exempt  # so a POST gets the 404 it got before this view existed, not a CSRF failure
def kleer_root(request: HttpRequest) -> HttpResponse:
    """`/sandbox/kleer/`: the companies page for a browser; nothing else is served at the bare prefix."""
    if request.method in BROWSER_METHODS:
        return redirect("kleer_pages_companies")
    raise Http404("The fake Kleer serves no API at its bare prefix")
