"""The fake's OAuth API: token endpoint, token metadata, introspection, revocation (api.hubapi.com side).

Paths and shapes follow HubSpot's spec (`oauth.json`, 2026-03; v1 from rollout 155908) and
https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens:
- `POST /oauth/{v1|v3|YYYY-MM}/token`, form-encoded: `authorization_code` and `refresh_token` grants; the refresh
  token is returned unchanged; errors carry RFC 6749 `error`/`error_description` plus HubSpot's legacy
  `status`/`message` (changelog "new-oauth-v3-api-endpoints-and-standardized-error-responses"), HTTP 400;
- `GET /oauth/v1/access-tokens/{token}`, `GET|DELETE /oauth/v1/refresh-tokens/{token}` (legacy metadata);
- `POST /oauth/{v3|YYYY-MM}/token/introspect` and `/token/revoke`, form-encoded with client credentials.
Statuses and messages beyond BAD_REFRESH_TOKEN are community-observed (BAD_AUTH_CODE "missing or unknown auth
code", MISMATCH_REDIRECT_URI_AUTH_CODE, EXPIRED_AUTH_CODE, BAD_CLIENT_ID/BAD_CLIENT_SECRET with invalid_client);
the fake's wording for the rest is its own.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot import clock, selectors, state
from sandbox.hubspot.gateway import HubSpotError, hubspot_public, require_method
from sandbox.hubspot.models import AccessToken, AuthorizationCode, Portal, RefreshToken

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, content_type=JSON_CONTENT_TYPE)


def _client_error(form: Any) -> state.GrantError | None:
    """Client authentication, checked before the grant (RFC 6749 §5.2)."""
    client_id = form.get("client_id", "")
    if not client_id or not hmac.compare_digest(client_id, settings.HUBSPOT_CLIENT_ID or ""):
        return state.GrantError("invalid_client", "BAD_CLIENT_ID", "missing or invalid client id")
    secret = form.get("client_secret", "")
    if not secret or not hmac.compare_digest(secret, settings.HUBSPOT_CLIENT_SECRET or ""):
        return state.GrantError("invalid_client", "BAD_CLIENT_SECRET", "missing or invalid client secret")
    return None


# -- which portal a call concerns (for its faults and its log entry) ------------------------------------


def _portal_of_grant(request: HttpRequest, **_kwargs: Any) -> Portal | None:
    if request.method != "POST":
        return None
    code = request.POST.get("code", "")
    if code:
        grant = AuthorizationCode.objects.select_related("portal").filter(code=code).first()
        return grant.portal if grant else None
    refresh = selectors.refresh_token_get(request.POST.get("refresh_token", ""))
    return refresh.portal if refresh else None


def _portal_of_token(token: str) -> Portal | None:
    access = selectors.access_token_get(token)
    if access is not None:
        return access.portal
    refresh = selectors.refresh_token_get(token)
    return refresh.portal if refresh else None


def _portal_of_path_token(_request: HttpRequest, **kwargs: Any) -> Portal | None:
    return _portal_of_token(kwargs.get("token", ""))


def _portal_of_form_token(request: HttpRequest, **_kwargs: Any) -> Portal | None:
    return _portal_of_token(_form_token(request)) if request.method == "POST" else None


def _form_token(request: HttpRequest) -> str:
    """The token of an introspect/revoke call: `token` (spec), or `access_token`/`refresh_token` (docs prose)."""
    form = request.POST
    return form.get("token") or form.get("access_token") or form.get("refresh_token") or ""


# -- token endpoint ------------------------------------------------------------------------------------


@hubspot_public(portal_of=_portal_of_grant)
def token(request: HttpRequest, version: str) -> HttpResponse:
    """`POST /oauth/{version}/token`: exchange a code or a refresh token for a 30-minute access token."""
    require_method(request, "POST")
    try:
        access = _grant(request.POST)
    except state.GrantError as exc:
        return _json(exc.body(), status=400)
    return _json(token_body(access))


def _grant(form: Any) -> AccessToken:
    """The access token a valid grant earns; GrantError for anything else (client checked first)."""
    error = _client_error(form)
    if error is not None:
        raise error
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        return state.code_redeem(
            code=form.get("code", ""), client_id=form["client_id"], redirect_uri=form.get("redirect_uri", "")
        )
    if grant_type == "refresh_token":
        return state.refresh_grant(refresh_token=form.get("refresh_token", ""), scope=form.get("scope", ""))
    # client_credentials (app-level tokens for the webhooks journal) is not simulated.
    raise state.GrantError(
        "unsupported_grant_type", "BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token"
    )


def token_body(access: AccessToken) -> dict[str, Any]:
    """`AccessTokenResponse` (oauth.json): hub_id, scopes and user_id included since 2025-08-18."""
    return {
        "token_type": "bearer",
        "refresh_token": access.refresh_token,
        "access_token": access.token,
        "expires_in": _expires_in(access),
        "hub_id": access.portal.hub_id,
        "scopes": list(access.scopes),
        "user_id": access.user_id,
        "token_use": "access_token",
    }


def _expires_in(access: AccessToken) -> int:
    return max(0, round((access.expires_at - clock.now()).total_seconds()))


# -- metadata (v1), introspection and revocation (v3 / date-versioned) -------------------------------


def _not_found(message: str) -> HubSpotError:
    # The fake's choice for unknown tokens on the v1 metadata endpoints (hubspot-api.md §10.2).
    return HubSpotError(404, message, category="OBJECT_NOT_FOUND")


@hubspot_public(portal_of=_portal_of_path_token)
def access_token_metadata(request: HttpRequest, token: str) -> HttpResponse:
    """`GET /oauth/v1/access-tokens/{token}` (`AccessTokenInfoResponse`)."""
    require_method(request, "GET")
    access = selectors.access_token_get(token)
    if access is None or not state.access_token_usable(access):
        raise _not_found("The access token is unknown, expired or revoked")
    info = {key: value for key, value in _access_info(access).items() if key != "client_id"}
    return _json({**info, "token_type": "access"})


@hubspot_public(portal_of=_portal_of_path_token)
def refresh_token_metadata(request: HttpRequest, token: str) -> HttpResponse:
    """`GET /oauth/v1/refresh-tokens/{token}`; `DELETE` revokes it (access tokens already issued keep working)."""
    require_method(request, "GET", "DELETE")
    refresh = selectors.refresh_token_get(token)
    if refresh is None or refresh.revoked or not refresh.portal.installed:
        raise _not_found("The refresh token is unknown or revoked")
    if request.method == "DELETE":
        state.refresh_token_revoke(token=refresh.token)
        return HttpResponse(status=204)
    info = _refresh_info(refresh)
    return _json({key: info[key] for key in _V1_REFRESH_FIELDS} | {"token_type": "refresh"})


_V1_REFRESH_FIELDS = ("token", "user", "hub_domain", "scopes", "hub_id", "client_id", "user_id")


@hubspot_public(portal_of=_portal_of_form_token)
def introspect(request: HttpRequest, version: str) -> HttpResponse:
    """`POST /oauth/{version}/token/introspect`: `{"active": false}` for anything not live (RFC 7662)."""
    require_method(request, "POST")
    error = _client_error(request.POST)
    if error is not None:
        return _json(error.body(), status=400)
    value, hint = _form_token(request), request.POST.get("token_type_hint", "")
    lookups = [_introspect_refresh, _introspect_access]
    if hint != "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        info = lookup(value)
        if info is not None:
            return _json(info)
    return _json({"active": False})


def _introspect_access(value: str) -> dict[str, Any] | None:
    access = selectors.access_token_get(value)
    if access is None or not state.access_token_usable(access):
        return None
    return {"active": True, **_access_info(access), "token_use": "access_token", "token_type": "Bearer"}


def _introspect_refresh(value: str) -> dict[str, Any] | None:
    refresh = selectors.refresh_token_get(value)
    if refresh is None or refresh.revoked or not refresh.portal.installed:
        return None
    return {"active": True, **_refresh_info(refresh), "token_use": "refresh_token", "token_type": "refresh"}


@hubspot_public(portal_of=_portal_of_form_token)
def revoke(request: HttpRequest, version: str) -> HttpResponse:
    """`POST /oauth/{version}/token/revoke`: 200 with an empty body, also for unknown tokens (RFC 7009 §2.2)."""
    require_method(request, "POST")
    error = _client_error(request.POST)
    if error is not None:
        return _json(error.body(), status=400)
    value = _form_token(request)
    if not state.refresh_token_revoke(token=value):
        state.access_token_revoke(token=value)
    return HttpResponse(status=200, content_type=JSON_CONTENT_TYPE)


def _access_info(access: AccessToken) -> dict[str, Any]:
    portal = access.portal
    return {
        "token": access.token,
        "user": access.user_email,
        "hub_domain": portal.hub_domain,
        "scopes": list(access.scopes),
        "signed_access_token": _signed_access_token(access),
        "hub_id": portal.hub_id,
        "app_id": state.app_id(),
        "client_id": settings.HUBSPOT_CLIENT_ID,
        "expires_in": _expires_in(access),
        "user_id": access.user_id,
        "is_private_distribution": False,
    }


def _refresh_info(refresh: RefreshToken) -> dict[str, Any]:
    return {
        "token": refresh.token,
        "user": refresh.user_email,
        "hub_domain": refresh.portal.hub_domain,
        "scopes": list(refresh.scopes),
        "hub_id": refresh.portal.hub_id,
        "app_id": state.app_id(),
        "client_id": settings.HUBSPOT_CLIENT_ID,
        "user_id": refresh.user_id,
    }


def _signed_access_token(access: AccessToken) -> dict[str, Any]:
    """`SignedAccessToken` (oauth.json): every required field, with opaque values where HubSpot's are internal."""
    digest = hashlib.sha256(access.token.encode()).hexdigest()
    return {
        "expiresAt": clock.to_ms(access.expires_at),
        "scopes": digest[:24],
        "hubId": access.portal.hub_id,
        "userId": access.user_id,
        "appId": state.app_id(),
        "appInstallId": f"{state.app_id()}-{access.portal.hub_id}",
        "audience": "api.hubapi.com",
        "installingUserId": access.user_id,
        "signature": digest[24:48],
        "scopeToScopeGroupPks": digest[48:64],
        "newSignature": digest[:32],
        "hublet": access.portal.data_hosting_location,
        "trialScopes": "",
        "trialScopeToScopeGroupPks": "",
        "isUserLevel": False,
        "isPrivateDistribution": False,
        "isServiceAccount": False,
    }
