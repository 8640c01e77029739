"""Coerce a written property value to the string HubSpot stores, or explain why it is invalid.

Rules from the properties guide (https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/guide,
hubspot-api.md §3 and §10.4): numbers must parse (one decimal point at most); bools are `true`/`false`;
enumeration values must be option values, `;`-joined for checkbox fields where a leading `;` appends; `date`
is `YYYY-MM-DD` or ms-epoch at midnight UTC; `datetime` is ISO-8601 or ms-epoch; strings hold at most 65,536
characters; an empty string clears the value. Error codes INVALID_INTEGER and INVALID_OPTION are HubSpot's
(error-handling docs); INVALID_BOOLEAN, INVALID_DATE, INVALID_DATETIME, INVALID_STRING are the fake's choice.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sandbox.hubspot_crm import clock
from sandbox.hubspot_crm.models import PropertyDefinition

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
MS_EPOCH = re.compile(r"^-?\d+$")
MAX_STRING = 65_536


class ValueProblem(Exception):
    """A value that does not fit its property; `code` is HubSpot's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def as_text(raw: Any) -> str:
    """The JSON value as HubSpot reads it: strings as they are, numbers and booleans in their JSON spelling."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | str):
        return str(raw)
    raise ValueProblem("INVALID_VALUE", f"{raw!r} is not a valid property value; values must be strings.")


def coerce(prop: PropertyDefinition, raw: Any, options: list[str], current: str | None) -> str | None:
    """The stored string for `raw`, or None to clear the property."""
    text = as_text(raw)
    if text == "":
        return None
    kind = prop.type
    if kind == "number":
        return _number(text)
    if kind == "bool":
        return _bool(text)
    if kind == "enumeration":
        return _enumeration(text, options, multiple=prop.field_type == "checkbox", current=current)
    if kind == "date":
        return _date(text)
    if kind == "datetime":
        return _datetime(text)
    if len(text) > MAX_STRING:
        raise ValueProblem("INVALID_STRING", f"The value is longer than the {MAX_STRING} characters allowed.")
    return text


def _number(text: str) -> str:
    stripped = text.strip()
    if not NUMBER.match(stripped):
        raise ValueProblem("INVALID_INTEGER", f"{text} was not a valid number.")
    return stripped


def _bool(text: str) -> str:
    if text not in ("true", "false"):
        raise ValueProblem("INVALID_BOOLEAN", f"{text} was not a valid boolean; use true or false.")
    return text


def _enumeration(text: str, options: list[str], *, multiple: bool, current: str | None) -> str:
    values = text.split(";") if multiple else [text]
    if multiple and text.startswith(";"):  # a leading ';' appends to the values already set
        values = (current.split(";") if current else []) + values[1:]
    values = [value for value in values if value != ""] if multiple else values
    for value in values:
        if value not in options:
            listed = ", ".join(options)
            raise ValueProblem("INVALID_OPTION", f"{value} was not one of the allowed options: [{listed}]")
    return ";".join(dict.fromkeys(values))


def _date(text: str) -> str:
    if MS_EPOCH.match(text):
        moment = clock.from_ms(int(text))
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            clock_time = f"{moment.hour}:{moment.minute}:{moment.second}.{moment.microsecond // 1000}"
            raise ValueProblem("INVALID_DATE", f"{text} is at {clock_time} UTC, not midnight!")
        return moment.date().isoformat()
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> str:
    raise ValueProblem("INVALID_DATE", f"{text} is not a valid date; use YYYY-MM-DD or ms at midnight UTC.")


def _datetime(text: str) -> str:
    if MS_EPOCH.match(text):
        return clock.iso(clock.from_ms(int(text)))
    parsed = clock.parse_iso(text)
    if parsed is None:
        raise ValueProblem("INVALID_DATETIME", f"{text} is not a valid datetime; use ISO-8601 or ms since epoch.")
    return clock.iso(parsed)


def comparable_value(kind: str, value: str) -> Any:
    """The number, epoch-ms or lower-cased text a search compares, or None when `value` does not parse."""
    if kind == "number":
        return float(value) if NUMBER.match(value.strip()) else None
    if kind in ("date", "datetime"):
        if MS_EPOCH.match(value):
            return int(value)
        parsed = clock.parse_iso(value if len(value) > 10 else f"{value}T00:00:00")
        return clock.to_ms(parsed) if parsed else None
    if kind == "bool":
        return value
    return value.lower()
