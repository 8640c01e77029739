"""Helpers shared by the write rules of every resource: who is acting, required fields, references, clocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from sandbox.kleer import conventions as C
from sandbox.kleer import schema, store
from sandbox.kleer.errors import BusinessError, NotFound
from sandbox.kleer.models import Company, Resource


@dataclass(frozen=True)
class Scope:
    """The company a call works on and the user it acts as (the token's user, §1.2)."""

    company: Company
    user_id: int

    @property
    def company_id(self) -> int:
        """The Kleer company id (the number in API paths)."""
        return self.company.id

    def option(self, name: str) -> Any:
        """This company's value of a conventions.DEFAULT_OPTIONS entry."""
        return C.option(self.company.options, name)

    def coerce(self, kind: str, body: Any) -> dict[str, Any]:
        """A request body read with this company's unknown-field policy."""
        return schema.coerce(kind, body, unknown="reject" if self.option("reject_unknown_fields") else "drop")


def require(fields: Mapping[str, Any], kind: str) -> None:
    """Missing required elements on create → 500 "Tekniskt fel", as seen live (§1.9)."""
    for name in C.REQUIRED_ON_CREATE[kind]:
        if name not in fields or fields[name] is None:
            raise BusinessError(C.TECHNICAL_ERROR)


def required_kept(scope: Scope, fields: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The fields of an update, checked for `null` on a required element (§1.9, option required_null_on_update).

    `merge` lets a null clear an optional element (`approver`, `template`); a required one (`client-ref`, `rows`,
    `name`, …) cannot be cleared: 500 "Tekniskt fel" by default, or left unchanged with the option "keep"."""
    nulled = [name for name in C.REQUIRED_ON_CREATE[kind] if name in fields and fields[name] is None]
    if nulled and scope.option("required_null_on_update") != "keep":
        raise BusinessError(C.TECHNICAL_ERROR)
    return {name: value for name, value in fields.items() if name not in nulled}


def referenced(scope: Scope, kind: str, ref: Any, field: str) -> Resource | None:
    """The document a `{id}` reference in a body points at; a dangling one is a business error (500), not a 404:
    the URL was fine, the body was not. `{"id": 0}` means "none" (§1.6) and gives None."""
    if not ref or not ref.get("id"):
        return None
    try:
        return store.resource_get(scope.company_id, kind, ref["id"])
    except NotFound:
        raise BusinessError(f"{store.ENTITY_NAMES[kind]}DoesNotExistException: {field} {ref['id']}") from None


def merge(data: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """An update (§1.9): elements present replace the stored ones, absent ones stay, `null` clears."""
    out = dict(data)
    for name, value in fields.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def now_iso(moment: dt.datetime | None = None) -> str:
    """An xs:dateTime as stored: ISO-8601 with the Stockholm offset, to the second (J11)."""
    moment = moment or timezone.now()
    return moment.astimezone(ZoneInfo(C.TIME_ZONE)).isoformat(timespec="seconds")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (agreement periods, §2.5)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def as_date(value: Any, field: str) -> dt.date:
    """A stored or sent YYYY-MM-DD that must be present (e.g. `invoice-date`)."""
    if not isinstance(value, str) or not value:
        raise BusinessError(f'Missing "{field}"')
    return dt.date.fromisoformat(value)
