"""Client agreements (kleer-api.md §2.5, §5.4 row 21 [I]): create, update (a new revision), soft delete, and the
fake-only agreement run that generates an invoice from the agreement's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from sandbox.kleer import store
from sandbox.kleer.common import Scope, add_months, as_date, merge, now_iso, referenced, require, required_kept
from sandbox.kleer.errors import BusinessError
from sandbox.kleer.invoices import StateError, invoice_insert
from sandbox.kleer.models import Resource

ROW_WRAPPERS = ("first-invoice-rows", "recurring-rows")


def _unwrap(body: Any) -> Any:
    """The update body is `update-client-agreement` = `{"client-agreement": {...}}` (§2.5); a bare agreement is
    accepted too (§5.4 row 21)."""
    if isinstance(body, Mapping) and set(body) == {"client-agreement"}:
        return body["client-agreement"]
    return body


def _check(scope: Scope, doc: dict[str, Any]) -> None:
    if referenced(scope, "client", doc.get("client-ref"), "client-ref") is None:
        raise BusinessError("ClientDoesNotExistException: client-ref")
    referenced(scope, "user", doc.get("our-reference"), "our-reference")
    referenced(scope, "user", doc.get("approver"), "approver")
    for wrapper in ROW_WRAPPERS:
        for row in doc.get(wrapper, {}).get("rows", []):
            if any(name not in row for name in ("quantity", "price")):
                raise BusinessError("Tekniskt fel")
            referenced(scope, "product", row.get("product"), "product")
    if int(doc.get("invoice-interval-months", 0)) < 1:
        raise BusinessError('"invoice-interval-months" must be at least 1')
    start, end = doc.get("start-invoice-date"), doc.get("end-date")
    if start and end and end < start:
        raise BusinessError('"end-date" is before "start-invoice-date"')


def agreement_create(*, scope: Scope, body: Any) -> Resource:
    """PUT /client/agreement → revision 1. `start-date` is read-only and always equals `start-invoice-date`."""
    fields = scope.coerce("agreement", _unwrap(body))
    require(fields, "agreement")
    client = referenced(scope, "client", fields["client-ref"], "client-ref")
    if client is None:
        raise BusinessError("Tekniskt fel")
    doc = {k: v for k, v in fields.items() if v is not None}
    doc.setdefault("currency", client.data.get("currency-type") or scope.company.accounting_currency)
    doc.setdefault("payment-days", client.data.get("payment-days", 30))
    doc.setdefault("next-invoice-date", doc["start-invoice-date"])
    for wrapper in ROW_WRAPPERS:
        doc.setdefault(wrapper, {"rows": []})
    with transaction.atomic():
        _check(scope, doc)
        if "agreement-nr" not in doc:
            doc["agreement-nr"] = str(store.sequence_take(scope.company_id, "agreement-nr"))
        doc |= {
            "revision-nr": 1,
            "start-date": doc["start-invoice-date"],
            "deleted": False,
            "registration-user": {"id": scope.user_id},
            "registration-date": now_iso(),
        }
        return store.resource_create(scope.company_id, "agreement", doc)


def _live(scope: Scope, kleer_id: Any) -> Resource:
    agreement = store.resource_get(scope.company_id, "agreement", kleer_id, lock=True)
    if agreement.data.get("deleted"):
        raise StateError("Avtalet är borttaget")
    return agreement


def agreement_update(*, scope: Scope, kleer_id: Any, body: Any) -> int:
    """POST /client/agreement/{id}: a new revision; returns the new `revision-nr` (§1.9
    `update-client-agreement-result`)."""
    with transaction.atomic():
        agreement = _live(scope, kleer_id)
        fields = required_kept(scope, scope.coerce("agreement", _unwrap(body)), "agreement")
        doc = merge(agreement.data, fields)
        _check(scope, doc)
        doc["start-date"] = doc.get("start-invoice-date")
        doc["revision-nr"] = int(doc.get("revision-nr", 1)) + 1
        agreement.data = doc
        store.resource_save(agreement)
        return doc["revision-nr"]


def agreement_delete(*, scope: Scope, kleer_id: Any) -> int:
    """DELETE /client/agreement/{id}: soft delete, `deleted: true` (§5.4 row 21); deleting twice → 500."""
    with transaction.atomic():
        agreement = _live(scope, kleer_id)
        agreement.data["deleted"] = True
        store.resource_save(agreement)
        return agreement.kleer_id


def _invoice_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in ("quantity", "price", "product", "unit", "description", "discount")}


def agreement_run(*, scope: Scope, kleer_id: Any, day: dt.date | None = None) -> Resource:
    """Generate the agreement's invoice for `day` (default: its `next-invoice-date`): recurring rows every time,
    first-invoice rows only when no invoice came from it yet; `agreement-nr`, `subscription-nr` and
    `client-agreement-ref` copied (§2.5). The invoice is a draft; `next-invoice-date` moves one interval on."""
    with transaction.atomic():
        agreement = _live(scope, kleer_id)
        a = agreement.data
        day = day or as_date(a.get("next-invoice-date"), "next-invoice-date")
        if a.get("end-date") and day.isoformat() > a["end-date"]:
            raise StateError(f"Avtalet upphörde {a['end-date']}")
        invoices = Resource.objects.filter(company_id=scope.company_id, kind="invoice", agreement_id=agreement.kleer_id)
        first = not invoices.exists()
        rows = (a.get("first-invoice-rows", {}).get("rows", []) if first else []) + a.get("recurring-rows", {}).get(
            "rows", []
        )
        months = int(a.get("invoice-interval-months", 1))
        client = referenced(scope, "client", a.get("client-ref"), "client-ref")
        fields = _invoice_fields(a, day, months, [_invoice_row(r) for r in rows], agreement.kleer_id)
        invoice = invoice_insert(scope=scope, fields=fields, client=client, require_product=False)  # type: ignore[arg-type]
        following = add_months(day, months)
        a["next-invoice-date"] = (
            None if a.get("end-date") and following.isoformat() > a["end-date"] else following.isoformat()
        )
        store.resource_save(agreement)
        return invoice


def _invoice_fields(a: Mapping[str, Any], day: dt.date, months: int, rows: list[Any], kleer_id: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "foreign-id": "",
        "po-nr": a.get("po-nr", ""),
        "client-ref": a["client-ref"],
        "your-reference": a.get("your-reference", ""),
        "invoice-date": day.isoformat(),
        "due-date": (day + dt.timedelta(days=int(a.get("payment-days", 30)))).isoformat(),
        "delivery-date": day.isoformat(),
        "period": {
            "start-date": day.isoformat(),
            "end-date": (add_months(day, months) - dt.timedelta(days=1)).isoformat(),
        },
        "currency": a.get("currency"),
        "client-agreement-ref": {"id": kleer_id},
        "rows": {"rows": rows},
    }
    for name in ("agreement-nr", "subscription-nr", "our-reference", "approver"):
        if a.get(name) is not None:
            fields[name] = a[name]
    return fields
