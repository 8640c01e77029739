"""The platform API views behind `@hubspot_api()`: account details, app uninstall, the custom-object schema stub,
and a test-only echo.

Shapes follow HubSpot's specs `account-info.json` (`PortalInformationResponse`) and `app-uninstalls.json`
(204 No Content), both with scope `oauth`, and `schemas.json` (`ObjectSchema`, scope `crm.schemas.custom.write`).
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot import clock, requestlog, state
from sandbox.hubspot.gateway import HubSpotError, hubspot_api, hubspot_public, require_method
from sandbox.hubspot.models import Portal

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


def _json(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, content_type=JSON_CONTENT_TYPE)


@hubspot_api()
def account_details(request: HttpRequest, version: str) -> HttpResponse:
    """`GET /account-info/{v3|YYYY-MM}/details`."""
    require_method(request, "GET")
    request.hs.require_any_scope(["oauth"])  # type: ignore[attr-defined]
    return _json(account_info(request.hs.portal))  # type: ignore[attr-defined]


def account_info(portal: Portal) -> dict[str, Any]:
    """`PortalInformationResponse` for `portal`; the UTC offset is the time zone's at the fake clock's now."""
    offset = clock.now().astimezone(ZoneInfo(portal.time_zone)).utcoffset() or timedelta(0)
    return {
        "portalId": portal.hub_id,
        "accountType": portal.account_type,
        "timeZone": portal.time_zone,
        "companyCurrency": portal.company_currency,
        "additionalCurrencies": list(portal.additional_currencies),
        "utcOffset": _format_offset(offset),
        "utcOffsetMilliseconds": int(offset.total_seconds() * 1000),
        "uiDomain": portal.ui_domain,
        "dataHostingLocation": portal.data_hosting_location,
    }


def _format_offset(offset: timedelta) -> str:
    """`+01:00`, `-05:00` (the spec's `utcOffset`)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


@hubspot_api()
def external_install(request: HttpRequest, version: str) -> HttpResponse:
    """`DELETE /appinstalls/{v3|YYYY-MM}/external-install`: uninstall the app from the token's portal."""
    require_method(request, "DELETE")
    request.hs.require_any_scope(["oauth"])  # type: ignore[attr-defined]
    state.portal_uninstall(portal=request.hs.portal, by_app=True)  # type: ignore[attr-defined]
    return HttpResponse(status=204)


# Custom-object schemas are out of the fake's scope beyond this stub (hubspot-api.md §10.9): creation answers 201
# with an `ObjectSchema`, is gated on the Enterprise-only `custom_objects` feature (§1.5, §10.3) and stores nothing.
SCHEMA_WRITE_SCOPE = "crm.schemas.custom.write"
CUSTOM_OBJECTS_FEATURE = "custom_objects"


@hubspot_api()
def object_schemas(request: HttpRequest) -> HttpResponse:
    """`POST /crm-object-schemas/v3/schemas`: the stub of custom-object schema creation (201, nothing stored)."""
    require_method(request, "POST")
    hs = request.hs  # type: ignore[attr-defined]
    hs.require_any_scope([SCHEMA_WRITE_SCOPE])
    hs.require_feature(CUSTOM_OBJECTS_FEATURE)
    egg = _schema_egg(request.body)
    now = clock.iso(clock.now())
    schema_id = str(secrets.randbelow(9_000_000) + 1_000_000)
    properties = egg["properties"]
    return _json(
        {
            "id": schema_id,
            "objectTypeId": f"2-{schema_id}",
            "fullyQualifiedName": f"p{hs.hub_id}_{egg['name']}",
            "name": egg["name"],
            "labels": egg["labels"],
            "primaryDisplayProperty": egg.get("primaryDisplayProperty", properties[0]["name"]),
            "secondaryDisplayProperties": egg.get("secondaryDisplayProperties", []),
            "requiredProperties": egg.get("requiredProperties", []),
            "searchableProperties": egg.get("searchableProperties", []),
            "properties": properties,
            "associations": [],
            "metaType": "PORTAL_SPECIFIC",
            "archived": False,
            "createdAt": now,
            "updatedAt": now,
        },
        status=201,
    )


def _schema_egg(raw: bytes) -> dict[str, Any]:
    """The `ObjectSchemaEgg` body: `name`, `labels{singular, plural}` and a non-empty `properties[{name}]`."""
    data = json.loads(raw or b"null")  # the gateway turns a decoding error into HubSpot's 400
    if not isinstance(data, dict):
        raise HubSpotError(400, "The request body must be an ObjectSchemaEgg object")
    labels, properties = data.get("labels"), data.get("properties")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise HubSpotError(400, "name is required", context={"name": ["required"]})
    if not isinstance(labels, dict) or not labels.get("singular") or not labels.get("plural"):
        raise HubSpotError(400, "labels.singular and labels.plural are required", context={"labels": ["required"]})
    if not isinstance(properties, list) or not properties:
        raise HubSpotError(400, "properties must be a non-empty array", context={"properties": ["required"]})
    if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in properties):
        raise HubSpotError(400, "every property needs a name", context={"properties": ["invalid"]})
    return data


# An unknown API path: JSON like every other answer (§10.3 "every response carries X-HubSpot-Correlation-Id and
# Content-Type: application/json;charset=utf-8"). The wording and category are the fake's choice.
UNKNOWN_PATH_CATEGORY = "OBJECT_NOT_FOUND"


@hubspot_public()
def unknown_path(request: HttpRequest, **_kwargs: Any) -> HttpResponse:
    """Any path under the fake's API prefix that no route serves: 404 in HubSpot's error shape."""
    path = requestlog.safe_path(requestlog.api_path(request))
    raise HubSpotError(404, f"No API endpoint {request.method} {path}", category=UNKNOWN_PATH_CATEGORY)


def _echo(request: HttpRequest) -> HttpResponse:
    request.hs.require_any_scope(["oauth"])  # type: ignore[attr-defined]
    raw_status = request.GET.get("status", "200")
    if not raw_status.isdigit() or not 200 <= int(raw_status) <= 299:
        raise HubSpotError(400, "status must be a 2xx code")
    hs = request.hs  # type: ignore[attr-defined]
    data = {"hubId": hs.hub_id, "method": request.method, "scopes": sorted(hs.scopes), "appId": hs.app_id}
    return _json(data, status=int(raw_status))


@hubspot_api()
def echo(request: HttpRequest) -> HttpResponse:
    """Test-only: an API call that needs only `oauth`; `?status=201` answers with that 2xx status."""
    return _echo(request)


@hubspot_api(search=True)
def echo_search(request: HttpRequest) -> HttpResponse:
    """Test-only: the same, in the search bucket (5 per second, no rate-limit headers)."""
    return _echo(request)
