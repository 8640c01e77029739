"""Checks for raw text from the outside (query strings, POSTed ids, headers) before it reaches int() or SQL.

`str.isdigit()` is true for "²", "١٢" and "𝟙"; `int()` then fails on the first and reads the others as
numbers, and PostgreSQL refuses text holding NUL. These helpers say yes to plain ASCII only.
"""

from __future__ import annotations

from collections.abc import Iterable

# A PostgreSQL bigint holds 19 digits; 18 keeps every accepted id inside it.
MAX_ID_DIGITS = 18


def is_ascii_digits(value: str, *, max_length: int = MAX_ID_DIGITS) -> bool:
    """True for "0".."9" only (no signs, spaces, superscripts or other scripts' digits), at most max_length."""
    return 0 < len(value) <= max_length and value.isascii() and value.isdigit()


def ascii_int(value: str | None, *, max_length: int = MAX_ID_DIGITS) -> int | None:
    """The integer spelled by `value` in ASCII digits, else None."""
    if value is None or not is_ascii_digits(value, max_length=max_length):
        return None
    return int(value)


def holds_nul(values: Iterable[str]) -> bool:
    """True when any of the strings holds a NUL character (PostgreSQL text and jsonb refuse it)."""
    return any("\x00" in value for value in values)
