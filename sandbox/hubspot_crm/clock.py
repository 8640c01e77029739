"""Time for the fake CRM, and HubSpot's timestamp formats.

`now()` is the fake HubSpot's own clock (`sandbox.hubspot.clock`: real time plus an offset, or frozen, kept in
the database), so a test that advances it moves token expiry, rate windows, record timestamps and the search
index lag together, without sleeping (hubspot-api.md §10.1 "injectable clock").
HubSpot answers with ISO-8601 UTC timestamps with milliseconds and a `Z` ("2024-08-15T17:09:13.648Z",
https://developers.hubspot.com/docs/api-reference/error-handling example) and accepts ms-epoch on input.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sandbox.hubspot import clock as platform_clock


def now() -> datetime:
    """The fake's current time (aware, UTC)."""
    return platform_clock.now()


@functools.lru_cache(maxsize=256)
def iso(value: datetime) -> str:
    """`2024-08-15T17:09:13.648Z`. Cached: a batch write formats its one timestamp ~15 times per record (system
    properties, history entries, the answer), and the result depends on the instant alone."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_ms(ms: int) -> datetime:
    """The instant of a ms-epoch value."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_ms(value: datetime) -> int:
    """The ms-epoch value of an instant."""
    return int(value.timestamp() * 1000)


def parse_iso(text: str) -> datetime | None:
    """An ISO-8601 date-time (naive values are taken as UTC), or None when `text` is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
