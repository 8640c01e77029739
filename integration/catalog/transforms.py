"""Computed fields and row expansion: values the integration derives because Kleer does not send them.

Every money value stays in Kleer öre (int or exact Decimal) so that the MONEY field type does the one and only
÷100 conversion. Rows follow kleer-api.md rule J4 (`"rows": {"rows": [...]}`), but a bare list, an empty `{}` or a
missing wrapper are all accepted because the real API leaves empty collections out (J6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integration.catalog.values import TransformError, parse_date, to_decimal, unwrap_id

__all__ = [
    "AGREEMENT_STATUSES",
    "BILLING_FREQUENCIES",
    "INVOICE_STATUSES",
    "agreement_arr",
    "agreement_billing_frequency",
    "agreement_mrr",
    "agreement_status",
    "invoice_is_syncable",
    "invoice_status",
    "invoice_total_amount",
    "line_item_billing_frequency",
    "line_items_from_agreement",
    "line_items_from_invoice",
    "row_net",
    "rows_of",
]

# HubSpot `recurringbillingfrequency` values (line items and subscriptions), keyed by months where a month count
# maps onto one; weekly and biweekly exist in HubSpot but cannot come from Kleer's `invoice-interval-months`.
BILLING_FREQUENCIES: tuple[tuple[str, str, int | None], ...] = (
    ("weekly", "Weekly", None),
    ("biweekly", "Biweekly", None),
    ("monthly", "Monthly", 1),
    ("quarterly", "Quarterly", 3),
    ("per_six_months", "Every six months", 6),
    ("annually", "Annually", 12),
    ("per_two_years", "Every two years", 24),
    ("per_three_years", "Every three years", 36),
    ("per_four_years", "Every four years", 48),
    ("per_five_years", "Every five years", 60),
)
_FREQUENCY_BY_MONTHS = {months: value for value, _label, months in BILLING_FREQUENCIES if months is not None}

# HubSpot `hs_invoice_status` values (hubspot-api.md §5.1).
INVOICE_STATUSES: tuple[tuple[str, str], ...] = (
    ("draft", "Draft"),
    ("open", "Open"),
    ("paid", "Paid"),
    ("voided", "Voided"),
)
# The subset of HubSpot subscription statuses that follows from dates alone (product doc §3.3).
AGREEMENT_STATUSES: tuple[tuple[str, str], ...] = (
    ("scheduled", "Scheduled"),
    ("active", "Active"),
    ("expired", "Expired"),
)

ROW_PARENT_KEY = "parent"


# -- rows --------------------------------------------------------------------------------------------------


def rows_of(collection: Any) -> list[Mapping[str, Any]]:
    """The rows inside a Kleer row wrapper: `{"rows": [...]}`, a bare list, `{}` or None (→ [])."""
    if collection is None:
        return []
    if isinstance(collection, list):
        return [row for row in collection if isinstance(row, Mapping)]
    if isinstance(collection, Mapping):
        inner = collection.get("rows")
        if inner is None:
            # Unknown plural key (J4 names the inner list after the field): take the first list there is.
            inner = next((v for v in collection.values() if isinstance(v, list)), [])
        return rows_of(inner)
    raise TransformError(f"expected a list of rows, got {type(collection).__name__}")


def _discount_fraction(percentage: Any) -> Decimal:
    """Kleer discount percentages are fractions (0.1 = 10 %, kleer-api.md §1.7); a value above 1 can only be a
    whole percentage, so it is read as one instead of producing a negative row."""
    fraction = to_decimal(percentage)
    return fraction / 100 if fraction > 1 else fraction


def row_net(row: Mapping[str, Any]) -> Decimal:
    """Row amount excluding VAT, in öre: round(quantity × price) less its discount (absolute öre or percentage).

    Same arithmetic as the Kleer fake uses for an invoice's `amount` (kleer-api.md §5.4 item 16). A row with no
    quantity counts one unit, since Kleer rows without a quantity are single charges.
    """
    quantity = row.get("quantity")
    quantity = Decimal(1) if quantity in (None, "") else to_decimal(quantity)
    price = to_decimal(row.get("price") or 0)
    gross = (quantity * price).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    discount = row.get("discount") or {}
    if discount.get("absolute") not in (None, ""):
        return gross - to_decimal(discount["absolute"])
    if discount.get("percentage") not in (None, ""):
        return (gross * (1 - _discount_fraction(discount["percentage"]))).quantize(Decimal(1), ROUND_HALF_UP)
    return gross


def _row_vat(row: Mapping[str, Any]) -> Decimal:
    vat = row.get("vat")
    return (row_net(row) * to_decimal(vat)).quantize(Decimal(1), ROUND_HALF_UP) if vat not in (None, "") else Decimal(0)


# -- invoices ----------------------------------------------------------------------------------------------


def invoice_total_amount(invoice: Mapping[str, Any]) -> int | None:
    """`_total_amount`: what the customer is billed, in öre, VAT included.

    Kleer's `amount` is the sum EXCLUDING VAT and `vat` is the VAT sum, both öre (kleer-api.md §2.4), so the
    total is `amount + vat`; that is also what a certified invoice starts with as `remaining`. Older schemas
    lack `amount`; then the rows are summed (net + per-row VAT fraction) the way Kleer computes it.
    """
    amount, vat = invoice.get("amount"), invoice.get("vat")
    rows = rows_of(invoice.get("rows"))
    if amount is None and not rows:
        return None
    if amount is not None:
        # A header without `vat` is an invoice without VAT (e.g. export), not an unknown VAT.
        return int(to_decimal(amount) + to_decimal(vat or 0))
    net = sum((row_net(r) for r in rows), Decimal(0))
    tax = to_decimal(vat) if vat is not None else sum((_row_vat(r) for r in rows), Decimal(0))
    return int(net + tax)


def invoice_status(invoice: Mapping[str, Any]) -> str:
    """`_status` → HubSpot `hs_invoice_status`: not certified → draft; disabled (deleted in Kleer) → voided;
    nothing remaining → paid; otherwise open. A certified invoice without `remaining` counts as open: it
    cannot be shown to be paid."""
    if not invoice.get("certified"):
        return "draft"
    if invoice.get("disabled"):
        return "voided"
    remaining = invoice.get("remaining")
    if remaining is not None and to_decimal(remaining) == 0:
        return "paid"
    return "open"


def _is_credit_invoice(invoice: Mapping[str, Any]) -> bool:
    """A credit note names the invoice it credits in `debit-invoice-nr` (kleer-api.md §2.4); the product doc
    describes them as invoices with a negative total, so that is checked too."""
    if invoice.get("debit-invoice-nr") not in (None, "", 0, "0"):
        return True
    total = invoice_total_amount(invoice)
    return total is not None and total < 0


def invoice_is_syncable(invoice: Mapping[str, Any]) -> bool:
    """Invoice filter (product doc §3.2): only certified invoices, and never credit invoices."""
    return bool(invoice.get("certified")) and not _is_credit_invoice(invoice)


# -- agreements --------------------------------------------------------------------------------------------


def _interval_months(agreement: Mapping[str, Any]) -> int | None:
    months = agreement.get("invoice-interval-months")
    if months in (None, ""):
        return None
    number = to_decimal(months)
    if number <= 0 or number != number.to_integral_value():
        raise TransformError(f"invoice-interval-months must be a positive whole number, got {months!r}")
    return int(number)


def _recurring_total(agreement: Mapping[str, Any]) -> Decimal:
    return sum((row_net(row) for row in rows_of(agreement.get("recurring-rows"))), Decimal(0))


def agreement_mrr(agreement: Mapping[str, Any]) -> Decimal | None:
    """`_mrr` in öre: recurring rows net of discounts (VAT excluded, as revenue is) ÷ invoice interval months.

    Kept as an exact Decimal (500000 öre every 3 months = 166666.67 öre); the MONEY type rounds it to cents.
    First-invoice rows are one-off charges and are not recurring revenue. None when the interval is unknown.
    """
    months = _interval_months(agreement)
    if months is None:
        return None
    return _recurring_total(agreement) / months


def agreement_arr(agreement: Mapping[str, Any]) -> Decimal | None:
    """`_arr` = MRR × 12, computed from the exact total so ARR is not off by 12 × a rounded cent."""
    months = _interval_months(agreement)
    if months is None:
        return None
    return _recurring_total(agreement) * 12 / months


def agreement_billing_frequency(agreement: Mapping[str, Any]) -> str | None:
    """`_billing_frequency`: `invoice-interval-months` → HubSpot `recurringbillingfrequency`.

    1 monthly, 3 quarterly, 6 per_six_months, 12 annually, 24/36/48/60 per_two…five_years. Other counts (2, 4,
    18 …) have no HubSpot value; they raise TransformError so the record is reported, rather than written with a
    wrong frequency that HubSpot would bill or forecast on. No interval → None.
    """
    months = _interval_months(agreement)
    if months is None:
        return None
    try:
        return _FREQUENCY_BY_MONTHS[months]
    except KeyError:
        supported = ", ".join(str(m) for m in sorted(_FREQUENCY_BY_MONTHS))
        raise TransformError(
            f"an invoice interval of {months} months has no HubSpot billing frequency; supported: {supported}"
        ) from None


def _optional_date(value: Any) -> date | None:
    return None if value in (None, "") else parse_date(value)


def agreement_status(agreement: Mapping[str, Any], today: date | None = None) -> str:
    """`_status` from the dates: start in the future → scheduled; end date passed → expired; else active.

    `start-date` is deprecated in Kleer and equals `start-invoice-date` on read, so either is used. The end date
    is inclusive (an agreement ending today is still active today).
    """
    today = today or date.today()
    start = _optional_date(agreement.get("start-date")) or _optional_date(agreement.get("start-invoice-date"))
    end = _optional_date(agreement.get("end-date"))
    if start is not None and start > today:
        return "scheduled"
    if end is not None and end < today:
        return "expired"
    return "active"


# -- line items --------------------------------------------------------------------------------------------


def _line_item(row: Mapping[str, Any], synthetic_id: str, parent: str, parent_id: str) -> dict[str, Any]:
    item = dict(row)
    item["kleer_row_id"] = row.get("id")
    item["id"] = synthetic_id
    item[ROW_PARENT_KEY] = {"object": parent, "id": parent_id}
    return item


def _parent_id(record: Mapping[str, Any], what: str) -> str:
    value = unwrap_id(record.get("id"))
    if value in (None, ""):
        raise TransformError(f"{what} without an id cannot have line items")
    return str(value)


def line_items_from_invoice(invoice: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Invoice rows as line-item records with synthetic ids `{invoiceId}-row-{n}`.

    n is the 0-based position of the row on the invoice. The vendor docs write `{index}`, i.e. an array index;
    keeping that keeps `kleer_id` values equal to the ones the incumbent app wrote. Each row keeps its Kleer
    fields, its own Kleer row id under `kleer_row_id`, and `parent` = {"object": "invoices", "id": ...}.
    """
    invoice_id = _parent_id(invoice, "an invoice")
    return [
        _line_item(row, f"{invoice_id}-row-{n}", "invoices", invoice_id)
        for n, row in enumerate(rows_of(invoice.get("rows")))
    ]


def line_items_from_agreement(agreement: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Agreement rows as line-item records: `{id}-recurring-{n}` (with `_billing_frequency`) and `{id}-first-{n}`.

    n is 0-based per row list, as for invoices. Recurring rows carry the agreement's billing frequency so the
    line item's `recurringbillingfrequency` is set; first-invoice rows are one-off and carry None.
    """
    agreement_id = _parent_id(agreement, "an agreement")
    frequency = agreement_billing_frequency(agreement)
    items = []
    for n, row in enumerate(rows_of(agreement.get("recurring-rows"))):
        item = _line_item(row, f"{agreement_id}-recurring-{n}", "agreements", agreement_id)
        item["_billing_frequency"] = frequency
        items.append(item)
    for n, row in enumerate(rows_of(agreement.get("first-invoice-rows"))):
        item = _line_item(row, f"{agreement_id}-first-{n}", "agreements", agreement_id)
        item["_billing_frequency"] = None
        items.append(item)
    return items


def line_item_billing_frequency(row: Mapping[str, Any]) -> str | None:
    """Line-item `_billing_frequency`: set on recurring agreement rows by `line_items_from_agreement`, None on
    invoice rows and first-invoice rows (one-off charges have no recurring frequency)."""
    return row.get("_billing_frequency")
