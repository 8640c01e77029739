"""Value conversion from Kleer JSON to HubSpot property strings.

Kleer sends kebab-case JSON with money as integer öre, dates as "YYYY-MM-DD", dateTimes in an unknown form (ISO
string or epoch milliseconds; kleer-api.md J11) and enums in either XSD spelling or UPPER_SNAKE (J9). HubSpot
stores every property value as a string (hubspot-api.md §2.2): numbers without float artefacts, booleans as
"true"/"false", dates as "YYYY-MM-DD", datetimes as ISO-8601 UTC.
"""

from __future__ import annotations

import decimal
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "TransformError",
    "enum_key",
    "format_bool",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_integer",
    "format_money",
    "join_names",
    "parse_date",
    "to_decimal",
    "unwrap_id",
]

_CENT = Decimal("0.01")
# Money can exceed the default 28 significant digits only in absurd cases, but never let Decimal round silently.
_MONEY_CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


class TransformError(ValueError):
    """A Kleer value that cannot be written to HubSpot; the message names the value and the field."""


def to_decimal(value: Any) -> Decimal:
    """Exact Decimal from an int, Decimal or numeric string; floats go through `str` so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise TransformError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float | str):
        try:
            result = Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise TransformError(f"expected a number, got {value!r}") from None
    else:
        raise TransformError(f"expected a number, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise TransformError(f"expected a finite number, got {value!r}")
    return result


def format_money(ore: Any) -> str:
    """Kleer öre → HubSpot currency units with exactly two decimals: 12345 → "123.45", -5 → "-0.05"."""
    amount = _MONEY_CONTEXT.divide(to_decimal(ore), Decimal(100))
    result = amount.quantize(_CENT, context=_MONEY_CONTEXT)
    # Decimal keeps the sign of -0; HubSpot and humans want "0.00".
    return format(result.copy_abs() if result.is_zero() else result, "f")


def format_decimal(value: Any) -> str:
    """Plain decimal string without exponent or trailing zeros: 0.25 → "0.25", Decimal("2.50") → "2.5"."""
    number = to_decimal(value)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def format_integer(value: Any) -> str:
    """Whole number string; "12" and 12.0 are accepted, 12.5 is not."""
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise TransformError(f"expected a whole number, got {value!r}")
    return str(int(number))


def format_bool(value: Any) -> str:
    """HubSpot booleans are the strings "true" and "false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise TransformError(f"expected a boolean, got {value!r}")


def _from_epoch_ms(value: int | Decimal) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _parse_datetime(value: Any) -> datetime:
    """ISO string, epoch milliseconds, date or datetime → aware UTC datetime (naive values are taken as UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value)
    elif isinstance(value, str) and re.fullmatch(r"-?\d{9,}", value.strip()):
        return _from_epoch_ms(int(value.strip()))
    elif isinstance(value, str):
        try:
            # Python 3.11 fromisoformat accepts "Z", offsets and date-only strings.
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TransformError(f"expected an ISO-8601 date-time or epoch milliseconds, got {value!r}") from None
    else:
        raise TransformError(f"expected a date-time, got {type(value).__name__} {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_date(value: Any) -> date:
    """A calendar date from a date, datetime, "YYYY-MM-DD…" string or epoch milliseconds."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise TransformError(f"expected a YYYY-MM-DD date, got {value!r}") from None
    return _parse_datetime(value).date()


def format_date(value: Any) -> str:
    """HubSpot `date` properties take "YYYY-MM-DD" (midnight UTC)."""
    return parse_date(value).isoformat()


def format_datetime(value: Any) -> str:
    """ISO-8601 in UTC with milliseconds, the form HubSpot itself returns: "2025-01-31T09:30:00.000Z"."""
    return _parse_datetime(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- HubSpot → Kleer (the inverse of the formatters above) -------------------------------------------------


def parse_money(text: str) -> int:
    """HubSpot currency units → Kleer integer öre, exactly: "123.45" → 12345; "0.001" cannot be öre."""
    amount = _MONEY_CONTEXT.multiply(to_decimal(text), Decimal(100))
    if amount != amount.to_integral_value():
        raise TransformError(f"{text!r} has more than two decimals, which Kleer cannot store in öre")
    return int(amount)


def parse_integer(text: str) -> int:
    """A whole number from HubSpot's string ("30", "30.0"); "30.5" is refused."""
    return int(format_integer(text))


def parse_decimal(text: str) -> int | float:
    """A JSON number for Kleer: int when whole, else the shortest float that reads back as the same decimal."""
    number = to_decimal(text)
    return int(number) if number == number.to_integral_value() else float(format_decimal(number))


def parse_bool(text: str) -> bool:
    return format_bool(text) == "true"


@functools.lru_cache(maxsize=4096)  # a sync compares the same few option names thousands of times
def enum_key(value: str) -> str:
    """Comparison key for enum values: case, '_', '-' and spaces ignored ("ORGANISATION" ~ "Organisation")."""
    return re.sub(r"[\s_\-]", "", value).casefold()


def unwrap_id(value: Any) -> Any:
    """Kleer references are `{"id": n}` and readable entities wrap their own id the same way (kleer-api.md §1.6)."""
    while isinstance(value, Mapping) and "id" in value:
        value = value["id"]
    return value


def join_names(names: Iterable[str]) -> str:
    """Human list for error messages."""
    return ", ".join(names)
