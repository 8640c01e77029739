"""The platform API views behind `@hubspot_api()`: account details, app uninstall, and a test-only echo.

Shapes follow HubSpot's specs `account-info.json` (`PortalInformationResponse`) and `app-uninstalls.json`
(204 No Content), both with scope `oauth`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot import clock, state
from sandbox.hubspot.gateway import HubSpotError, hubspot_api, require_method
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
    state.portal_uninstall(portal=request.hs.portal)  # type: ignore[attr-defined]
    return HttpResponse(status=204)


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
