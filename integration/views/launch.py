"""Opening the settings page from HubSpot: a launch request HubSpot signed binds the session to its portal.

Reference: https://developers.hubspot.com/docs/apps/developer-platform/add-features/ui-extensibility/fetching-data
("Headers and metadata": HubSpot adds `portalId`, `userId`, `userEmail`, `appId` as query parameters and signs
the whole URL with v3; hubspot-api.md §7.1–7.2). Only the signed query string is trusted, never a body field.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.language import remember_hubspot_locale
from accounts.portal_session import frameable, portal_session_start, session_hub_id, signed_out
from integration.inputs import ascii_int
from integration.models import Portal
from integration.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_v3

logger = logging.getLogger("integration.launch")


def signed_url(request: HttpRequest) -> str:
    """The URL HubSpot called: our public base URL (not the Host header, which a proxy may rewrite) + path + query."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{request.get_full_path()}"


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    context = {
        "title": _("Could not open the settings"),
        "message": message,
        "install_url": reverse("integration:install"),
    }
    return frameable(render(request, "integration/install/failed.html", context, status=status))


@never_cache
@csrf_exempt  # authenticated by HubSpot's signature instead; hubspot.fetch cannot send a CSRF token
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def launch(request: HttpRequest) -> HttpResponse:
    """Verify HubSpot's v3 signature, bind this session to `portalId`, and show that portal's settings."""
    try:
        verify_v3(
            secret=settings.HUBSPOT_CLIENT_SECRET,
            method=request.method or "GET",
            uri=signed_url(request),
            body=request.body,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
        )
    except SignatureError as exc:
        logger.warning("refused settings launch: %s", exc.reason)
        return _refused(
            request, _("This link is not signed by HubSpot or has expired. Open the app from HubSpot."), 403
        )
    hub_id = ascii_int(request.GET.get("portalId", ""))  # int() would take " 1_2", "١٢" and huge numbers
    if hub_id is None:
        return _refused(request, _("HubSpot did not say which portal to open."), 400)
    if not Portal.objects.filter(hub_id=hub_id).exists():
        message = _("The app is not installed in HubSpot portal %(hub_id)s. Install it first.") % {"hub_id": hub_id}
        return _refused(request, message, 404)
    user_id = request.GET.get("userId", "")
    portal_session_start(
        request,
        hub_id=hub_id,
        email=request.GET.get("userEmail", ""),
        user_id=ascii_int(user_id),
        via="launch",
    )
    # The HubSpot user's locale picks the page's language (unless the switch on the page already did). The
    # settings component passes `context.user.locale` as `locale`; it is part of the signed URL like the rest.
    remember_hubspot_locale(request, request.GET.get("locale"))
    return frameable(HttpResponseRedirect(reverse("integration:settings", kwargs={"hub_id": hub_id})))


@never_cache
@xframe_options_exempt
def settings_home(request: HttpRequest) -> HttpResponse:
    """`/settings/`: the settings of the portal this session is bound to."""
    hub_id = session_hub_id(request)
    if hub_id is None:
        return signed_out(request)
    return frameable(HttpResponseRedirect(reverse("integration:settings", kwargs={"hub_id": hub_id})))
