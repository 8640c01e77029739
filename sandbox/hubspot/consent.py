"""The fake's consent page: HubSpot's `https://app.hubspot.com/oauth/authorize` (and `/oauth/{hubId}/authorize`).

https://developers.hubspot.com/docs/apps/legacy-apps/authentication/working-with-oauth (hubspot-api.md §1.1):
`client_id`, `scope` and `redirect_uri` are required; `optional_scope` and `state` are optional; scopes are
space-separated. The user picks an account and approves; the browser then goes to `redirect_uri?code=…&state=…`.
A bad client id, redirect URI or scope set is shown as an error on the page itself: the redirect URI cannot be
trusted before the request checks out. On Deny the fake redirects with `error=access_denied` (a test hook; real
HubSpot just leaves the user on its page). The page is plain HTML with labelled controls, for Playwright.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from sandbox.hubspot import scopes as scope_rules
from sandbox.hubspot import selectors, state
from sandbox.hubspot.models import Portal, default_features

APP_NAME = "Kleer for HubSpot (sandbox)"
PAGE_TEMPLATE = "sandbox/hubspot/authorize.html"
ERROR_TEMPLATE = "sandbox/hubspot/authorize_error.html"
PORTALS_SHOWN = 50
DENIED_DESCRIPTION = "The user declined to install the app."


@dataclass(frozen=True)
class AuthorizeRequest:
    """The authorize URL's parameters."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    optional_scopes: list[str]
    state: str | None

    @classmethod
    def from_query(cls, query: QueryDict) -> AuthorizeRequest:
        # The docs' prose also says `scopes`/`optional_scopes`; every SDK sends `scope`/`optional_scope`.
        return cls(
            client_id=query.get("client_id", ""),
            redirect_uri=query.get("redirect_uri", ""),
            scopes=scope_rules.parse(query.get("scope", query.get("scopes", ""))),
            optional_scopes=scope_rules.parse(query.get("optional_scope", query.get("optional_scopes", ""))),
            state=query.get("state"),
        )

    def problem(self) -> str:
        """Why HubSpot would refuse this authorize request ("" when it is fine)."""
        if not self.client_id or self.client_id != settings.HUBSPOT_CLIENT_ID:
            return f"The app's client_id {self.client_id!r} is not valid."
        uri_problem = redirect_uri_problem(self.redirect_uri)
        if uri_problem:
            return uri_problem
        if not self.scopes:
            return "The install URL has no scope parameter."
        unknown = scope_rules.unknown(self.scopes + self.optional_scopes)
        if unknown:
            return f"The install URL asks for scopes this app does not have: {' '.join(unknown)}."
        if scope_rules.REQUIRED_SCOPE not in self.scopes:
            return f"The scope parameter must include the required scope {scope_rules.REQUIRED_SCOPE!r}."
        return ""


def redirect_uri_problem(uri: str) -> str:
    """HubSpot's redirect URI rules: absolute, https except for localhost, no IP address, no fragment.

    The fake also accepts loopback IPs (127.0.0.1, ::1) over http, which HubSpot refuses, because the product's
    development default is http://127.0.0.1:8000.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The redirect_uri must be an absolute http(s) URL."
    if parts.fragment:
        return "The redirect_uri must not contain a fragment."
    host = parts.hostname
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_loopback:
        return "The redirect_uri must use a host name, not an IP address."
    if parts.scheme == "http" and host != "localhost" and address is None:
        return "The redirect_uri must use https (http is allowed only for localhost)."
    return ""


@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, hub_id: str | None = None) -> HttpResponse:
    """Show the consent page (GET) or act on Approve/Deny (POST, CSRF-protected)."""
    params = AuthorizeRequest.from_query(request.GET)
    problem = params.problem()
    if problem:
        return render(request, ERROR_TEMPLATE, {"message": problem, "app_name": APP_NAME}, status=400)
    fixed = selectors.portal_get(int(hub_id)) if hub_id else None
    if hub_id and fixed is None:
        message = f"HubSpot account {hub_id} does not exist."
        return render(request, ERROR_TEMPLATE, {"message": message, "app_name": APP_NAME}, status=404)
    if request.method == "GET":
        return _page(request, params, fixed)
    if request.POST.get("decision") == "deny":
        return _redirect(params, error="access_denied", error_description=DENIED_DESCRIPTION)
    if request.POST.get("decision") != "approve":
        return _page(request, params, fixed, error="Choose Approve or Deny.", status=400)
    return _approve(request, params, fixed)


def _approve(request: HttpRequest, params: AuthorizeRequest, fixed: Portal | None) -> HttpResponse:
    email = request.POST.get("user_email", "").strip() or state.DEFAULT_USER_EMAIL
    try:
        validate_email(email)
    except ValidationError:
        return _page(request, params, fixed, error=f"{email!r} is not an email address.", status=400)
    portal = fixed or _chosen_portal(request)
    if portal is None:
        return _page(request, params, fixed, error="Choose an account to install the app in.", status=400)
    state.portal_reinstall(portal=portal)
    granted = params.scopes + [
        scope
        for scope in params.optional_scopes
        if scope not in params.scopes and scope_rules.grantable(scope, portal.features)
    ]
    code = state.code_issue(
        portal=portal,
        client_id=params.client_id,
        redirect_uri=params.redirect_uri,
        scopes=granted,
        user_id=state.DEFAULT_USER_ID,
        user_email=email,
    )
    return _redirect(params, code=code.code)


def _chosen_portal(request: HttpRequest) -> Portal | None:
    choice = request.POST.get("portal", "")
    if choice == "new":
        return state.portal_create(features=_features_from_form(request.POST))
    return selectors.portal_get(int(choice)) if choice.isdigit() else None


def _features_from_form(form: QueryDict) -> dict[str, bool]:
    """The new portal's features from the checkboxes (defaults when the form did not show them)."""
    features = default_features()
    if form.get("features_shown") != "1":
        return features
    return {name: f"feature_{name}" in form for name in features}


def _redirect(params: AuthorizeRequest, **values: str) -> HttpResponseRedirect:
    """`redirect_uri` with `values` (and `state`, when given) added to its own query."""
    parts = urlsplit(params.redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    if params.state is not None:
        query.append(("state", params.state))
    return HttpResponseRedirect(urlunsplit(parts._replace(query=urlencode(query))))


def _page(
    request: HttpRequest, params: AuthorizeRequest, fixed: Portal | None, *, error: str = "", status: int = 200
) -> HttpResponse:
    portals = [fixed] if fixed else list(Portal.objects.order_by("-hub_id")[:PORTALS_SHOWN])
    context = {
        "app_name": APP_NAME,
        "params": params,
        "portals": portals,
        "fixed": fixed,
        "features": default_features(),
        "default_email": state.DEFAULT_USER_EMAIL,
        "error": error,
        "action": request.get_full_path(),
    }
    return render(request, PAGE_TEMPLATE, context, status=status)
