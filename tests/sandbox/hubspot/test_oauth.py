"""The OAuth dance against the fake over HTTP: consent page, code, token, refresh, metadata, introspection."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from sandbox.hubspot import state
from sandbox.hubspot.models import Portal
from tests.sandbox.hubspot.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

BAD_REFRESH = {
    "error": "invalid_grant",
    "error_description": "refresh token is invalid, expired or revoked",
    "status": "BAD_REFRESH_TOKEN",
    "message": "refresh token is invalid, expired or revoked",
}
BAD_CODE = {
    "error": "invalid_grant",
    "error_description": "missing or unknown auth code",
    "status": "BAD_AUTH_CODE",
    "message": "missing or unknown auth code",
}
MISMATCH = {
    "error": "invalid_grant",
    "error_description": "redirect URI does not match initial auth code URI",
    "status": "MISMATCH_REDIRECT_URI_AUTH_CODE",
    "message": "redirect URI does not match initial auth code URI",
}


def _code_from(response: requests.Response, expected_state: str = "xyz") -> str:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == [expected_state]
    assert sorted(query) == ["code", "state"]
    return query["code"][0]


def _assert_fresh_grant(body: dict, portal: Portal) -> None:
    assert sorted(body) == [
        "access_token",
        "expires_in",
        "hub_id",
        "refresh_token",
        "scopes",
        "token_type",
        "token_use",
        "user_id",
    ]
    assert (body["token_type"], body["token_use"], body["expires_in"]) == ("bearer", "access_token", 1800)
    assert (body["hub_id"], body["scopes"], body["user_id"]) == (
        portal.hub_id,
        list(state.ALL_SCOPES),
        state.DEFAULT_USER_ID,
    )
    assert 250 <= len(body["access_token"]) <= 512
    assert body["refresh_token"].startswith("eu1-")


def _assert_metadata(hs, access_token: str, refresh_token: str, portal: Portal) -> None:
    info = hs.api("GET", f"/oauth/v1/access-tokens/{access_token}").json()
    assert (info["hub_id"], info["user"], info["token_type"]) == (portal.hub_id, "owner@acme.example", "access")
    assert (info["app_id"], info["expires_in"]) == (state.DEFAULT_APP_ID, 1800)
    assert (info["signed_access_token"]["hubId"], info["signed_access_token"]["hublet"]) == (portal.hub_id, "eu1")
    assert hs.api("GET", f"/oauth/v1/refresh-tokens/{refresh_token}").json() == {
        "token": refresh_token,
        "user": "owner@acme.example",
        "hub_domain": portal.hub_domain,
        "scopes": list(state.ALL_SCOPES),
        "hub_id": portal.hub_id,
        "client_id": CLIENT_ID,
        "user_id": state.DEFAULT_USER_ID,
        "token_type": "refresh",
    }


def test_full_dance_code_token_refresh_metadata(hs):
    code = _code_from(hs.consent(hs.authorize_url(state="xyz"), user_email="owner@acme.example"))
    portal = Portal.objects.get()
    assert portal.installed is True

    grant = hs.token_form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert grant.status_code == 200
    assert grant.headers["Content-Type"] == "application/json;charset=utf-8"
    body = grant.json()
    _assert_fresh_grant(body, portal)
    details = hs.api("GET", "/account-info/2026-03/details", body["access_token"])
    assert (details.status_code, details.json()["portalId"]) == (200, portal.hub_id)

    refreshed = hs.token_form(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] == body["refresh_token"]
    assert refreshed.json()["access_token"] != body["access_token"]
    _assert_fresh_grant(refreshed.json(), portal)
    _assert_metadata(hs, refreshed.json()["access_token"], body["refresh_token"], portal)


def test_code_is_single_use(hs):
    code = _code_from(hs.consent(hs.authorize_url(state="xyz")))
    first = hs.token_form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    again = hs.token_form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400
    assert again.json() == BAD_CODE


def test_code_bound_to_redirect_uri(hs):
    code = _code_from(hs.consent(hs.authorize_url(state="xyz")))
    wrong = hs.token_form(grant_type="authorization_code", code=code, redirect_uri="http://localhost:8765/other")
    assert wrong.status_code == 400
    assert wrong.json() == MISMATCH


def test_code_expires_after_five_minutes(hs):
    code = _code_from(hs.consent(hs.authorize_url(state="xyz")))
    assert hs.control("POST", "/clock", {"advance_seconds": 301}).status_code == 200
    late = hs.token_form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert late.status_code == 400
    assert late.json() == {
        "error": "invalid_grant",
        "error_description": "auth code is expired",
        "status": "EXPIRED_AUTH_CODE",
        "message": "auth code is expired",
    }


def test_unknown_code_and_refresh_token(hs):
    unknown = hs.token_form(grant_type="authorization_code", code="nope", redirect_uri=REDIRECT_URI)
    assert (unknown.status_code, unknown.json()) == (400, BAD_CODE)
    bad = hs.token_form(grant_type="refresh_token", refresh_token="na1-0000-0000-0000-0000-000000000000")
    assert (bad.status_code, bad.json()) == (400, BAD_REFRESH)


@pytest.mark.parametrize(
    ("client_id", "secret", "status"),
    [
        ("wrong", CLIENT_SECRET, "BAD_CLIENT_ID"),
        ("", CLIENT_SECRET, "BAD_CLIENT_ID"),
        (CLIENT_ID, "x", "BAD_CLIENT_SECRET"),
    ],
)
def test_client_credentials_checked(hs, client_id, secret, status):
    refresh = hs.token(hs.portal()).refresh_token
    data = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id, "client_secret": secret}
    response = requests.post(hs.url("/oauth/v1/token"), data=data, timeout=30)
    assert response.status_code == 400
    description = "missing or invalid client id" if status == "BAD_CLIENT_ID" else "missing or invalid client secret"
    assert response.json() == {
        "error": "invalid_client",
        "error_description": description,
        "status": status,
        "message": description,
    }


def test_unsupported_grant_and_json_body_refused(hs):
    odd = hs.token_form(grant_type="password")
    assert odd.status_code == 400
    assert odd.json()["error"] == "unsupported_grant_type"
    # The token endpoint is form-encoded only: a JSON body carries no credentials it can read.
    as_json = requests.post(hs.url("/oauth/v3/token"), json={"client_id": CLIENT_ID}, timeout=30)
    assert as_json.status_code == 400
    assert as_json.json()["status"] == "BAD_CLIENT_ID"


@pytest.mark.parametrize("version", ["v1", "v3", "2026-03", "2026-09"])
def test_token_endpoint_versions(hs, version):
    refresh = hs.token(hs.portal()).refresh_token
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    response = requests.post(hs.url(f"/oauth/{version}/token"), data=data, timeout=30)
    assert response.status_code == 200
    assert response.json()["refresh_token"] == refresh


def test_deny_redirects_with_access_denied(hs):
    response = hs.consent(hs.authorize_url(state="s-1"), decision="deny")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert parse_qs(location.query) == {
        "error": ["access_denied"],
        "error_description": ["The user declined to install the app."],
        "state": ["s-1"],
    }
    assert Portal.objects.count() == 0


def test_consent_picks_existing_portal_and_drops_ungrantable_optional_scopes(hs):
    portal = hs.portal(features={"custom_objects": False})
    url = hs.authorize_url(state="xyz", optional_scope="crm.objects.custom.read crm.objects.owners.read")
    code = _code_from(hs.consent(url, portal=str(portal.hub_id)))
    body = hs.token_form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI).json()
    assert body["hub_id"] == portal.hub_id
    assert body["scopes"] == [*state.ALL_SCOPES, "crm.objects.owners.read"]


def test_account_specific_authorize_url(hs):
    portal = hs.portal()
    url = hs.authorize_url(state="xyz").replace("/oauth/authorize", f"/oauth/{portal.hub_id}/authorize")
    page = requests.get(url, timeout=30)
    assert page.status_code == 200
    assert f'id="portal-{portal.hub_id}"' in page.text
    assert 'id="portal-new"' not in page.text
    missing = requests.get(url.replace(f"/oauth/{portal.hub_id}/", "/oauth/999/"), timeout=30)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": "other"}, "The app&#x27;s client_id &#x27;other&#x27; is not valid."),
        ({"redirect_uri": "https://10.0.0.1/cb"}, "The redirect_uri must use a host name, not an IP address."),
        (
            {"redirect_uri": "http://example.com/cb"},
            "The redirect_uri must use https (http is allowed only for localhost).",
        ),
        ({"scope": "oauth crm.objects.nonsense.read"}, "this app does not have: crm.objects.nonsense.read."),
        ({"scope": "crm.objects.companies.read"}, "must include the required scope &#x27;oauth&#x27;."),
    ],
)
def test_bad_authorize_requests_show_an_error_page(hs, override, message):
    page = requests.get(hs.authorize_url(**override), timeout=30)
    assert page.status_code == 400
    assert message in page.text
    assert 'id="approve"' not in page.text


def test_consent_post_requires_csrf(hs):
    response = requests.post(hs.authorize_url(), data={"decision": "approve", "portal": "new"}, timeout=30)
    assert response.status_code == 403
    assert Portal.objects.count() == 0


def test_introspect_access_refresh_and_inactive(hs):
    access = hs.token(hs.portal())
    url = hs.url("/oauth/2026-03/token/introspect")
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    live = requests.post(url, data={**creds, "token": access.token, "token_type_hint": "access_token"}, timeout=30)
    assert live.status_code == 200
    info = live.json()
    assert (info["active"], info["token_use"], info["token_type"], info["client_id"]) == (
        True,
        "access_token",
        "Bearer",
        CLIENT_ID,
    )
    assert info["hub_id"] == access.portal.hub_id
    # The docs' prose names the field after the hint; the fake accepts both forms.
    refresh = requests.post(
        url, data={**creds, "refresh_token": access.refresh_token, "token_type_hint": "refresh_token"}, timeout=30
    )
    assert refresh.json()["token_use"] == "refresh_token"
    assert "expires_in" not in refresh.json()
    unknown = requests.post(url, data={**creds, "token": "nope"}, timeout=30)
    assert unknown.json() == {"active": False}
    bad_client = requests.post(
        url, data={"client_id": CLIENT_ID, "client_secret": "x", "token": access.token}, timeout=30
    )
    assert bad_client.status_code == 400


def test_revoke_refresh_token_keeps_access_token(hs):
    access = hs.token(hs.portal())
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    revoked = requests.post(hs.url("/oauth/v3/token/revoke"), data={**creds, "token": access.refresh_token}, timeout=30)
    assert (revoked.status_code, revoked.content) == (200, b"")
    refresh = hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token)
    assert (refresh.status_code, refresh.json()) == (400, BAD_REFRESH)
    # Revoking a refresh token does not touch access tokens already issued (v1 guide).
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 200


def test_v1_delete_refresh_token(hs):
    access = hs.token(hs.portal())
    deleted = hs.api("DELETE", f"/oauth/v1/refresh-tokens/{access.refresh_token}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    again = hs.api("DELETE", f"/oauth/v1/refresh-tokens/{access.refresh_token}")
    assert again.status_code == 404
    assert again.json()["category"] == "OBJECT_NOT_FOUND"
    assert hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token).json() == BAD_REFRESH


def test_refresh_can_narrow_scopes_but_not_widen(hs):
    access = hs.token(hs.portal(), scopes=["oauth", "crm.objects.companies.read"])
    narrow = hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token, scope="oauth")
    assert narrow.json()["scopes"] == ["oauth"]
    wide = hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token, scope="oauth e-commerce")
    assert wide.status_code == 400
    assert wide.json()["error"] == "invalid_scope"


def test_metadata_and_introspection_shapes(hs):
    """§1.3 / §10.2: the exact fields of `AccessTokenInfoResponse` and the v3 introspection responses."""
    access = hs.token(hs.portal())
    metadata = hs.api("GET", f"/oauth/v1/access-tokens/{access.token}").json()
    common = {"token", "user", "hub_domain", "scopes", "hub_id", "app_id", "user_id"}
    assert set(metadata) == common | {
        "expires_in",
        "token_type",
        "signed_access_token",
        "is_private_distribution",
    }
    assert (metadata["token_type"], metadata["is_private_distribution"]) == ("access", False)
    # The seconds left of the token's 30 minutes when the fake answered (on a loaded machine, a second may pass).
    left = int((access.expires_at - timezone.now()).total_seconds())
    assert left <= metadata["expires_in"] <= 1800
    signed = metadata["signed_access_token"]
    assert (signed["hubId"], signed["appId"], signed["hublet"]) == (access.portal.hub_id, state.DEFAULT_APP_ID, "eu1")
    assert signed["expiresAt"] == int(access.expires_at.timestamp() * 1000)
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    url = hs.url("/oauth/v3/token/introspect")
    live = requests.post(url, data={**creds, "token": access.token}, timeout=30).json()
    assert set(live) == set(metadata) - {"token_type"} | {"active", "client_id", "token_use", "token_type"}
    assert (live["active"], live["token_use"], live["token_type"]) == (True, "access_token", "Bearer")
    refresh = requests.post(url, data={**creds, "token": access.refresh_token}, timeout=30).json()
    # The refresh-token variant has no expires_in or signed_access_token (PublicRefreshTokenInfoResponse).
    assert set(refresh) == common | {"active", "client_id", "token_use", "token_type"}
    assert (refresh["active"], refresh["token_use"], refresh["token"]) == (True, "refresh_token", access.refresh_token)
