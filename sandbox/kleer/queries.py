"""Reads of the fake Kleer: full lists, the paged and filtered invoice list, client projects by filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from sandbox.kleer import conventions as C
from sandbox.kleer.errors import BusinessError
from sandbox.kleer.models import Resource


def resources_all(company_id: int, kind: str) -> QuerySet[Resource]:
    """Every document of a kind, by id (unpaged lists, §1.8)."""
    return Resource.objects.filter(company_id=company_id, kind=kind).order_by("kleer_id")


@dataclass(frozen=True)
class InvoicePage:
    """One page of GET /client/invoice: the rows plus `offset` and `size` (total), J3."""

    rows: list[Resource]
    offset: int
    size: int


def _int_param(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BusinessError(f'Invalid value "{raw}" for "{name}"') from None
    if value < minimum:
        raise BusinessError(f'Invalid value "{raw}" for "{name}"')
    return value


def _date_param(params: Mapping[str, str], name: str) -> dt.date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BusinessError(f'Invalid value "{raw}" for "{name}"') from None


def _filtered(company_id: int, params: Mapping[str, str]) -> QuerySet[Resource]:
    queryset = resources_all(company_id, "invoice")
    name = params.get("filter") or "all"
    if name not in C.INVOICE_FILTERS:  # exact spelling: "Certified" is refused like an unknown value
        raise BusinessError(f'Invalid value "{params.get("filter")}" for "filter"')
    # §5.4 row 14: certified / certifiable (not certified, not disabled) / sendable (certified, not sent).
    queryset = {
        "all": queryset,
        "certified": queryset.filter(certified=True),
        "certifiable": queryset.filter(certified=False, disabled=False),
        "sendable": queryset.filter(certified=True, sent=False, disabled=False),
    }[name]
    lower, upper = _date_param(params, "invoiceDateLower"), _date_param(params, "invoiceDateUpper")
    if lower:
        queryset = queryset.filter(invoice_date__gte=lower)  # bounds are inclusive (§2.4)
    if upper:
        queryset = queryset.filter(invoice_date__lte=upper)
    text = (params.get("query") or "").strip().lower()
    if text:
        clients = Resource.objects.filter(company_id=company_id, kind="client", data__name__icontains=text)
        queryset = queryset.filter(Q(search__contains=text) | Q(client_id__in=clients.values("kleer_id")))
    return queryset


def invoice_page(company_id: int, params: Mapping[str, str], options: Mapping[str, Any] | None) -> InvoicePage:
    """GET /client/invoice with `filter`, `query`, `invoiceDateLower/Upper`, `offset`, `limit` (§2.4, §5.4 row 14).
    The server lowers `limit` to its maximum (§1.8: `limit` "always represents the number of returned rows")."""
    queryset = _filtered(company_id, params)
    offset = _int_param(params, "offset", 0, 0)
    limit = min(
        _int_param(params, "limit", int(C.option(options, "default_limit")), 1), int(C.option(options, "max_limit"))
    )
    # Two steps: page over ids only (an index-only scan of the unique index, cheap even at offset 99,800), then
    # fetch those documents. A plain OFFSET over full rows reads every skipped row's JSON.
    ids = list(queryset.values_list("kleer_id", flat=True)[offset : offset + limit])
    rows = list(resources_all(company_id, "invoice").filter(kleer_id__in=ids)) if ids else []
    return InvoicePage(rows=rows, offset=offset, size=queryset.count())


def client_projects(company_id: int, params: Mapping[str, str]) -> QuerySet[Resource]:
    """GET /client-project?filter=all|active|inactive (§2.7)."""
    name = params.get("filter") or "all"
    if name not in C.CLIENT_PROJECT_FILTERS:
        raise BusinessError(f'Invalid value "{params.get("filter")}" for "filter"')
    queryset = resources_all(company_id, "client-project")
    if name == "all":
        return queryset
    return queryset.filter(active=(name == "active"))
