"""The gateway on every API call: 401 bodies, scopes, headers, account details, uninstall."""

from __future__ import annotations

import uuid

import pytest

from sandbox.hubspot import clock, state
from tests.sandbox.hubspot.conftest import CLIENT_ID, CLIENT_SECRET

INVALID = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def _invalid_body(response) -> dict:
    return {
        "status": "error",
        "message": INVALID,
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": "INVALID_AUTHENTICATION",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer unknown-token"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_unknown_token_is_401(hs, headers):
    response = hs.api("GET", "/account-info/v3/details", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.json() == _invalid_body(response)
    uuid.UUID(response.headers["X-HubSpot-Correlation-Id"])
    assert "X-HubSpot-RateLimit-Max" not in response.headers


def test_expired_token_body_uses_the_fake_clock(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 200
    hs.control("POST", "/clock", {"advance_seconds": 1800 + 75})
    response = hs.api("GET", "/_fake/echo", access.token)
    assert response.status_code == 401
    assert response.json() == {
        "status": "error",
        "message": "The OAuth token used to make this call expired 75 second(s) ago.",
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": "EXPIRED_AUTHENTICATION",
        "context": {"expire time": [clock.iso(access.expires_at)]},
    }
    hs.control("POST", "/clock", {"advance_seconds": 3 * 3600})
    assert hs.api("GET", "/_fake/echo", access.token).json()["message"] == (
        "The OAuth token used to make this call expired 3 hour(s) ago."
    )


def test_expire_control_endpoint(hs):
    portal = hs.portal()
    access = hs.token(portal)
    expired = hs.control("POST", f"/portals/{portal.hub_id}/tokens/expire", {})
    assert expired.json() == {"expired": 1}
    response = hs.api("GET", "/_fake/echo", access.token)
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert response.json()["message"] == "The OAuth token used to make this call expired 1 second(s) ago."


def test_revoked_access_token_is_401(hs):
    portal = hs.portal()
    access = hs.token(portal)
    revoked = hs.control("POST", f"/portals/{portal.hub_id}/tokens/revoke", {"access_token": access.token})
    assert revoked.json() == {"revoked": {"access_tokens": 1, "refresh_tokens": 0}}
    response = hs.api("GET", "/_fake/echo", access.token)
    assert response.json() == _invalid_body(response)


def test_missing_scope_is_403(hs):
    access = hs.token(hs.portal(), scopes=["crm.objects.companies.read"])
    response = hs.api("GET", "/account-info/v3/details", access.token)
    assert response.status_code == 403
    assert response.json() == {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about required "
        "scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": "MISSING_SCOPES",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["oauth"]},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
    }
    # A refused call still took a slot in the window, so it carries the headers.
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "109"


@pytest.mark.parametrize("version", ["v3", "2026-03", "2026-09"])
def test_account_details(hs, version):
    portal = hs.portal()
    state.portal_update(portal=portal, time_zone="US/Eastern", company_currency="USD", additional_currencies=["EUR"])
    access = hs.token(portal)
    response = hs.api("GET", f"/account-info/{version}/details", access.token)
    assert response.status_code == 200
    body = response.json()
    offset_ms = body["utcOffsetMilliseconds"]
    assert offset_ms in (-5 * 3600_000, -4 * 3600_000)
    assert body == {
        "portalId": portal.hub_id,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": ["EUR"],
        "utcOffset": "-05:00" if offset_ms == -5 * 3600_000 else "-04:00",
        "utcOffsetMilliseconds": offset_ms,
        "uiDomain": "app-eu1.hubspot.com",
        "dataHostingLocation": "eu1",
    }
    assert response.headers["X-HubSpot-RateLimit-Max"] == "110"
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert not [name for name in response.headers if "daily" in name.lower()]


def test_wrong_method_is_405_in_hubspot_shape(hs):
    access = hs.token(hs.portal())
    response = hs.api("POST", "/account-info/v3/details", access.token)
    assert response.status_code == 405
    assert response.json()["category"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("version", ["v3", "2026-03"])
def test_uninstall_kills_every_token(hs, version):
    portal = hs.portal()
    first, second = hs.token(portal), hs.token(portal)
    response = hs.api("DELETE", f"/appinstalls/{version}/external-install", first.token)
    assert (response.status_code, response.content) == (204, b"")
    assert "Content-Type" not in response.headers
    for access in (first, second):
        after = hs.api("GET", "/account-info/v3/details", access.token)
        assert after.status_code == 401
        assert after.json()["category"] == "INVALID_AUTHENTICATION"
        refresh = hs.token_form(grant_type="refresh_token", refresh_token=access.refresh_token)
        assert refresh.status_code == 400
        assert refresh.json()["status"] == "BAD_REFRESH_TOKEN"
    introspect = hs.api(
        "POST",
        "/oauth/2026-03/token/introspect",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": first.token},
    )
    assert introspect.json() == {"active": False}
    assert hs.control("GET", f"/portals/{portal.hub_id}").json()["installed"] is False


def test_customer_uninstall_via_control(hs):
    portal = hs.portal()
    access = hs.token(portal)
    assert hs.control("POST", f"/portals/{portal.hub_id}/uninstall").status_code == 200
    assert hs.api("GET", "/_fake/echo", access.token).status_code == 401


def test_feature_gate_and_context(hs):
    access = hs.token(hs.portal(), scopes=["oauth"])
    response = hs.api("POST", "/_fake/echo?status=201", access.token)
    assert response.status_code == 201
    assert response.json() == {
        "hubId": access.portal.hub_id,
        "method": "POST",
        "scopes": ["oauth"],
        "appId": state.DEFAULT_APP_ID,
    }


def test_invalid_json_body_becomes_hubspot_400(hs):
    from django.http import JsonResponse

    from sandbox.hubspot.gateway import hubspot_api

    @hubspot_api()
    def parse(request):
        import json

        return JsonResponse(json.loads(request.body))

    # Called in-process: the pipeline is the same as over HTTP.
    from django.test import RequestFactory

    access = hs.token(hs.portal())
    request = RequestFactory().post(
        "/sandbox/hubspot/crm/v3/objects/companies",
        data="{bad",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access.token}",
    )
    response = parse(request)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json;charset=utf-8"


SCHEMA_EGG = {
    "name": "machine",
    "labels": {"singular": "Machine", "plural": "Machines"},
    "requiredProperties": ["serial"],
    "properties": [{"name": "serial", "label": "Serial", "type": "string", "fieldType": "text"}],
    "associatedObjects": ["COMPANY"],
}


def test_custom_object_schema_stub(hs):
    """§10.9: `POST /crm-object-schemas/v3/schemas` → 201, needs `crm.schemas.custom.write` and `custom_objects`."""
    clock.freeze()
    portal = hs.portal(features={"custom_objects": True})
    access = hs.token(portal, scopes=["oauth", "crm.schemas.custom.write"])
    created = hs.api("POST", "/crm-object-schemas/v3/schemas", access.token, json=SCHEMA_EGG)
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json;charset=utf-8"
    body = created.json()
    now = clock.iso(clock.now())
    assert body == {
        "id": body["id"],
        "objectTypeId": f"2-{body['id']}",
        "fullyQualifiedName": f"p{portal.hub_id}_machine",
        "name": "machine",
        "labels": {"singular": "Machine", "plural": "Machines"},
        "primaryDisplayProperty": "serial",
        "secondaryDisplayProperties": [],
        "requiredProperties": ["serial"],
        "searchableProperties": [],
        "properties": SCHEMA_EGG["properties"],
        "associations": [],
        "metaType": "PORTAL_SPECIFIC",
        "archived": False,
        "createdAt": now,
        "updatedAt": now,
    }
    bad = hs.api("POST", "/crm-object-schemas/v3/schemas", access.token, json={**SCHEMA_EGG, "properties": []})
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "status": "error",
            "message": "properties must be a non-empty array",
            "correlationId": bad.headers["X-HubSpot-Correlation-Id"],
            "category": "VALIDATION_ERROR",
            "context": {"properties": ["required"]},
        },
    )


def test_custom_object_schema_stub_is_gated(hs):
    without_feature = hs.portal()  # custom objects are Enterprise-only: off by default
    access = hs.token(without_feature, scopes=["oauth", "crm.schemas.custom.write"])
    refused = hs.api("POST", "/crm-object-schemas/v3/schemas", access.token, json=SCHEMA_EGG)
    assert (refused.status_code, refused.json()) == (
        403,
        {
            "status": "error",
            "message": f"The custom_objects feature is not enabled for portal {without_feature.hub_id}.",
            "correlationId": refused.headers["X-HubSpot-Correlation-Id"],
            "category": "FEATURE_NOT_ENABLED",
        },
    )
    enterprise = hs.portal(features={"custom_objects": True})
    reader = hs.token(enterprise, scopes=["oauth", "crm.schemas.custom.read"])
    missing = hs.api("POST", "/crm-object-schemas/v3/schemas", reader.token, json=SCHEMA_EGG)
    assert missing.status_code == 403
    assert missing.json()["category"] == "MISSING_SCOPES"
    assert missing.json()["errors"][0]["context"] == {"requiredGranularScopes": ["crm.schemas.custom.write"]}
    assert hs.api("GET", "/crm-object-schemas/v3/schemas", reader.token).status_code == 405


@pytest.mark.parametrize("path", ["/crm/v4/nonsense", "/oauth/v9/token", "/crm-object-schemas/v3/other"])
def test_unknown_api_path_is_a_json_404(hs, path):
    """§10.3: every response, including one for a path nothing serves, is JSON with a correlation id."""
    response = hs.api("GET", path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.json() == {
        "status": "error",
        "message": f"No API endpoint GET {path}",
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": "OBJECT_NOT_FOUND",
    }
    assert hs.api("GET", "/_pages/nonsense").headers["Content-Type"].startswith("text/html")  # the fake's own pages
