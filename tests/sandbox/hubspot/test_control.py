"""The control endpoints (`/sandbox/hubspot/_fake/…`) that tests in other processes use to drive the fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils.dateparse import parse_datetime

from sandbox.hubspot import clock, state
from sandbox.hubspot.models import Portal


def test_create_portal_with_token(hs):
    response = hs.control(
        "POST",
        "/portals",
        {"features": {"custom_objects": True}, "time_zone": "UTC", "with_token": True, "scopes": ["oauth"]},
    )
    assert response.status_code == 201
    body = response.json()
    token = body.pop("token")
    assert body == {
        "hub_id": 10_000_001,
        "hub_domain": "portal-10000001.hubspot.example",
        "time_zone": "UTC",
        "company_currency": "SEK",
        "additional_currencies": [],
        "account_type": "STANDARD",
        "data_hosting_location": "eu1",
        "features": {"projects": True, "payments": True, "custom_objects": True},
        "installed": True,
        "rate_limits": {
            "max": 110,
            "interval_ms": 10000,
            "search_max": 5,
            "search_interval_ms": 1000,
            "daily_max": None,
            "retry_after": False,
        },
    }
    assert (token["hub_id"], token["scopes"], token["expires_in"], token["token_type"]) == (
        10_000_001,
        ["oauth"],
        1800,
        "bearer",
    )
    assert hs.api("GET", "/account-info/v3/details", token["access_token"]).json()["timeZone"] == "UTC"


def test_get_patch_and_list_portals(hs):
    created = hs.control("POST", "/portals", {"hub_id": 555}).json()
    assert created["hub_id"] == 555
    patched = hs.control("PATCH", "/portals/555", {"company_currency": "EUR", "features": {"projects": False}}).json()
    assert (patched["company_currency"], patched["features"]["projects"]) == ("EUR", False)
    assert [p["hub_id"] for p in hs.control("GET", "/portals").json()["portals"]] == [555]
    bad = hs.control("PATCH", "/portals/555", {"colour": "red"})
    assert (bad.status_code, bad.json()) == (400, {"error": "unknown portal fields: colour"})
    missing = hs.control("GET", "/portals/999")
    assert (missing.status_code, missing.json()) == (404, {"error": "no fake portal 999"})


def test_issue_token_with_custom_lifetime(hs):
    portal = hs.portal()
    issued = hs.control("POST", f"/portals/{portal.hub_id}/tokens", {"scopes": ["oauth"], "expires_in": 60}).json()
    assert issued["expires_in"] == 60
    assert hs.api("GET", "/_fake/echo", issued["access_token"]).status_code == 200
    hs.control("POST", "/clock", {"advance_seconds": 61})
    assert hs.api("GET", "/_fake/echo", issued["access_token"]).status_code == 401


def test_revoke_all_tokens(hs):
    portal = hs.portal()
    first, second = hs.token(portal), hs.token(portal)
    revoked = hs.control("POST", f"/portals/{portal.hub_id}/tokens/revoke", {}).json()
    assert revoked == {"revoked": {"access_tokens": 2, "refresh_tokens": 2}}
    for access in (first, second):
        assert hs.api("GET", "/_fake/echo", access.token).status_code == 401


def test_clock_control(hs):
    before = parse_datetime(hs.control("GET", "/clock").json()["now"])
    frozen = hs.control("POST", "/clock", {"freeze": True}).json()
    assert frozen["frozen"] is True
    advanced = hs.control("POST", "/clock", {"advance_seconds": 3600}).json()
    assert parse_datetime(advanced["now"]) - parse_datetime(frozen["now"]) == timedelta(hours=1)
    assert parse_datetime(advanced["now"]) - before >= timedelta(hours=1)
    running = hs.control("POST", "/clock", {"freeze": False}).json()
    assert running["frozen"] is False
    assert running["offset_seconds"] >= 3599
    reset = hs.control("POST", "/clock", {"reset": True}).json()
    assert (reset["offset_seconds"], reset["frozen"]) == (0.0, False)
    backwards = hs.control("POST", "/clock", {"advance_seconds": -1})
    assert backwards.status_code == 400


def test_clock_drives_token_metadata(hs):
    clock.freeze()
    access = hs.token(hs.portal())
    clock.advance(600)
    assert hs.api("GET", f"/oauth/v1/access-tokens/{access.token}").json()["expires_in"] == 1200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("PUT", "/portals", None, 405, "PUT is not allowed here; use GET, POST"),
        ("POST", "/portals", "not json", 400, None),
        ("POST", "/portals", [], 400, "the body must be a JSON object"),
        ("POST", "/portals", {"hub_id": -5}, 400, "hub_id must be a positive integer"),
        (
            "POST",
            "/portals",
            {"features": {"projects": "yes"}},
            400,
            "features must be an object of feature names to true/false",
        ),
    ],
)
def test_control_errors(hs, method, path, body, status, error):
    if isinstance(body, str):
        response = requests.request(method, hs.url(f"/_fake{path}"), data=body, timeout=30)
    else:
        response = hs.control(method, path, body)
    assert response.status_code == status
    if error is not None:
        assert response.json() == {"error": error}
    assert Portal.objects.count() == 0


def test_rate_limit_settings_validation(hs):
    portal = hs.portal()
    bad = hs.control("PUT", f"/portals/{portal.hub_id}/rate-limits", {"max": 0})
    assert (bad.status_code, bad.json()) == (400, {"error": "max must be a positive integer or null"})
    state.portal_set_rate_limits(portal=portal, search_limit=2)
    assert hs.control("GET", f"/portals/{portal.hub_id}/rate-limits").json()["search_max"] == 2
