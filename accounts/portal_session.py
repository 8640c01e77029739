"""The portal-bound session of the settings page (DESIGN §6).

Customers never get a Django user. Their browser session is bound to exactly one HubSpot portal, and only two
things bind it: the OAuth install callback and a launch request HubSpot signed (v3). Support staff use their
own Django login instead and may open any portal's page when they hold `integration.change_portal`; what they
change is audited as staff.

Every settings view takes the portal from `portal_access_required`, never from a form field or a query
parameter, so a session bound to one portal can neither read nor change another's data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from http.cookies import CookieError
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt

from integration.models import Portal
from integration.services.audit import Actor

logger = logging.getLogger(__name__)

SESSION_HUB_ID = "portal_hub_id"
SESSION_EMAIL = "portal_user_email"
SESSION_USER_ID = "portal_user_id"
SESSION_VIA = "portal_via"
# A customer's session lasts a working day; HubSpot re-launches (and so re-binds) the page on every visit.
SESSION_AGE = dt.timedelta(hours=8)
STAFF_PERMISSION = "integration.change_portal"


@dataclass(frozen=True)
class PortalAccess:
    """Who is looking at which portal's settings: a portal user (session) or a staff member."""

    portal: Portal
    actor: Actor
    is_staff: bool
    email: str = ""

    @property
    def hub_id(self) -> int:
        return self.portal.hub_id


def portal_session_start(
    request: HttpRequest, *, hub_id: int, email: str = "", user_id: int | None = None, via: str
) -> None:
    """Bind this browser session to `hub_id` (called only after OAuth or a verified signed launch).

    The session key is rotated first so a key planted before the binding (session fixation) is worthless.
    """
    request.session.cycle_key()
    request.session[SESSION_HUB_ID] = int(hub_id)
    request.session[SESSION_EMAIL] = email
    request.session[SESSION_USER_ID] = user_id
    request.session[SESSION_VIA] = via
    request.session.set_expiry(int(SESSION_AGE.total_seconds()))


def session_hub_id(request: HttpRequest) -> int | None:
    """The portal this browser session is bound to, if any."""
    value = request.session.get(SESSION_HUB_ID)
    return int(value) if value is not None else None


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff and user.has_perm(STAFF_PERMISSION))


def portal_access(request: HttpRequest, hub_id: int) -> PortalAccess | None:
    """Access to `hub_id` for this request; None when nobody is signed in; Http404 for anyone else's portal.

    A session bound to another portal gets the same 404 as a portal that does not exist, so ids cannot be
    probed.
    """
    bound = session_hub_id(request)
    if bound == hub_id:
        portal = Portal.objects.filter(hub_id=hub_id).first()
        if portal is None:
            raise Http404("No such portal")
        email = request.session.get(SESSION_EMAIL, "")
        actor = Actor.portal_user(hub_id=hub_id, email=email, user_id=request.session.get(SESSION_USER_ID))
        return PortalAccess(portal=portal, actor=actor, is_staff=False, email=email)
    if _is_staff(request):
        portal = Portal.objects.filter(hub_id=hub_id).first()
        if portal is None:
            raise Http404("No such portal")
        return PortalAccess(portal=portal, actor=Actor.staff(request.user), is_staff=True, email=request.user.email)
    if bound is not None or request.user.is_authenticated:
        raise Http404("No such portal")
    return None


def frameable(response: HttpResponse) -> HttpResponse:
    """Let HubSpot (and only HubSpot) frame this response: CSP frame-ancestors instead of X-Frame-Options.

    Reference: https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors
    (browsers ignore X-Frame-Options when frame-ancestors is present, but DENY would win in old ones, so the
    view is also exempted from XFrameOptionsMiddleware by `xframe_options_exempt`).
    """
    ancestors = " ".join(settings.FRAME_ANCESTORS) or "'none'"
    response["Content-Security-Policy"] = f"{PAGE_POLICY}; frame-ancestors {ancestors}"
    return response


# The settings pages load only their own static files: no inline script or style, no third-party origin, no
# plugins, forms that post only back here (and to HubSpot's consent page, which Reconnect leads to). An injected
# script tag or a form pointing elsewhere is inert.
# Reference: https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)


def signed_out(request: HttpRequest) -> HttpResponse:
    """The page shown when nobody is signed in: open the settings from HubSpot (or log in as staff)."""
    return frameable(render(request, "integration/signed_out.html", status=403))


@xframe_options_exempt
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a page that can show inside HubSpot's frame and says what to do.

    Django's default 403 page is sent with X-Frame-Options: DENY, so inside the settings iframe the customer
    would see an empty, broken frame. The usual cause there is a partitioned or blocked cookie, or a page left
    open past its session. `reason` is Django's technical text; it is logged, not shown.
    """
    logger.info("CSRF check failed on %s: %s", request.path, reason)
    match = request.resolver_match
    hub_id = match.kwargs.get("hub_id") if match else None
    reload_url = reverse("integration:settings", args=[hub_id]) if hub_id else reverse("integration:settings_home")
    context = {"reload_url": reload_url}
    return frameable(render(request, "integration/csrf_failed.html", context, status=403))


def portal_access_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve `hub_id` from the URL to a PortalAccess (or refuse), pass it to the view, make the page frameable.

    The view is called as `view(request, access, **other_url_kwargs)`.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, hub_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        access = portal_access(request, int(hub_id))
        if access is None:
            return signed_out(request)
        # Times on the page are the portal's (its HubSpot account's zone), shown with the zone's abbreviation.
        with timezone.override(access.portal.zone):
            return frameable(view(request, access, *args, **kwargs))

    return xframe_options_exempt(wrapper)


class PartitionedCookieMiddleware:
    """Mark cross-site cookies (SameSite=None; Secure) `Partitioned` (CHIPS) so they survive inside HubSpot's iframe.

    Browsers that block third-party cookies (Chrome incognito and its 3PC phase-out, Safari, Firefox) drop an
    unpartitioned session cookie set inside the settings iframe, and the page could never keep a session there.
    A partitioned cookie lives in a jar keyed by the top-level site (HubSpot), which is exactly the scope the
    signed launch binds. Reference: https://developer.mozilla.org/en-US/docs/Web/Privacy/Guides/Privacy_sandbox/Partitioned_cookies

    List it above SessionMiddleware and CsrfViewMiddleware so it sees the cookies they set. Python < 3.14's
    `Morsel` has no `partitioned` attribute, so the flag rides on the Path value, which Morsel emits verbatim.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for morsel in response.cookies.values():
            if str(morsel["samesite"]).lower() != "none" or not morsel["secure"]:
                continue
            if "partitioned" in str(morsel["path"]).lower():
                continue
            try:
                morsel["partitioned"] = True  # Python 3.14+
            except CookieError:
                morsel["path"] = f"{morsel['path'] or '/'}; Partitioned"
        return response
