"""Storage primitives of the fake Kleer: companies, id sequences, documents and tokens.

Everything above this module (the API rules, the control endpoints, the seed) reads and writes documents through
these functions, so the indexed columns always match the stored JSON.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max

from sandbox.kleer import conventions as C
from sandbox.kleer.errors import NotFound
from sandbox.kleer.models import Company, Fault, RequestLog, Resource, Sequence, Token

# Entity names used in "not found" messages (and Java-style exception names when 404s are configured as 500s).
ENTITY_NAMES = {
    "user": "User",
    "client": "Client",
    "product": "Product",
    "invoice": "ClientInvoice",
    "agreement": "ClientAgreement",
    "client-project": "ClientProject",
    "project": "Project",
    "template": "ClientInvoiceTemplate",
}
TOKEN_ALPHABET = string.ascii_letters + string.digits


def _ref_id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def index_columns(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The indexed columns of a document (see models.Resource)."""
    columns: dict[str, Any] = {"client_id": None, "agreement_id": None, "invoice_date": None, "invoice_nr": None}
    columns |= {"certified": None, "sent": None, "disabled": None, "active": None, "search": ""}
    if kind in ("invoice", "agreement"):
        columns["client_id"] = _ref_id(data.get("client-ref"))
    if kind == "client-project":
        columns["client_id"] = _ref_id(data.get("client"))
    if kind in ("client", "client-project", "user", "project"):
        columns["active"] = data.get("active")
    if kind == "invoice":
        number = data.get("invoice-nr") or 0
        columns |= {
            "agreement_id": _ref_id(data.get("client-agreement-ref")),
            "invoice_date": _date(data.get("invoice-date")),
            "invoice_nr": number,
            "certified": bool(data.get("certified")),
            "sent": bool(data.get("sent")),
            "disabled": bool(data.get("disabled")),
            # §5.4 row 14: `query` matches invoice-nr (once there is one), foreign-id and your-reference here;
            # the client's current name is matched through client_id at query time.
            "search": "\n".join(
                [str(number) if number else "", str(data.get("foreign-id", "")), str(data.get("your-reference", ""))]
            ).lower(),
        }
    return columns


def resource_build(company_id: int, kind: str, kleer_id: int, data: dict[str, Any]) -> Resource:
    """An unsaved Resource with its columns filled in (the seed bulk-creates these)."""
    return Resource(company_id=company_id, kind=kind, kleer_id=kleer_id, data=data, **index_columns(kind, data))


def resource_save(resource: Resource) -> Resource:
    """Write a changed document back, refreshing its indexed columns."""
    for name, value in index_columns(resource.kind, resource.data).items():
        setattr(resource, name, value)
    resource.save()
    return resource


def resource_get(company_id: int, kind: str, kleer_id: Any, *, lock: bool = False) -> Resource:
    """One document, or NotFound. `lock=True` takes a row lock (call inside transaction.atomic)."""
    try:
        number = int(kleer_id)
    except (TypeError, ValueError):
        raise NotFound(ENTITY_NAMES[kind], kleer_id) from None
    queryset = Resource.objects.select_for_update() if lock else Resource.objects
    try:
        return queryset.get(company_id=company_id, kind=kind, kleer_id=number)
    except Resource.DoesNotExist:
        raise NotFound(ENTITY_NAMES[kind], kleer_id) from None


def resource_create(company_id: int, kind: str, data: dict[str, Any]) -> Resource:
    """Store a new document under the next id of its kind; the id is written into the document too."""
    kleer_id = sequence_take(company_id, kind)
    # Readables wrap their own id (§1.6): client projects store `"id": {"id": n}`.
    data = {"id": {"id": kleer_id} if kind == "client-project" else kleer_id, **data}
    resource = resource_build(company_id, kind, kleer_id, data)
    resource.save()
    return resource


def sequence_take(company_id: int, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive values of a company counter and return the first. Safe under concurrency:
    the UPDATE holds the row lock until the surrounding transaction ends."""
    with transaction.atomic():
        updated = Sequence.objects.filter(company_id=company_id, name=name).update(next_value=F("next_value") + count)
        if not updated:
            _sequence_create(company_id, name)
            Sequence.objects.filter(company_id=company_id, name=name).update(next_value=F("next_value") + count)
        return Sequence.objects.get(company_id=company_id, name=name).next_value - count


def _sequence_create(company_id: int, name: str) -> None:
    start = C.FIRST_INVOICE_NR if name == "invoice-nr" else C.ID_BASES.get(name, 0) + 1
    try:
        with transaction.atomic():
            Sequence.objects.create(company_id=company_id, name=name, next_value=start)
    except IntegrityError:
        pass  # another request created it first


def sequence_reset(company_id: int, name: str, next_value: int) -> None:
    """Set a counter (the seed calls this after bulk-creating with ids it numbered itself)."""
    Sequence.objects.update_or_create(company_id=company_id, name=name, defaults={"next_value": next_value})


def company_create(*, company_id: int | None = None, **fields: Any) -> Company:
    """A new company; without `company_id` the next free id from FIRST_COMPANY_ID on."""
    if company_id is not None:
        return Company.objects.create(id=company_id, **fields)
    for _ in range(20):  # two concurrent creators may pick the same id: retry with the next one
        top = Company.objects.aggregate(top=Max("id"))["top"]
        candidate = max(C.FIRST_COMPANY_ID, (top or 0) + 1)
        try:
            with transaction.atomic():
                return Company.objects.create(id=candidate, **fields)
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a company id")


def company_wipe(company_id: int, *, keep_users: bool) -> None:
    """Delete a company's documents, counters, faults and request log (keeping users, templates and tokens
    when `keep_users`, so credentials handed out stay valid)."""
    resources = Resource.objects.filter(company_id=company_id)
    kept = ("user", "template") if keep_users else ()
    resources.exclude(kind__in=kept).delete()
    Sequence.objects.filter(company_id=company_id).exclude(name__in=kept).delete()
    Fault.objects.filter(company_id=company_id).delete()
    RequestLog.objects.filter(company_id=company_id).delete()
    if not keep_users:
        Token.objects.filter(company_id=company_id).delete()


def token_issue(*, company_id: int, user_id: int, read_only: bool = False) -> Token:
    """A new random token (15 alphanumerics, the length seen in public code, §1.2)."""
    value = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(15))
    return Token.objects.create(token=value, company_id=company_id, user_id=user_id, read_only=read_only)
