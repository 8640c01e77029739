"""Client invoices: create (draft), update, delete, payment (kleer-api.md §2.4, §5.4 rows 16–18, 22) and the
fake-only transitions a test drives through the control endpoints: certify and send (§5.4 "control")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from sandbox.kleer import arithmetic, store
from sandbox.kleer import conventions as C
from sandbox.kleer.common import Scope, as_date, merge, now_iso, referenced, require, required_kept
from sandbox.kleer.errors import BusinessError
from sandbox.kleer.models import Resource

# Empty on create = take the client's value; empty on save = unchanged (XSD comments, §1.9).
CLIENT_DEFAULTED = ("vat-nr", "country-code", "delivery-type")


class StateError(BusinessError):
    """A transition the invoice's state does not allow (certify twice, pay a draft, …)."""


def row_prepare(scope: Scope, row: dict[str, Any], *, domestic: bool, require_product: bool) -> dict[str, Any]:
    """One stored invoice row: product defaults filled in, `vat` and `account-nr` set by the server (§2.4 rows:
    "overwritten everywhere except OSS"), a fresh row id."""
    required = C.INVOICE_ROW_REQUIRED if require_product else ("quantity",)
    if any(name not in row for name in required):
        raise BusinessError(C.TECHNICAL_ERROR)
    product = referenced(scope, "product", row.get("product"), "product")
    data = product.data if product else {}
    out = {"id": store.sequence_take(scope.company_id, "row"), **row}
    out.setdefault("price", data.get("price", 0))
    out.setdefault("unit", data.get("unit", ""))
    out.setdefault("description", data.get("name", ""))
    # Export and EU sales carry no Swedish VAT ([I], conventions.DOMESTIC_COUNTRY).
    out["vat"] = data.get("vat-percentage", C.DEFAULT_ROW_VAT) if domestic else 0
    if product:
        out["account-nr"] = data.get("account-nr", C.PRODUCT_DEFAULTS["account-nr"])
    return out


def _is_domestic(doc: dict[str, Any]) -> bool:
    return doc.get("country-code", "") in ("", C.DOMESTIC_COUNTRY)


def _rows_and_totals(scope: Scope, doc: dict[str, Any], *, require_product: bool = True) -> dict[str, Any]:
    rows = doc.get("rows", {}).get("rows", [])
    domestic = _is_domestic(doc)
    rows = [row_prepare(scope, r, domestic=domestic, require_product=require_product) for r in rows]
    amount, vat = arithmetic.totals(rows)
    return {**doc, "rows": {"rows": rows}, "amount": amount, "vat": vat}


def _client_defaults(scope: Scope, doc: dict[str, Any], client: Resource) -> dict[str, Any]:
    """What a new invoice takes from its client and company when the caller left it out or empty."""
    c = client.data
    out = dict(doc)
    for field in CLIENT_DEFAULTED:
        if not out.get(field) and c.get(field):
            out[field] = c[field]
    out.setdefault("currency", c.get("currency-type") or scope.company.accounting_currency)
    if out["currency"] != scope.company.accounting_currency:
        out.setdefault("currency-rate", C.CURRENCY_RATES.get(out["currency"], 1))
    invoice_date = as_date(out.get("invoice-date"), "invoice-date")
    due = invoice_date + dt.timedelta(days=int(c.get("payment-days", C.CLIENT_DEFAULTS["payment-days"])))
    out.setdefault("due-date", due.isoformat())
    out.setdefault("invoice-address", c.get("address", {}))
    out.setdefault("invoice-email", c.get("email", ""))
    for name, empty in C.INVOICE_EMPTY_DEFAULTS.items():
        out.setdefault(name, dict(empty) if isinstance(empty, dict) else empty)
    out.setdefault("our-reference", {"id": 0})
    out.setdefault("approver", {"id": 0})
    # "auto-assigned if missing" (§2.4): the client's template, else the company's first.
    if "client-invoice-template-ref" not in out:
        template = c.get("template") or _first_template(scope)
        if template:
            out["client-invoice-template-ref"] = template
    return out


def _first_template(scope: Scope) -> dict[str, int] | None:
    first = Resource.objects.filter(company_id=scope.company_id, kind="template").order_by("kleer_id").first()
    return {"id": first.kleer_id} if first else None


def _check_references(scope: Scope, doc: dict[str, Any]) -> None:
    referenced(scope, "user", doc.get("our-reference"), "our-reference")
    referenced(scope, "user", doc.get("approver"), "approver")
    referenced(scope, "template", doc.get("client-invoice-template-ref"), "client-invoice-template-ref")
    referenced(scope, "client", doc.get("end-client"), "end-client")  # a client of the broker (§2.4)


def invoice_create(*, scope: Scope, body: Any) -> Resource:
    """PUT /client/invoice: a draft (`invoice-nr` 0, not certified, `remaining` 0); a credit note when
    `debit-invoice-nr` names a certified invoice, which then lists it in `credit-invoices` (§2.4)."""
    fields = scope.coerce("invoice", body)
    require(fields, "invoice")
    client = referenced(scope, "client", fields["client-ref"], "client-ref")
    if client is None:
        raise BusinessError(C.TECHNICAL_ERROR)
    return invoice_insert(scope=scope, fields=fields, client=client)


def invoice_insert(*, scope: Scope, fields: dict[str, Any], client: Resource, require_product: bool = True) -> Resource:
    """Store a new draft from already-read fields (the API and agreement runs both end here)."""
    with transaction.atomic():
        doc = _client_defaults(scope, fields, client)
        _check_references(scope, doc)
        doc = _rows_and_totals(scope, doc, require_product=require_product)
        doc |= {"invoice-nr": 0, "certified": False, "sent": False, "remaining": 0, "disabled": False}
        debit = _debit_invoice(scope, doc.get("debit-invoice-nr"))
        invoice = store.resource_create(scope.company_id, "invoice", doc)
        if debit is not None:
            credits = debit.data.get("credit-invoices", {}).get("client-invoices", [])
            debit.data["credit-invoices"] = {"client-invoices": [*credits, {"id": invoice.kleer_id}]}
            store.resource_save(debit)
    return invoice


def _debit_invoice(scope: Scope, number: int | None) -> Resource | None:
    if number is None:
        return None
    debit = (
        Resource.objects.select_for_update()
        .filter(company_id=scope.company_id, kind="invoice", invoice_nr=number, certified=True)
        .exclude(invoice_nr=0)
        .first()
    )
    if debit is None:
        raise BusinessError(f"Kan inte kreditera: det finns ingen attesterad faktura med nummer {number}")
    return debit


def _editable(scope: Scope, kleer_id: Any) -> Resource:
    invoice = store.resource_get(scope.company_id, "invoice", kleer_id, lock=True)
    if invoice.data.get("certified"):
        raise BusinessError(f"Fakturan {invoice.data.get('invoice-nr')} är attesterad och kan inte ändras")
    if invoice.data.get("disabled"):
        raise BusinessError("Fakturan är borttagen och kan inte ändras")
    return invoice


def invoice_update(*, scope: Scope, kleer_id: Any, body: Any) -> Resource:
    """POST /client/invoice/{id}: update a draft; a certified invoice → 500 (§5.4 row 17)."""
    with transaction.atomic():
        invoice = _editable(scope, kleer_id)
        fields = required_kept(scope, scope.coerce("invoice", body), "invoice")
        fields.pop("debit-invoice-nr", None)  # a draft cannot become a credit note of another invoice
        for field in CLIENT_DEFAULTED:
            if fields.get(field) == "":
                fields.pop(field)  # empty = unchanged on save (§1.9)
        doc = merge(invoice.data, fields)
        referenced(scope, "client", doc.get("client-ref"), "client-ref")
        _check_references(scope, doc)
        invoice.data = _rows_and_totals(scope, doc) if "rows" in fields else _retotal(doc)
        return store.resource_save(invoice)


def _retotal(doc: dict[str, Any]) -> dict[str, Any]:
    amount, vat = arithmetic.totals(doc.get("rows", {}).get("rows", []))
    return {**doc, "amount": amount, "vat": vat}


def invoice_delete(*, scope: Scope, kleer_id: Any) -> int:
    """DELETE /client/invoice/{id}: drafts only (§5.4 row 18); removed, or kept as `disabled` per option."""
    with transaction.atomic():
        invoice = _editable(scope, kleer_id)
        if scope.option("delete_draft") == "disable":
            invoice.data["disabled"] = True
            store.resource_save(invoice)
            return invoice.kleer_id
        _unlink_credit(scope, invoice)
        invoice.delete()
        return invoice.kleer_id


def _unlink_credit(scope: Scope, invoice: Resource) -> None:
    number = invoice.data.get("debit-invoice-nr")
    if number is None:
        return
    debit = Resource.objects.filter(company_id=scope.company_id, kind="invoice", invoice_nr=number).first()
    if debit is not None:
        credits = debit.data.get("credit-invoices", {}).get("client-invoices", [])
        debit.data["credit-invoices"] = {"client-invoices": [c for c in credits if c.get("id") != invoice.kleer_id]}
        store.resource_save(debit)


def invoice_pay(*, scope: Scope, kleer_id: Any, body: Any) -> Resource:
    """PUT /client/invoice/{id}/payment (§5.4 row 22 [I]): certified invoices only; lowers `remaining` by
    `invoice-amount` and sets `last-payment-date`. Paying more than what remains is refused."""
    fields = scope.coerce("payment", body)
    if any(fields.get(name) is None for name in ("date", "invoice-amount", "accounting-amount")):
        raise BusinessError(C.TECHNICAL_ERROR)
    with transaction.atomic():
        invoice = store.resource_get(scope.company_id, "invoice", kleer_id, lock=True)
        return payment_apply(scope, invoice, amount=fields["invoice-amount"], date=fields["date"], fields=fields)


def payment_apply(scope: Scope, invoice: Resource, *, amount: int, date: str, fields: dict[str, Any]) -> Resource:
    """Register a payment on a locked invoice (shared with the control endpoint)."""
    data = invoice.data
    if not data.get("certified") or data.get("disabled"):
        raise StateError("Betalning kan bara registreras på en attesterad faktura")
    same_currency = data.get("currency") == scope.company.accounting_currency
    if same_currency and fields.get("accounting-amount", amount) != amount:
        raise BusinessError("accounting-amount måste vara lika med invoice-amount i samma valuta")
    remaining = int(data.get("remaining", 0))
    fits = 0 < amount <= remaining if remaining > 0 else remaining <= amount < 0
    if not fits:
        raise StateError(f"Beloppet {amount} stämmer inte med återstående belopp {remaining}")
    previous = data.get("last-payment-date") or date
    data |= {"remaining": remaining - amount, "last-payment-date": max(previous, date)}
    return store.resource_save(invoice)


def invoice_certify(*, scope: Scope, kleer_id: Any, moment: dt.datetime | None = None) -> Resource:
    """Certify a draft: the next `invoice-nr`, `certified-date`, `remaining = amount + vat`. A credit note is
    settled against its debit invoice's open amount first ([I], kleer-api.md §5.4 control endpoints)."""
    with transaction.atomic():
        invoice = store.resource_get(scope.company_id, "invoice", kleer_id, lock=True)
        if invoice.data.get("certified") or invoice.data.get("disabled"):
            raise StateError("Only an uncertified, enabled invoice can be certified")
        total = int(invoice.data.get("amount", 0)) + int(invoice.data.get("vat", 0))
        invoice.data |= {
            "invoice-nr": store.sequence_take(scope.company_id, "invoice-nr"),
            "certified": True,
            "certified-date": now_iso(moment),
            "remaining": total - _settle_credit(scope, invoice.data.get("debit-invoice-nr"), total),
        }
        return store.resource_save(invoice)


def _settle_credit(scope: Scope, number: int | None, credit_total: int) -> int:
    """Lower the debit invoice's `remaining` by what the credit covers; returns that (negative) share."""
    if number is None or credit_total >= 0:
        return 0
    debit = (
        Resource.objects.select_for_update()
        .filter(company_id=scope.company_id, kind="invoice", invoice_nr=number)
        .first()
    )
    if debit is None or int(debit.data.get("remaining", 0)) <= 0:
        return 0
    covered = min(int(debit.data["remaining"]), -credit_total)
    debit.data["remaining"] = int(debit.data["remaining"]) - covered
    store.resource_save(debit)
    return -covered


def invoice_send(
    *, scope: Scope, kleer_id: Any, method: str | None = None, moment: dt.datetime | None = None
) -> Resource:
    """Send a certified invoice: `sent: true` and one more `invoice-deliveries` entry."""
    with transaction.atomic():
        invoice = store.resource_get(scope.company_id, "invoice", kleer_id, lock=True)
        if not invoice.data.get("certified") or invoice.data.get("disabled"):
            raise StateError("Only a certified, enabled invoice can be sent")
        kind = invoice.data.get("delivery-type") or scope.company.default_delivery_type
        delivery = {
            "delivery-method": method or C.DELIVERY_METHOD_OF_TYPE.get(kind, "EMAIL"),
            "registration-user": {"id": scope.user_id},
            "registration-datetime": now_iso(moment),
        }
        previous = invoice.data.get("invoice-deliveries", {}).get("invoice-deliveries", [])
        invoice.data |= {"sent": True, "invoice-deliveries": {"invoice-deliveries": [*previous, delivery]}}
        return store.resource_save(invoice)
