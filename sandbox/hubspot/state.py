"""Writes to the fake HubSpot's platform state: portals, tokens, authorization codes, installs, rate settings.

Used by the seed command, the OAuth endpoints, the control endpoints and tests. Token lifetimes follow
https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens (30-minute access
tokens; refresh tokens live until revoked or the app is uninstalled) and run on the fake clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from integration.catalog.hubspot import APP_SCOPES
from sandbox.hubspot import clock
from sandbox.hubspot.models import AccessToken, AuthorizationCode, Portal, RefreshToken

ACCESS_TOKEN_SECONDS = 1800
AUTH_CODE_SECONDS = 300
DEFAULT_USER_ID = 2_718_281
DEFAULT_USER_EMAIL = "admin@example.com"
FIRST_HUB_ID = 10_000_001
# The fake app's id (token metadata `app_id`, the 429 `groupName`); a setting can override it.
DEFAULT_APP_ID = 3_141_592

# The fake grants the scopes the app is configured with, as HubSpot grants an app's required scopes.
ALL_SCOPES = APP_SCOPES

PORTAL_FIELDS = (
    "hub_domain",
    "time_zone",
    "company_currency",
    "additional_currencies",
    "account_type",
    "data_hosting_location",
)
_UNSET: Any = object()


@dataclass
class GrantError(Exception):
    """The token endpoint refuses a grant: RFC 6749 `error` plus HubSpot's legacy `status`/`message`."""

    error: str
    status: str
    message: str

    def body(self) -> dict[str, str]:
        """The body HubSpot sends on every OAuth version (manage-oauth-tokens guide, "error responses")."""
        return {"error": self.error, "error_description": self.message, "status": self.status, "message": self.message}


def app_id() -> int:
    """The fake app's id: setting `HUBSPOT_APP_ID` if there is one, else DEFAULT_APP_ID."""
    return int(getattr(settings, "HUBSPOT_APP_ID", DEFAULT_APP_ID))


# -- portals -------------------------------------------------------------------------------------------


def portal_create(*, hub_id: int | None = None, features: dict[str, bool] | None = None) -> Portal:
    """Create (or return) a fake portal; hub ids are allocated from 10,000,001 upwards."""
    portal = _portal_get_or_create(hub_id) if hub_id is not None else _portal_allocate()
    if features is not None:
        portal.features = {**portal.features, **features}
        portal.save(update_fields=["features"])
    return portal


def _portal_get_or_create(hub_id: int) -> Portal:
    portal, _created = Portal.objects.get_or_create(
        hub_id=hub_id, defaults={"hub_domain": f"portal-{hub_id}.hubspot.example"}
    )
    return portal


def _portal_allocate() -> Portal:
    """A new portal with the next free hub id; a concurrent creator taking the same id makes us try the next."""
    for _attempt in range(20):
        last = Portal.objects.order_by("-hub_id").values_list("hub_id", flat=True).first()
        hub_id = max(FIRST_HUB_ID - 1, last or 0) + 1
        try:
            with transaction.atomic():
                return Portal.objects.create(hub_id=hub_id, hub_domain=f"portal-{hub_id}.hubspot.example")
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a hub id")


def portal_update(*, portal: Portal, features: dict[str, bool] | None = None, **fields: Any) -> Portal:
    """Change a portal's account details (`PORTAL_FIELDS`) and merge `features`."""
    unknown = sorted(set(fields) - set(PORTAL_FIELDS))
    if unknown:
        raise ValueError(f"unknown portal fields: {', '.join(unknown)}")
    for name, value in fields.items():
        setattr(portal, name, value)
    if features is not None:
        portal.features = {**portal.features, **features}
    portal.save()
    return portal


def portal_set_rate_limits(
    *,
    portal: Portal,
    limit: Any = _UNSET,
    search_limit: Any = _UNSET,
    daily_limit: Any = _UNSET,
    retry_after: Any = _UNSET,
) -> Portal:
    """Set the portal's burst and search limits (None: back to the module constants), its daily limit (None: no
    daily bucket, the OAuth default) and the Retry-After flag."""
    for name, value in (
        ("rate_limit_max", limit),
        ("search_rate_limit_max", search_limit),
        ("daily_rate_limit_max", daily_limit),
    ):
        if value is not _UNSET:
            setattr(portal, name, value)
    if retry_after is not _UNSET:
        portal.retry_after_on_429 = bool(retry_after)
    portal.save(update_fields=["rate_limit_max", "search_rate_limit_max", "daily_rate_limit_max", "retry_after_on_429"])
    return portal


def portal_set_latency(*, portal: Portal, latency_ms: int, jitter_ms: int = 0) -> Portal:
    """Make every API call of the portal take `latency_ms` ± `jitter_ms` (uniform) before it is served."""
    if latency_ms < 0 or jitter_ms < 0 or jitter_ms > latency_ms:
        raise ValueError("latency_ms and jitter_ms must be non-negative, with jitter_ms at most latency_ms")
    portal.latency_ms, portal.latency_jitter_ms = latency_ms, jitter_ms
    portal.save(update_fields=["latency_ms", "latency_jitter_ms"])
    return portal


def portal_uninstall(*, portal: Portal, by_app: bool = False) -> None:
    """Uninstall the app: every token of the portal stops working (401, refresh → invalid_grant).

    The customer uninstalls unless `by_app` (the app's own `DELETE /appinstalls/…/external-install`). If the app
    was installed and its webhooks component subscribes to `app.uninstall`, the uninstall event is queued.
    """
    from sandbox.hubspot.webhooks import events  # events imports this module (app_id), so import it late

    with transaction.atomic():
        was_installed = Portal.objects.filter(pk=portal.pk, installed=True).update(installed=False) == 1
        AccessToken.objects.filter(portal=portal).update(revoked=True)
        RefreshToken.objects.filter(portal=portal).update(revoked=True)
        AuthorizationCode.objects.filter(portal=portal, used_at__isnull=True).update(used_at=clock.now())
        if was_installed:
            source = events.app_source() if by_app else events.user_source(DEFAULT_USER_ID)
            events.enqueue_uninstall(portal, source)
    portal.installed = False


def portal_reinstall(*, portal: Portal) -> None:
    """Install the app again (the consent page); tokens of an earlier install stay dead."""
    Portal.objects.filter(pk=portal.pk).update(installed=True)
    portal.installed = True


# -- tokens --------------------------------------------------------------------------------------------


def new_access_token() -> str:
    """An opaque access token about as long as HubSpot's (~300 characters; clients must allow 512)."""
    return "C" + secrets.token_urlsafe(220)


def new_refresh_token(hublet: str = "na1") -> str:
    """HubSpot's refresh-token shape: `na1-aaaa-bbbb-cccc-dddd-eeeeeeeeeeee` (hublet prefix)."""
    groups = [secrets.token_hex(2) for _ in range(4)] + [secrets.token_hex(6)]
    return "-".join([hublet, *groups])


def token_issue(
    *,
    portal: Portal,
    scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
    refresh_token: str = "",
    user_id: int = DEFAULT_USER_ID,
    user_email: str = DEFAULT_USER_EMAIL,
    expires_in: int = ACCESS_TOKEN_SECONDS,
) -> AccessToken:
    """Issue a 30-minute access token for `portal` (a new refresh token unless one is given)."""
    with transaction.atomic():
        refresh = RefreshToken.objects.filter(token=refresh_token).first() if refresh_token else None
        if refresh is None:
            refresh = RefreshToken.objects.create(
                portal=portal,
                token=refresh_token or new_refresh_token(portal.data_hosting_location),
                scopes=list(scopes),
                user_id=user_id,
                user_email=user_email,
            )
        return AccessToken.objects.create(
            portal=portal,
            token=new_access_token(),
            refresh_token=refresh.token,
            scopes=list(scopes),
            user_id=refresh.user_id,
            user_email=refresh.user_email,
            expires_at=clock.now() + timedelta(seconds=expires_in),
        )


def access_token_usable(token: AccessToken) -> bool:
    """Not revoked, its portal still has the app installed, and not expired on the fake clock."""
    return not token.revoked and token.portal.installed and not token.expired


def tokens_expire(*, portal: Portal, token: str = "") -> int:
    """Expire the portal's live access tokens (or just `token`) one second ago; returns how many."""
    tokens = AccessToken.objects.filter(portal=portal, revoked=False, expires_at__gt=clock.now())
    if token:
        tokens = tokens.filter(token=token)
    return tokens.update(expires_at=clock.now() - timedelta(seconds=1))


def tokens_revoke(*, portal: Portal, access_token: str = "", refresh_token: str = "") -> dict[str, int]:
    """Revoke the named tokens of the portal, or every token of it when none is named."""
    access = AccessToken.objects.filter(portal=portal, revoked=False)
    refresh = RefreshToken.objects.filter(portal=portal, revoked=False)
    if access_token or refresh_token:
        access = access.filter(token=access_token) if access_token else access.none()
        refresh = refresh.filter(token=refresh_token) if refresh_token else refresh.none()
    return {"access_tokens": access.update(revoked=True), "refresh_tokens": refresh.update(revoked=True)}


def refresh_token_revoke(*, token: str) -> bool:
    """Revoke a refresh token; access tokens already issued from it keep working (v1 guide)."""
    return RefreshToken.objects.filter(token=token, revoked=False).update(revoked=True) == 1


def access_token_revoke(*, token: str) -> bool:
    """Revoke one access token (its next call gets 401); False when it was unknown or already revoked."""
    return AccessToken.objects.filter(token=token, revoked=False).update(revoked=True) == 1


# -- grants --------------------------------------------------------------------------------------------


def code_issue(
    *, portal: Portal, client_id: str, redirect_uri: str, scopes: list[str], user_id: int, user_email: str
) -> AuthorizationCode:
    """A single-use authorization code, valid for 5 minutes on the fake clock."""
    return AuthorizationCode.objects.create(
        code=f"{portal.data_hosting_location}-{secrets.token_hex(4)}-{secrets.token_hex(12)}",
        portal=portal,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        user_id=user_id,
        user_email=user_email,
        expires_at=clock.now() + timedelta(seconds=AUTH_CODE_SECONDS),
    )


def code_redeem(*, code: str, client_id: str, redirect_uri: str) -> AccessToken:
    """Exchange an authorization code for tokens, exactly once; GrantError otherwise."""
    grant = AuthorizationCode.objects.select_related("portal").filter(code=code).first() if code else None
    if grant is None or grant.used_at is not None or grant.client_id != client_id:
        raise GrantError("invalid_grant", "BAD_AUTH_CODE", "missing or unknown auth code")
    if grant.redirect_uri != redirect_uri:
        raise GrantError(
            "invalid_grant", "MISMATCH_REDIRECT_URI_AUTH_CODE", "redirect URI does not match initial auth code URI"
        )
    now = clock.now()
    if grant.expires_at <= now:
        raise GrantError("invalid_grant", "EXPIRED_AUTH_CODE", "auth code is expired")
    # The conditional update is the single-use guarantee: of two concurrent redemptions only one changes the row.
    if AuthorizationCode.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=now) != 1:
        raise GrantError("invalid_grant", "BAD_AUTH_CODE", "missing or unknown auth code")
    return token_issue(portal=grant.portal, scopes=grant.scopes, user_id=grant.user_id, user_email=grant.user_email)


def refresh_grant(*, refresh_token: str, scope: str = "") -> AccessToken:
    """A new access token from a live refresh token (which stays unchanged); GrantError otherwise."""
    refresh = (
        RefreshToken.objects.select_related("portal").filter(token=refresh_token).first() if refresh_token else None
    )
    if refresh is None or refresh.revoked or not refresh.portal.installed:
        raise GrantError("invalid_grant", "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked")
    scopes = list(refresh.scopes)
    if scope:
        wanted = scope.split()
        if not set(wanted) <= set(scopes):
            raise GrantError("invalid_scope", "BAD_SCOPES", "requested scopes exceed the scopes of the refresh token")
        scopes = [name for name in scopes if name in wanted]
    return token_issue(portal=refresh.portal, scopes=scopes, refresh_token=refresh.token)
