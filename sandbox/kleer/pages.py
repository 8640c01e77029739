"""Server-rendered pages of the fake Kleer (GET only, no auth: dev sandbox), like the fake HubSpot's.

- `/sandbox/kleer/_pages/`: companies with their document counts.
- `/sandbox/kleer/_pages/<company>/`: one company: GET /info as the API answers it, and its counts.
- `/sandbox/kleer/_pages/<company>/<section>/`: its clients, invoices, agreements, projects or products, 50 per
  page in the API's order (by id); `?client=<id>` narrows invoices, agreements and projects to one client.
- `/sandbox/kleer/_pages/<company>/<section>/<id>/`: one document as GET on its API path answers it in JSON.

Documents are rendered by `schema.present` with the company's `Style`, as the API handlers render them, so a
page shows exactly what a sync reads. Amounts are stored in öre (kleer-api.md §1.7) and shown ÷ 100.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from sandbox.kleer import arithmetic, queries
from sandbox.kleer import conventions as C
from sandbox.kleer.models import Company, Resource
from sandbox.kleer.schema import Style, present
from sandbox.kleer.views import info_document

PAGE_SIZE = 50


class Cell(NamedTuple):
    """One table cell: its text, where it links ("" for none) and its CSS class (`num`, `date` or "")."""

    text: str
    link: str = ""
    css: str = ""


def text(value: Any) -> Cell:
    """A plain cell; a missing value is empty."""
    return Cell("" if value is None else str(value))


def num(value: str) -> Cell:
    """A number or amount: right-aligned, never wrapped."""
    return Cell(value, css="num")


def date(value: Any) -> Cell:
    """A date: never wrapped."""
    return Cell(value or "", css="date")


# --- formatting -------------------------------------------------------------------------------------------------


def money(ore: Any, currency: str) -> str:
    """An öre amount as the decimal the sync writes to HubSpot, with its currency: 123450 → "1234.50 SEK"."""
    return f"{Decimal(int(ore or 0)) / 100:.2f} {currency}"


def yes_no(value: Any) -> str:
    """A boolean field as a word."""
    return "yes" if value else "no"


def invoice_states(doc: dict[str, Any]) -> list[str]:
    """Where an invoice is in its life: draft or certified, sent, paid or partly paid, disabled (deleted)."""
    states = []
    if not doc.get("certified"):
        states.append("draft")
    else:
        states.append("certified")
        if doc.get("sent"):
            states.append("sent")
        total = int(doc.get("amount", 0)) + int(doc.get("vat", 0))
        remaining = int(doc.get("remaining", 0))
        if remaining == 0 and total != 0:
            states.append("paid")
        elif remaining != total:
            states.append("partly paid")
    if doc.get("disabled"):
        states.append("disabled")
    return states


def agreement_state(doc: dict[str, Any], today: dt.date) -> str:
    """deleted (soft, §2.5), ended (its end date passed) or running."""
    if doc.get("deleted"):
        return "deleted"
    end = doc.get("end-date")
    if end and dt.date.fromisoformat(end) < today:
        return "ended"
    return "running"


# --- sections: one per document kind a sync reads ----------------------------------------------------------------


@dataclass(frozen=True)
class Refs:
    """What the cells of one page link to: the company, and the names of the clients its rows point at."""

    company: Company
    client_names: dict[int, str]
    today: dt.date

    def record_url(self, slug: str, kleer_id: int) -> str:
        """The page of one document."""
        return reverse("kleer_pages_record", args=[self.company.id, slug, kleer_id])

    def client(self, client_id: int | None) -> Cell:
        """A client reference as "name (id)", linked; a dangling one shows its id only."""
        if not client_id:
            return Cell("")
        name = self.client_names.get(client_id)
        if name is None:
            return Cell(f"({client_id}, not found)")
        return Cell(f"{name} ({client_id})", self.record_url("clients", client_id))


def _client_cells(doc: dict[str, Any], refs: Refs) -> list[Cell]:
    return [
        text(doc.get("name")),
        text(doc.get("orgno")),
        text(doc.get("country-code")),
        text(doc.get("currency-type")),
        text(doc.get("delivery-type")),
        num(str(doc.get("payment-days", ""))),
        text(yes_no(doc.get("active"))),
        text(doc.get("foreign-id")),
    ]


def _invoice_cells(doc: dict[str, Any], refs: Refs) -> list[Cell]:
    currency = doc.get("currency") or refs.company.accounting_currency
    amount, vat = int(doc.get("amount", 0)), int(doc.get("vat", 0))
    number = str(doc["invoice-nr"]) if doc.get("invoice-nr") else "draft"
    if doc.get("debit-invoice-nr"):
        number += f" (credits {doc['debit-invoice-nr']})"
    return [
        text(number),
        refs.client(_ref_id(doc.get("client-ref"))),
        date(doc.get("invoice-date")),
        date(doc.get("due-date")),
        num(money(amount, currency)),
        num(money(vat, currency)),
        num(money(amount + vat, currency)),
        num(money(doc.get("remaining"), currency)),
        text(", ".join(invoice_states(doc))),
    ]


def _agreement_cells(doc: dict[str, Any], refs: Refs) -> list[Cell]:
    currency = doc.get("currency") or refs.company.accounting_currency
    amount, _vat = arithmetic.totals(doc.get("recurring-rows", {}).get("rows", []))
    return [
        text(doc.get("agreement-nr")),
        refs.client(_ref_id(doc.get("client-ref"))),
        text(doc.get("description")),
        date(doc.get("start-date")),
        date(doc.get("end-date")),
        date(doc.get("next-invoice-date")),
        num(str(doc.get("invoice-interval-months", ""))),
        num(money(amount, currency)),
        text(agreement_state(doc, refs.today)),
    ]


def _project_cells(doc: dict[str, Any], refs: Refs) -> list[Cell]:
    return [
        text(doc.get("number")),
        text(doc.get("name")),
        refs.client(_ref_id(doc.get("client"))),
        text(doc.get("status")),
        text(yes_no(doc.get("active"))),
        date(doc.get("opening-date")),
        date(doc.get("closing-date")),
    ]


def _product_cells(doc: dict[str, Any], refs: Refs) -> list[Cell]:
    vat = doc.get("vat-percentage")
    return [
        text(doc.get("name")),
        text(doc.get("type")),
        text(doc.get("unit")),
        num(money(doc.get("price"), refs.company.accounting_currency)),
        num(f"{(Decimal(str(vat)) * 100).normalize():f} %" if vat is not None else ""),
        text(doc.get("account-nr")),
        text(doc.get("foreign-id")),
    ]


def _ref_id(ref: Any) -> int | None:
    return ref.get("id") if isinstance(ref, dict) else None


@dataclass(frozen=True)
class Section:
    """One kind of document, as a list page and record pages."""

    slug: str  # in the page's URL
    kind: str  # models.Resource.kind
    title: str
    singular: str
    api_path: str  # the item's API path after /company/<id>/, "{id}" standing for the Kleer id
    headers: tuple[str, ...]  # after the first column, the Kleer id
    cells: Callable[[dict[str, Any], Refs], list[Cell]]
    by_client: bool = False  # rows belong to one client (indexed client_id): ?client= filters them


SECTIONS: dict[str, Section] = {
    section.slug: section
    for section in (
        Section(
            "clients",
            "client",
            "Clients",
            "Client",
            "client/{id}",
            ("name", "org no", "country", "currency", "delivery", "payment days", "active", "foreign-id"),
            _client_cells,
        ),
        Section(
            "invoices",
            "invoice",
            "Invoices",
            "Invoice",
            "client/invoice/{id}",
            ("number", "client", "date", "due", "amount", "VAT", "total", "remaining", "state"),
            _invoice_cells,
            by_client=True,
        ),
        Section(
            "agreements",
            "agreement",
            "Agreements",
            "Agreement",
            f"{C.AGREEMENT_PATH}/{{id}}",
            ("number", "client", "description", "start", "end", "next invoice", "months", "per period", "state"),
            _agreement_cells,
            by_client=True,
        ),
        Section(
            "projects",
            "client-project",
            "Projects",
            "Project",
            "client-project/{id}",
            ("number", "name", "client", "status", "active", "opened", "closed"),
            _project_cells,
            by_client=True,
        ),
        Section(
            "products",
            "product",
            "Products",
            "Product",
            "product/{id}",
            ("name", "type", "unit", "price", "VAT", "account", "foreign-id"),
            _product_cells,
        ),
    )
}


# --- lookups --------------------------------------------------------------------------------------------------------


def _company(company_id: int) -> Company:
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise Http404(f"No Kleer company {company_id}")
    return company


def _section(slug: str) -> Section:
    try:
        return SECTIONS[slug]
    except KeyError:
        raise Http404(f"Unknown section {slug}") from None


def _counts(company_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """(company id, kind) → how many documents, in one query."""
    documents = Resource.objects.filter(company_id__in=list(company_ids))
    rows = documents.values("company_id", "kind").annotate(n=Count("id"))
    return {(row["company_id"], row["kind"]): row["n"] for row in rows}


def _client_names(company_id: int, client_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {client_id for client_id in client_ids if client_id}
    names = queries.resources_all(company_id, "client").filter(kleer_id__in=wanted).values_list("kleer_id", "data")
    return {kleer_id: data.get("name", "") for kleer_id, data in names}


def api_url(company_id: int, path: str) -> str:
    """The API URL a sync GETs (the `/v1/` base), on this server."""
    # The API's routes carry no names (each is mounted under two prefixes); the fake's bare prefix has one.
    return f"{reverse('sandbox_kleer_root')}{C.API_PREFIXES[0]}company/{company_id}/{path}"


def _pretty(document: dict[str, Any]) -> str:
    """A document as the API's JSON, indented for reading (the API sends it compact, render.to_json)."""
    return json.dumps(document, ensure_ascii=False, indent=2)


# --- views ----------------------------------------------------------------------------------------------------------


@require_GET
def companies(request: HttpRequest) -> HttpResponse:
    """Every company with its document counts per section."""
    rows = list(Company.objects.order_by("id"))
    counts = _counts(company.id for company in rows)
    table = [
        (company, [(section, counts.get((company.id, section.kind), 0)) for section in SECTIONS.values()])
        for company in rows
    ]
    return render(request, "sandbox/kleer/companies.html", {"table": table, "sections": SECTIONS.values()})


@require_GET
def company(request: HttpRequest, company_id: int) -> HttpResponse:
    """One company: its counts and GET /info as the API answers it."""
    company = _company(company_id)
    counts = _counts([company.id])
    context = {
        "company": company,
        "sections": [(section, counts.get((company.id, section.kind), 0)) for section in SECTIONS.values()],
        "others": {kind: counts.get((company.id, kind), 0) for kind in ("user", "template", "project")},
        "info_url": api_url(company.id, "info"),
        "info_json": _pretty(present("info", info_document(company), Style.of(company.options))),
    }
    return render(request, "sandbox/kleer/company.html", context)


def _client_filter(request: HttpRequest, section: Section) -> int | None:
    raw = request.GET.get("client", "")
    return int(raw) if section.by_client and raw.isascii() and raw.isdigit() else None


@require_GET
def records(request: HttpRequest, company_id: int, section: str) -> HttpResponse:
    """One page of a company's documents of a section, with the columns a developer checks a sync against."""
    company, spec = _company(company_id), _section(section)
    client_id = _client_filter(request, spec)
    ids = queries.resources_all(company.id, spec.kind)
    if client_id is not None:
        ids = ids.filter(client_id=client_id)
    # Page over ids, then fetch those documents: an OFFSET over whole rows would read every skipped document
    # (a seeded company can hold 100,000 invoices; queries.invoice_page does the same).
    page = Paginator(ids.values_list("kleer_id", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    resources = list(queries.resources_all(company.id, spec.kind).filter(kleer_id__in=list(page.object_list)))
    client_ids = [r.client_id for r in resources] + [client_id]
    refs = Refs(company=company, client_names=_client_names(company.id, client_ids), today=timezone.localdate())
    table = [
        [Cell(str(r.kleer_id), refs.record_url(spec.slug, r.kleer_id)), *spec.cells(r.data, refs)] for r in resources
    ]
    context = {
        "company": company,
        "section": spec,
        "sections": SECTIONS.values(),
        "table": table,
        "page": page,
        "client": refs.client(client_id) if client_id is not None else None,
        "filter_query": f"client={client_id}&" if client_id is not None else "",
    }
    return render(request, "sandbox/kleer/records.html", context)


@require_GET
def record(request: HttpRequest, company_id: int, section: str, kleer_id: int) -> HttpResponse:
    """One document, as GET on its API path answers it (JSON, pretty-printed), with links to what it references."""
    company, spec = _company(company_id), _section(section)
    resource = Resource.objects.filter(company=company, kind=spec.kind, kleer_id=kleer_id).first()
    if resource is None:
        raise Http404(f"No {spec.singular.lower()} {kleer_id} in company {company_id}")
    refs = Refs(company, _client_names(company.id, [resource.client_id]), today=timezone.localdate())
    context = {
        "company": company,
        "section": spec,
        "resource": resource,
        "client": refs.client(resource.client_id),
        "agreement": refs.record_url("agreements", resource.agreement_id) if resource.agreement_id else "",
        "related": _related(company, resource) if spec.kind == "client" else [],
        "api_url": api_url(company.id, spec.api_path.format(id=kleer_id)),
        "document": _pretty(present(spec.kind, resource.data, Style.of(company.options))),
    }
    return render(request, "sandbox/kleer/record.html", context)


def _related(company: Company, client: Resource) -> list[tuple[Section, int]]:
    """The client's invoices, agreements and projects: (section, count), each linking to its filtered list."""
    rows = Resource.objects.filter(company=company, client_id=client.kleer_id).values("kind").annotate(n=Count("id"))
    counts = {row["kind"]: row["n"] for row in rows}
    return [(section, counts.get(section.kind, 0)) for section in SECTIONS.values() if section.by_client]
