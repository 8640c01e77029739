"""Reads of the fake HubSpot's platform state: request counters and log entries, portals, tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from sandbox.hubspot import clock, ratelimit
from sandbox.hubspot.models import AccessToken, Portal, RefreshToken, RequestLog


def _log_rows(hub_id: int | None, since: datetime | None, after_id: int | None) -> QuerySet[RequestLog]:
    rows = RequestLog.objects.filter(hub_id=hub_id) if hub_id is not None else RequestLog.objects.filter(hub_id=None)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if after_id is not None:
        rows = rows.filter(id__gt=after_id)
    return rows


def request_counts(hub_id: int | None, since: datetime | None = None, *, after_id: int | None = None) -> dict[str, Any]:
    """Counters of the calls attributed to `hub_id` (None: calls no portal could be named for).

    `since` is a fake-clock time (inclusive); `after_id` a log entry id (exclusive), the robust choice in tests.
    `by_endpoint` keys look like "POST /crm/v3/objects/companies/batch/upsert"; 429s are included (HubSpot counts
    them as requests, e.g. in the 5% error budget) and also counted apart as `rate_limited`.
    """
    rows = _log_rows(hub_id, since, after_id)
    totals = rows.aggregate(
        total=Count("id"),
        rate_limited=Count("id", filter=Q(rate_limited=True)),
        faults=Count("id", filter=~Q(fault="")),
        errors=Count("id", filter=Q(status__gte=400) | Q(status=0)),
    )
    by_endpoint = rows.values_list("endpoint").annotate(n=Count("id")).order_by("endpoint")
    by_status = rows.values_list("status").annotate(n=Count("id")).order_by("status")
    return {
        "hub_id": hub_id,
        **totals,
        "by_endpoint": {endpoint: n for endpoint, n in by_endpoint},
        "by_status": {str(status): n for status, n in by_status},
    }


def request_log(
    hub_id: int | None, since: datetime | None = None, *, after_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest `limit` log entries of `hub_id`, newest first."""
    rows = _log_rows(hub_id, since, after_id).order_by("-id")[:limit]
    return [log_entry(row) for row in rows]


def log_entry(row: RequestLog) -> dict[str, Any]:
    """A log row as the control endpoints show it."""
    return {
        "id": row.pk,
        "at": clock.iso(row.at),
        "hub_id": row.hub_id,
        "method": row.method,
        "path": row.path,
        "endpoint": row.endpoint,
        "query": row.query,
        "status": row.status,
        "duration_ms": row.duration_ms,
        "correlation_id": row.correlation_id,
        "rate_limited": row.rate_limited,
        "fault": row.fault,
        "request_body": row.request_body,
        "user_agent": row.user_agent,
    }


def portal_get(hub_id: int) -> Portal | None:
    """The portal with `hub_id`, or None."""
    return Portal.objects.filter(hub_id=hub_id).first()


def portal_describe(portal: Portal) -> dict[str, Any]:
    """A portal as the control endpoints show it."""
    limit, interval_ms = ratelimit.limits(portal, ratelimit.BURST)
    search_limit, search_interval_ms = ratelimit.limits(portal, ratelimit.SEARCH)
    return {
        "hub_id": portal.hub_id,
        "hub_domain": portal.hub_domain,
        "time_zone": portal.time_zone,
        "company_currency": portal.company_currency,
        "additional_currencies": portal.additional_currencies,
        "account_type": portal.account_type,
        "data_hosting_location": portal.data_hosting_location,
        "features": portal.features,
        "installed": portal.installed,
        "rate_limits": {
            "max": limit,
            "interval_ms": interval_ms,
            "search_max": search_limit,
            "search_interval_ms": search_interval_ms,
            "daily_max": portal.daily_rate_limit_max,
            "retry_after": portal.retry_after_on_429,
        },
    }


def access_token_get(token: str) -> AccessToken | None:
    """The access token (with its portal) whatever its state, or None."""
    if not token:
        return None
    return AccessToken.objects.select_related("portal").filter(token=token).first()


def refresh_token_get(token: str) -> RefreshToken | None:
    """The refresh token (with its portal) whatever its state, or None."""
    if not token:
        return None
    return RefreshToken.objects.select_related("portal").filter(token=token).first()
