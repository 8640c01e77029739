"""The install flow (OAuth authorize → callback) and the HubSpot-signed launch of the settings page.

The token exchange is replaced by a stub here so every failure branch can be reached; the end-to-end flow
against the sandbox's real OAuth endpoints is in test_install_sandbox.py and tests/browser/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from integration.catalog.hubspot import APP_SCOPES
from integration.clients.errors import PermanentError
from integration.clients.hubspot import TokenGrant
from integration.models import AuditEvent, FieldMapping, HubSpotInstallation, ObjectSync, Portal
from integration.services.installations import portal_install
from integration.views import install as install_views
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db

HUB_ID = 70_000_123
SECRET = "test-client-secret"


@pytest.fixture(autouse=True)
def _oauth_settings(settings):
    settings.HUBSPOT_CLIENT_ID = "test-client-id"
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    settings.HUBSPOT_AUTHORIZE_URL = "https://app.hubspot.example/oauth/authorize"
    settings.PUBLIC_BASE_URL = "https://kleer.example.com"


def grant(hub_id: int | None = HUB_ID) -> TokenGrant:
    return TokenGrant(
        access_token="at-secret-access",
        refresh_token="rt-secret-refresh",
        expires_in=1800,
        hub_id=hub_id,
        scopes=("oauth", "crm.objects.companies.write"),
        user_id=42,
    )


@pytest.fixture
def exchange(monkeypatch):
    """Stub the token call; `exchange.calls` records (code, redirect_uri)."""

    class Stub:
        calls: list = []
        result: object = grant()

        def __call__(self, *, code: str, redirect_uri: str) -> TokenGrant:
            self.calls.append((code, redirect_uri))
            if isinstance(self.result, Exception):
                raise self.result
            return self.result  # type: ignore[return-value]

    stub = Stub()
    monkeypatch.setattr(install_views.hubspot, "oauth_exchange_code", stub)
    monkeypatch.setattr(install_views, "_token_info", lambda token: {"user": "ada@example.com", "hub_domain": "ada.se"})
    return stub


def start(client) -> str:
    response = client.get("/hubspot/install")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def test_install_redirects_to_hubspot_with_scopes_redirect_uri_and_state(client):
    response = client.get("/hubspot/install")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://app.hubspot.example/oauth/authorize"
    assert "scope=oauth%20crm.objects.companies.read%20" in url.query  # space-separated, %20 not "+"
    query = parse_qs(url.query)
    assert query["client_id"] == ["test-client-id"]
    assert query["redirect_uri"] == ["https://kleer.example.com/hubspot/oauth/callback"]
    assert query["scope"][0].split(" ") == list(APP_SCOPES)
    assert len(query["state"][0]) >= 40
    assert portal_session(client)["oauth_state"]["value"] == query["state"][0]


def test_callback_installs_binds_the_session_and_opens_the_settings(client, exchange):
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "the-code", "state": state})
    assert response.status_code == 302
    assert response["Location"] == f"/portals/{HUB_ID}/settings/"
    assert exchange.calls == [("the-code", "https://kleer.example.com/hubspot/oauth/callback")]
    portal = Portal.objects.get(hub_id=HUB_ID)
    assert portal.hub_domain == "ada.se"
    assert portal.installation.status == HubSpotInstallation.Status.CONNECTED
    assert portal.installation.installed_by == "ada@example.com"
    assert ObjectSync.objects.filter(portal=portal, enabled=False).count() == 6
    assert FieldMapping.objects.filter(object_sync__portal=portal, object_sync__object_type="clients").count() == 13
    assert portal_session(client)["portal_hub_id"] == HUB_ID
    assert portal_session(client)["portal_user_email"] == "ada@example.com"
    event = AuditEvent.objects.get(portal=portal, action="portal.installed")
    assert event.actor_label == f"portal {HUB_ID}: ada@example.com"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"at-secret-access" not in page.content and b"rt-secret-refresh" not in page.content


def test_reinstall_reconnects_and_keeps_configuration(client, exchange):
    portal = portal_install(
        hub_id=HUB_ID, access_token="old", refresh_token="old", expires_in=10, scopes=["oauth"], installed_by=""
    )
    clients = portal.object_syncs.get(object_type="clients")
    clients.mappings.filter(hubspot_property="phone").delete()
    HubSpotInstallation.objects.filter(portal=portal).update(status="disconnected", disconnected_reason="revoked")
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "c2", "state": state})
    assert response.status_code == 302
    portal.installation.refresh_from_db()
    assert portal.installation.status == "connected"
    assert portal.installation.access_token == "at-secret-access"
    assert not clients.mappings.filter(hubspot_property="phone").exists()
    assert AuditEvent.objects.filter(portal=portal, action="portal.reconnected").count() == 1


@pytest.mark.parametrize("params", [{"code": "c"}, {"code": "c", "state": "forged"}])
def test_callback_without_our_state_changes_nothing(client, exchange, params):
    start(client)
    response = client.get("/hubspot/oauth/callback", params)
    assert response.status_code == 400
    assert b"The installation could not be verified (the state does not match)." in response.content
    assert Portal.objects.count() == 0
    assert exchange.calls == []
    assert "oauth_state" not in portal_session(client)  # a wrong guess also burns the state


def test_callback_without_a_started_install(client, exchange):
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": "anything"})
    assert response.status_code == 400
    assert b"already used or was not started in this browser" in response.content
    assert Portal.objects.count() == 0


def test_state_is_single_use(client, exchange):
    state = start(client)
    assert client.get("/hubspot/oauth/callback", {"code": "c", "state": state}).status_code == 302
    again = client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert again.status_code == 400
    assert b"already used" in again.content
    assert len(exchange.calls) == 1


def test_state_from_another_browser_is_refused(client, exchange):
    from django.test import Client

    state = start(Client())
    start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert response.status_code == 400
    assert Portal.objects.count() == 0


def test_state_expires_after_ten_minutes(client, exchange, monkeypatch):
    state = start(client)
    later = time.time() + 601
    monkeypatch.setattr(install_views.time, "time", lambda: later)
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert response.status_code == 400
    assert b"longer than 10 minutes" in response.content
    assert Portal.objects.count() == 0


def test_access_denied_shows_a_clear_page_and_changes_nothing(client, exchange):
    state = start(client)
    response = client.get(
        "/hubspot/oauth/callback", {"error": "access_denied", "error_description": "User denied", "state": state}
    )
    assert response.status_code == 200
    assert b"You declined the installation in HubSpot. Nothing was installed or changed." in response.content
    assert Portal.objects.count() == 0
    assert "portal_hub_id" not in portal_session(client)
    assert exchange.calls == []


def test_other_oauth_errors_change_nothing(client, exchange):
    state = start(client)
    response = client.get(
        "/hubspot/oauth/callback", {"error": "invalid_scope", "error_description": "Bad scope", "state": state}
    )
    assert response.status_code == 400
    assert b"HubSpot reported an error: Bad scope." in response.content
    assert Portal.objects.count() == 0


def test_missing_code_changes_nothing(client, exchange):
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"state": state})
    assert response.status_code == 400
    assert Portal.objects.count() == 0


def test_token_failure_shows_hubspots_reason_and_changes_nothing(client, exchange):
    exchange.result = PermanentError("auth code is invalid, expired or already used", service="HubSpot", status=400)
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "stale", "state": state})
    assert response.status_code == 502
    assert b"HubSpot did not accept the authorization (auth code is invalid, expired or already used)" in (
        response.content
    )
    assert Portal.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert "portal_hub_id" not in portal_session(client)


def test_hub_id_falls_back_to_account_info(client, exchange, monkeypatch):
    exchange.result = grant(hub_id=None)
    monkeypatch.setattr(install_views, "_token_info", lambda token: {})
    monkeypatch.setattr(install_views, "_account_portal_id", lambda token: HUB_ID + 1)
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert response["Location"] == f"/portals/{HUB_ID + 1}/settings/"
    event = AuditEvent.objects.get(action="portal.installed")
    assert event.actor_label == f"portal {HUB_ID + 1}: unknown user"


def test_no_hub_id_anywhere_changes_nothing(client, exchange, monkeypatch):
    exchange.result = grant(hub_id=None)
    monkeypatch.setattr(install_views, "_token_info", lambda token: {})
    monkeypatch.setattr(install_views, "_account_portal_id", lambda token: None)
    state = start(client)
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert response.status_code == 502
    assert Portal.objects.count() == 0


# -- signed launch -------------------------------------------------------------------------------------------


def signed(method: str, url: str, *, body: bytes = b"", age: float = 0, secret: str = SECRET) -> dict[str, str]:
    """Headers HubSpot would send, computed here from the documented recipe (not with the code under test)."""
    timestamp = str(int((time.time() - age) * 1000))
    source = method.encode() + url.encode() + body + timestamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    return {"HTTP_X_HUBSPOT_SIGNATURE_V3": signature, "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp}


@pytest.fixture
def installed(db):
    return portal_install(
        hub_id=HUB_ID, access_token="a", refresh_token="r", expires_in=1800, scopes=["oauth"], installed_by="x@y.se"
    )


LAUNCH = f"/hubspot/launch?portalId={HUB_ID}&userId=9&userEmail=bo@example.com&appId=1"


def test_signed_launch_binds_the_session(client, installed):
    response = client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}"))
    assert response.status_code == 302
    assert response["Location"] == f"/portals/{HUB_ID}/settings/"
    assert portal_session(client)["portal_hub_id"] == HUB_ID
    assert portal_session(client)["portal_user_email"] == "bo@example.com"
    assert portal_session(client)["portal_user_id"] == 9
    assert "frame-ancestors" in response["Content-Security-Policy"]


def test_signed_launch_with_encoded_email(client, installed):
    path = f"/hubspot/launch?portalId={HUB_ID}&userEmail=bo%40example.com"
    # HubSpot hashes the URI with %40 decoded to @ (request-validation docs).
    decoded = f"https://kleer.example.com/hubspot/launch?portalId={HUB_ID}&userEmail=bo@example.com"
    response = client.get(path, **signed("GET", decoded))
    assert response.status_code == 302
    assert portal_session(client)["portal_user_email"] == "bo@example.com"


def test_signed_post_launch_hashes_the_raw_body(client, installed):
    body = b'{"portalId": 1}'
    headers = signed("POST", f"https://kleer.example.com{LAUNCH}", body=body)
    response = client.post(LAUNCH, data=body, content_type="application/json", **headers)
    assert response.status_code == 302
    tampered = client.post(LAUNCH, data=b'{"portalId": 2}', content_type="application/json", **headers)
    assert tampered.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_HUBSPOT_SIGNATURE_V3": "bm90IGEgc2lnbmF0dXJl", "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": "1"},
    ],
)
def test_unsigned_or_forged_launch_is_refused(client, installed, headers):
    response = client.get(LAUNCH, **headers)
    assert response.status_code == 403
    assert b"not signed by HubSpot or has expired" in response.content
    assert "portal_hub_id" not in portal_session(client)


@pytest.mark.parametrize("timestamp", ["9" * 400, "1" * 16, "-1", " 1767225600000", "+1767225600000", "١٧٦٧٢٢٥٦٠٠٠٠٠"])
def test_launch_with_an_out_of_range_or_odd_timestamp_is_refused_not_a_500(client, installed, settings, timestamp):
    """int("9" * 400) / 1000 used to raise OverflowError: a 500, and with DEBUG on a technical page whose
    frames showed the client secret. The timestamp is now checked as a bounded ASCII integer first."""
    settings.DEBUG = True
    client.raise_request_exception = False
    headers = {"HTTP_X_HUBSPOT_SIGNATURE_V3": "bm90IGEgc2lnbmF0dXJl", "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp}
    response = client.get(LAUNCH, **headers)
    assert response.status_code == 403
    assert b"not signed by HubSpot or has expired" in response.content
    assert settings.HUBSPOT_CLIENT_SECRET.encode() not in response.content
    assert "portal_hub_id" not in portal_session(client)


def test_launch_signed_with_another_secret_is_refused(client, installed):
    response = client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}", secret="guess"))
    assert response.status_code == 403
    assert "portal_hub_id" not in portal_session(client)


def test_launch_for_another_portal_id_than_signed_is_refused(client, installed):
    headers = signed("GET", f"https://kleer.example.com{LAUNCH}")
    other = LAUNCH.replace(str(HUB_ID), str(HUB_ID + 5))
    assert client.get(other, **headers).status_code == 403


def test_stale_launch_is_refused(client, installed):
    response = client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}", age=301))
    assert response.status_code == 403
    assert "portal_hub_id" not in portal_session(client)


def test_launch_signed_within_five_minutes_is_accepted(client, installed):
    headers = signed("GET", f"https://kleer.example.com{LAUNCH}", age=290)
    assert client.get(LAUNCH, **headers).status_code == 302


def test_launch_for_a_portal_that_never_installed(client, db):
    response = client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}"))
    assert response.status_code == 404
    assert b"not installed in HubSpot portal" in response.content
    assert "portal_hub_id" not in portal_session(client)


def test_launch_rebinds_the_session_to_the_signed_portal(client, installed):
    other = portal_install(hub_id=HUB_ID + 1, access_token="a", refresh_token="r", expires_in=1, scopes=[])
    client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}"))
    key = portal_session(client).session_key
    path = f"/hubspot/launch?portalId={other.hub_id}"
    client.get(path, **signed("GET", f"https://kleer.example.com{path}"))
    assert portal_session(client)["portal_hub_id"] == other.hub_id
    assert portal_session(client)["portal_user_email"] == ""
    assert portal_session(client).session_key != key  # rotated on every binding
    assert client.get(f"/portals/{HUB_ID}/settings/").status_code == 404


def test_install_keeps_the_accounts_time_zone(client, exchange, monkeypatch):
    """The settings page shows times in the HubSpot account's zone (account info's timeZone)."""
    monkeypatch.setattr(install_views.hubspot, "oauth_account_info", lambda access_token: {"timeZone": "Asia/Tokyo"})
    state = start(client)
    client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert Portal.objects.get(hub_id=HUB_ID).time_zone == "Asia/Tokyo"


def test_an_unknown_time_zone_is_ignored(client, exchange, monkeypatch):
    monkeypatch.setattr(install_views.hubspot, "oauth_account_info", lambda access_token: {"timeZone": "Mars/Olympus"})
    state = start(client)
    client.get("/hubspot/oauth/callback", {"code": "c", "state": state})
    assert Portal.objects.get(hub_id=HUB_ID).time_zone == ""
