"""Installing the app: HubSpot OAuth (authorization-code grant) and binding the browser to the new portal.

Reference: https://developers.hubspot.com/docs/apps/legacy-apps/authentication/working-with-oauth
(hubspot-api.md §1.1–1.3).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.portal_session import portal_session_start
from integration.catalog.hubspot import APP_SCOPES
from integration.clients import hubspot
from integration.clients.errors import ApiError
from integration.clients.hubspot import HubSpotClient
from integration.models import Portal
from integration.services.installations import portal_install, portal_time_zone_set
from integration.services.object_syncs import object_syncs_fit_portal

logger = logging.getLogger("integration.install")

STATE_SESSION_KEY = "oauth_state"
STATE_TTL = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Identity:
    """Who installed the app where, as far as HubSpot told us."""

    hub_id: int | None
    email: str = ""
    hub_domain: str = ""


def redirect_uri() -> str:
    """The callback URL registered with HubSpot; the token call must repeat it exactly (§1.2)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('integration:oauth_callback')}"


@never_cache
@require_GET
def install(request: HttpRequest) -> HttpResponse:
    """Start the install: remember a fresh single-use `state` in this browser's session, go to HubSpot."""
    state = secrets.token_urlsafe(32)
    request.session[STATE_SESSION_KEY] = {"value": state, "expires": time.time() + STATE_TTL.total_seconds()}
    query = urlencode(
        {
            "client_id": settings.HUBSPOT_CLIENT_ID,
            "scope": " ".join(APP_SCOPES),
            "redirect_uri": redirect_uri(),
            "state": state,
        },
        # HubSpot wants the scopes space-separated and encoded as %20, not "+" (§1.1).
        quote_via=quote,
    )
    return HttpResponseRedirect(f"{settings.HUBSPOT_AUTHORIZE_URL}?{query}")


def _state_error(request: HttpRequest) -> str:
    """Why the callback's `state` is unacceptable ("" when it is ours). The stored state is used up either way."""
    stored = request.session.pop(STATE_SESSION_KEY, None)
    given = request.GET.get("state", "")
    if not stored or not isinstance(stored, dict):
        return _("This installation link was already used or was not started in this browser.")
    if time.time() > float(stored.get("expires", 0)):
        return _("The installation took longer than 10 minutes.")
    if not given or not hmac.compare_digest(str(stored.get("value", "")).encode(), given.encode()):
        return _("The installation could not be verified (the state does not match).")
    return ""


def _failure(request: HttpRequest, *, title: str, message: str, status: int) -> HttpResponse:
    context = {"title": title, "message": message, "install_url": reverse("integration:install")}
    return render(request, "integration/install/failed.html", context, status=status)


@never_cache
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """HubSpot sends the browser back here with `code` + `state`, or with `error`. Nothing changes on failure."""
    state_error = _state_error(request)
    if request.GET.get("error"):
        return _declined(request)
    if state_error:
        return _failure(request, title=_("Installation not verified"), message=state_error, status=400)
    code = request.GET.get("code", "")
    if not code:
        return _failure(
            request, title=_("Installation failed"), message=_("HubSpot sent no authorization code."), status=400
        )
    try:
        grant = hubspot.oauth_exchange_code(code=code, redirect_uri=redirect_uri())
    except ApiError as exc:
        logger.warning("token exchange failed: %s", exc)
        message = _("HubSpot did not accept the authorization (%(error)s). Nothing was changed; please try again.") % {
            "error": exc.message
        }
        return _failure(request, title=_("Installation failed"), message=message, status=502)
    identity = _identify(grant)
    if identity.hub_id is None:
        message = _("HubSpot did not tell us which portal was connected. Nothing was changed; please try again.")
        return _failure(request, title=_("Installation failed"), message=message, status=502)
    portal = portal_install(
        hub_id=identity.hub_id,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_in=grant.expires_in,
        scopes=grant.scopes,
        installed_by=identity.email,
        hub_domain=identity.hub_domain,
    )
    _fit_features(portal)
    _learn_time_zone(portal, grant.access_token)
    portal_session_start(request, hub_id=portal.hub_id, email=identity.email, user_id=grant.user_id, via="oauth")
    return HttpResponseRedirect(reverse("integration:settings", kwargs={"hub_id": portal.hub_id}))


def _fit_features(portal: Portal) -> None:
    """Best effort: the install stands even when HubSpot cannot be asked; the first run then explains."""
    try:
        switched = object_syncs_fit_portal(
            portal=portal, hubspot=HubSpotClient(installation=portal.installation, allow_sleep=False)
        )
    except ApiError as exc:
        logger.warning("portal %s: could not check its HubSpot features: %s", portal.hub_id, exc)
        return
    if switched:
        logger.info("portal %s: %s switched to a target the portal has", portal.hub_id, ", ".join(switched))


def _learn_time_zone(portal: Portal, access_token: str) -> None:
    """Best effort: the settings page shows times in the HubSpot account's zone (else TIME_ZONE)."""
    try:
        info = hubspot.oauth_account_info(access_token=access_token)
    except (ApiError, ValueError) as exc:
        logger.info("portal %s: account info unavailable: %s", portal.hub_id, exc)
        return
    portal_time_zone_set(portal=portal, time_zone=str(info.get("timeZone") or ""))


def _declined(request: HttpRequest) -> HttpResponse:
    error = request.GET.get("error", "")
    if error == "access_denied":
        message = _("You declined the installation in HubSpot. Nothing was installed or changed.")
        return _failure(request, title=_("Installation cancelled"), message=message, status=200)
    detail = request.GET.get("error_description") or error
    message = _("HubSpot reported an error: %(error)s. Nothing was installed or changed.") % {"error": detail}
    return _failure(request, title=_("Installation failed"), message=message, status=400)


def _identify(grant: hubspot.TokenGrant) -> Identity:
    """The portal and the installing user: the grant names the hub (since 2025-08), introspection the user.

    Both lookups are best effort: the grant's hub id is enough to install, and a missing email only makes the
    audit trail say "user <id>" instead.
    """
    info = _token_info(grant.access_token)
    hub_id = grant.hub_id or _int(info.get("hub_id"))
    if hub_id is None:
        hub_id = _account_portal_id(grant.access_token)
    return Identity(hub_id=hub_id, email=str(info.get("user") or ""), hub_domain=str(info.get("hub_domain") or ""))


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _token_info(access_token: str) -> dict:
    try:
        return hubspot.oauth_token_info(access_token=access_token)
    except (ApiError, ValueError) as exc:
        logger.info("token introspection unavailable: %s", exc)
        return {}


def _account_portal_id(access_token: str) -> int | None:
    try:
        return _int(hubspot.oauth_account_portal_id(access_token=access_token))
    except (ApiError, ValueError, AttributeError) as exc:
        logger.info("account info unavailable: %s", exc)
        return None
