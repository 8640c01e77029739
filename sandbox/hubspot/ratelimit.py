"""HubSpot's per-portal rate limits for public OAuth apps, enforced across threads and processes.

https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (hubspot-api.md §6):
- 110 requests per rolling 10 seconds per installing account; the CRM Search API is excluded from it;
- search: 5 requests per second per account, and search responses carry no rate-limit headers;
- other responses carry `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`; OAuth-authenticated
  calls get no `-Daily*` headers because there is no daily limit for them;
- the daily bucket (429 `DAILY`) is therefore off by default; a portal's `daily_rate_limit_max` switches it on, for
  tests of a client's daily-limit handling (§10.7). The day ends at midnight in the portal's time zone.

The window is a table of hits. Each check locks the portal's row (SELECT ... FOR NO KEY UPDATE), counts the hits still
inside the window, and records a hit if there is room, all in one transaction: two workers can never both take
the last slot. A refused call (429) takes no slot; HubSpot documents nothing either way, and counting refusals
would lock out a client that keeps retrying. Refused calls are still requests, so the request log counts them.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction

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
DAILY_BUCKET = "daily"


@dataclass(frozen=True)
class Policy:
    """What a rate-limit 429 says: `policyName`, `message`, and the `groupName` prefix (":<appId>:<hubId>" follows)."""

    name: str
    message: str
    group: str


# The three 429 bodies (hubspot-api.md §6.3, §10.7), kept here so a wording change is one edit.
# TEN_SECONDLY_ROLLING: a real response (HubSpot/hubspot-api-python#117), OAuth group name as §10.7 gives it.
# SECONDLY (search): message and policy from the Node SDK; the group name is the fake's choice by analogy.
# DAILY: message and policy from the usage guidelines; the group name is the fake's choice by analogy.
TEN_SECONDLY_ROLLING = Policy(
    "TEN_SECONDLY_ROLLING",
    "You have reached your ten_secondly_rolling limit.",
    "publicapi:oauth-api-calls-ten-secondly",
)
SECONDLY = Policy("SECONDLY", "You have reached your secondly limit.", "publicapi:oauth-api-calls-secondly")
DAILY = Policy("DAILY", "You have reached your daily limit.", "publicapi:oauth-api-calls-daily")


@dataclass(frozen=True)
class Decision:
    """The outcome of one rate check; `limit`/`remaining`/`interval_ms` describe the call's own window."""

    allowed: bool
    bucket: str
    limit: int
    remaining: int
    interval_ms: int
    retry_after_seconds: int  # when the refusing window frees a slot (0 when allowed)
    policy: Policy = TEN_SECONDLY_ROLLING


def limits(portal: Portal, bucket: str) -> tuple[int, int]:
    """(max calls, window in ms) for the portal's bucket, read at call time so tests may patch the constants."""
    if bucket == SEARCH:
        return portal.search_rate_limit_max or SEARCH_RATE_LIMIT_MAX, SEARCH_RATE_LIMIT_INTERVAL_MS
    return portal.rate_limit_max or RATE_LIMIT_MAX, RATE_LIMIT_INTERVAL_MS


def consume(*, portal: Portal, search: bool, now: datetime) -> Decision:
    """Take a slot in the portal's window (and in its daily bucket, when it has one) if one is free."""
    bucket = SEARCH if search else BURST
    limit, interval_ms = limits(portal, bucket)
    start = now - timedelta(milliseconds=interval_ms)
    with transaction.atomic():
        # The row lock serialises every check of this portal; on SQLite it is a no-op (correct, not concurrent).
        # NO KEY UPDATE, so that inserts referencing the portal (tokens, hits) are not blocked by it. The window is
        # read in a later statement, so that it sees every hit committed before the lock was granted.
        Portal.objects.select_for_update(no_key=True).filter(pk=portal.pk).values_list("pk", flat=True).get()
        if connection.vendor == "postgresql" and not portal.daily_rate_limit_max:
            used, oldest = _take_slot(portal, bucket, limit, start, now)
        else:
            daily_wait, used, oldest = _take_slots(portal, bucket, limit, start, now)
            if daily_wait is not None:
                return Decision(False, bucket, limit, max(0, limit - used), interval_ms, daily_wait, DAILY)
    if used >= limit:
        wait = max(1, math.ceil(((oldest or now) - start).total_seconds()))
        return Decision(False, bucket, limit, 0, interval_ms, wait, SECONDLY if search else TEN_SECONDLY_ROLLING)
    return Decision(True, bucket, limit, limit - used - 1, interval_ms, 0)


# One statement for the window of a portal without a daily bucket: drop hits that left it, count those in it
# (and find the oldest), and record this call's hit when there is room. Its parts share one snapshot; the
# count ignores the dropped hits, which are all at or before the window's start.
TAKE_SLOT_SQL = f"""
WITH gone AS (
    DELETE FROM {RateHit._meta.db_table} WHERE portal_id = %(portal)s AND bucket = %(bucket)s AND at <= %(start)s
), slots AS (
    SELECT count(*) AS used, min(at) AS oldest FROM {RateHit._meta.db_table}
    WHERE portal_id = %(portal)s AND bucket = %(bucket)s AND at > %(start)s
), hit AS (
    INSERT INTO {RateHit._meta.db_table} (portal_id, bucket, at)
    SELECT %(portal)s, %(bucket)s, %(now)s FROM slots WHERE used < %(limit)s
)
SELECT used, oldest FROM slots
"""


def _take_slot(portal: Portal, bucket: str, limit: int, start: datetime, now: datetime) -> tuple[int, datetime | None]:
    """(hits in the window before this call, the oldest of them), recording this call's hit if there is room:
    `_take_slots` in one query instead of four (PostgreSQL; the caller holds the portal's row lock)."""
    params = {"portal": portal.pk, "bucket": bucket, "start": start, "now": now, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(TAKE_SLOT_SQL, params)
        used, oldest = cursor.fetchone()
    return used, oldest


def _take_slots(
    portal: Portal, bucket: str, limit: int, start: datetime, now: datetime
) -> tuple[int | None, int, datetime | None]:
    """(seconds until the daily bucket frees up or None, hits in the window, the oldest of them), recording this
    call's hits when both have room, step by step (a daily bucket, or a database other than PostgreSQL)."""
    window = RateHit.objects.filter(portal=portal, bucket=bucket)
    window.filter(at__lte=start).delete()
    used = window.filter(at__gt=start).count()
    daily_wait = _daily_exhausted(portal, now)
    if daily_wait is not None:
        return daily_wait, used, None
    if used >= limit:
        return None, used, window.filter(at__gt=start).order_by("at").values_list("at", flat=True).first()
    hits = [RateHit(portal=portal, bucket=bucket, at=now)]
    if portal.daily_rate_limit_max:
        hits.append(RateHit(portal=portal, bucket=DAILY_BUCKET, at=now))
    RateHit.objects.bulk_create(hits)
    return None, used, None


def _daily_exhausted(portal: Portal, now: datetime) -> int | None:
    """Seconds until the portal's day ends if its daily bucket is full, else None (always None when it is off).

    OAuth apps have no daily limit (§6.1), so the bucket exists only when a test sets one. The day ends at
    midnight in the portal's time zone, when HubSpot's daily limit resets (§6.3).
    """
    if not portal.daily_rate_limit_max:
        return None
    day_start = now.astimezone(ZoneInfo(portal.time_zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    hits = RateHit.objects.filter(portal=portal, bucket=DAILY_BUCKET)
    hits.filter(at__lt=day_start).delete()
    if hits.count() < portal.daily_rate_limit_max:
        return None
    return max(1, math.ceil((day_start + timedelta(days=1) - now).total_seconds()))


def headers(decision: Decision) -> dict[str, str]:
    """The rate-limit headers of a non-search response (search responses carry none, OAuth ones no `-Daily*`)."""
    if decision.bucket == SEARCH:
        return {}
    return {
        "X-HubSpot-RateLimit-Max": str(decision.limit),
        "X-HubSpot-RateLimit-Remaining": str(decision.remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(decision.interval_ms),
    }


def too_many(decision: Decision, portal: Portal) -> HubSpotError:
    """HubSpot's 429 for the policy that refused the call (TEN_SECONDLY_ROLLING, SECONDLY or DAILY).

    Retry-After is sent only when the portal's flag asks for it (it is undocumented for 429s).
    """
    body = policy_body(decision.policy, hub_id=portal.hub_id)
    extra_headers = headers(decision)
    if portal.retry_after_on_429:
        extra_headers["Retry-After"] = str(decision.retry_after_seconds)
    return HubSpotError(429, body.pop("message"), category=None, extra=body, headers=extra_headers)


def policy_body(policy: Policy, *, hub_id: int) -> dict[str, str]:
    """`message`, `errorType`, `policyName`, `groupName` of a rate-limit 429 (DAILY adds a `requestId`, §6.3)."""
    body = {
        "message": policy.message,
        "errorType": "RATE_LIMIT",
        "policyName": policy.name,
        "groupName": f"{policy.group}:{state.app_id()}:{hub_id}",
    }
    if policy is DAILY:
        body["requestId"] = str(uuid.uuid4())
    return body


def rate_limit_policy(*, search: bool, hub_id: int) -> dict[str, str]:
    """The body fields of a scripted 429 fault: SECONDLY on search paths, TEN_SECONDLY_ROLLING elsewhere."""
    return policy_body(SECONDLY if search else TEN_SECONDLY_ROLLING, hub_id=hub_id)
