"""HubSpot's per-portal rate limits for public OAuth apps, enforced across threads and processes.

https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (hubspot-api.md §6):
- 110 requests per rolling 10 seconds per installing account; the CRM Search API is excluded from it;
- search: 5 requests per second per account, and search responses carry no rate-limit headers;
- other responses carry `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`; OAuth-authenticated
  calls get no `-Daily*` headers because there is no daily limit for them.

The window is a table of hits. Each check locks the portal's row (SELECT ... FOR NO KEY UPDATE), counts the hits still
inside the window, and records a hit if there is room, all in one transaction: two workers can never both take
the last slot. A refused call (429) takes no slot; HubSpot documents nothing either way, and counting refusals
would lock out a client that keeps retrying. Refused calls are still requests, so the request log counts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from sandbox.hubspot import state
from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.models import Portal, RateHit

# Module defaults; a portal's own settings (Portal.rate_limit_max / search_rate_limit_max) win.
RATE_LIMIT_MAX = 110
RATE_LIMIT_INTERVAL_MS = 10_000
SEARCH_RATE_LIMIT_MAX = 5
SEARCH_RATE_LIMIT_INTERVAL_MS = 1_000

BURST = "burst"
SEARCH = "search"


@dataclass(frozen=True)
class Decision:
    """The outcome of one rate check."""

    allowed: bool
    bucket: str
    limit: int
    remaining: int
    interval_ms: int
    retry_after_seconds: int  # when the oldest hit leaves the window (0 when allowed)


def limits(portal: Portal, bucket: str) -> tuple[int, int]:
    """(max calls, window in ms) for the portal's bucket, read at call time so tests may patch the constants."""
    if bucket == SEARCH:
        return portal.search_rate_limit_max or SEARCH_RATE_LIMIT_MAX, SEARCH_RATE_LIMIT_INTERVAL_MS
    return portal.rate_limit_max or RATE_LIMIT_MAX, RATE_LIMIT_INTERVAL_MS


def consume(*, portal: Portal, search: bool, now: datetime) -> Decision:
    """Take a slot in the portal's window if one is free."""
    bucket = SEARCH if search else BURST
    limit, interval_ms = limits(portal, bucket)
    start = now - timedelta(milliseconds=interval_ms)
    with transaction.atomic():
        # The row lock serialises every check of this portal; on SQLite it is a no-op (correct, not concurrent).
        # NO KEY UPDATE, so that inserts referencing the portal (tokens, hits) are not blocked by it.
        Portal.objects.select_for_update(no_key=True).filter(pk=portal.pk).values_list("pk", flat=True).get()
        window = RateHit.objects.filter(portal=portal, bucket=bucket)
        window.filter(at__lte=start).delete()
        used = window.filter(at__gt=start).count()
        if used >= limit:
            oldest = window.filter(at__gt=start).order_by("at").values_list("at", flat=True).first() or now
            wait = (oldest - start).total_seconds()
            return Decision(False, bucket, limit, 0, interval_ms, max(1, math.ceil(wait)))
        RateHit.objects.create(portal=portal, bucket=bucket, at=now)
    return Decision(True, bucket, limit, limit - used - 1, interval_ms, 0)


def headers(decision: Decision) -> dict[str, str]:
    """The rate-limit headers of a non-search response (search responses carry none)."""
    if decision.bucket == SEARCH:
        return {}
    return {
        "X-HubSpot-RateLimit-Max": str(decision.limit),
        "X-HubSpot-RateLimit-Remaining": str(decision.remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(decision.interval_ms),
    }


def too_many(decision: Decision, portal: Portal) -> HubSpotError:
    """HubSpot's 429: the TEN_SECONDLY_ROLLING body (issue HubSpot/hubspot-api-python#117) or the search SECONDLY one.

    Retry-After is sent only when the portal's flag asks for it (it is undocumented for 429s).
    """
    policy = rate_limit_policy(search=decision.bucket == SEARCH, hub_id=portal.hub_id)
    extra_headers = headers(decision)
    if portal.retry_after_on_429:
        extra_headers["Retry-After"] = str(decision.retry_after_seconds)
    return HubSpotError(429, policy.pop("message"), category=None, extra=policy, headers=extra_headers)


def rate_limit_policy(*, search: bool, hub_id: int) -> dict[str, str]:
    """`message`, `errorType`, `policyName`, `groupName` of a rate-limit 429.

    The search group name is the fake's guess by analogy with the documented ten-secondly one.
    """
    window = "secondly" if search else "ten-secondly"
    return {
        "message": "You have reached your secondly limit."
        if search
        else "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "SECONDLY" if search else "TEN_SECONDLY_ROLLING",
        "groupName": f"publicapi:oauth-api-calls-{window}:{state.app_id()}:{hub_id}",
    }
