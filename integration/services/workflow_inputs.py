"""Workflow-action inputs and Kleer bodies: validation a HubSpot user understands, and the catalog's inverse
transforms (`Field.to_kleer`) for every value that goes to Kleer.

Nothing here calls an API: `inputs_validate` runs while HubSpot waits for the answer, so a bad value fails the
execution at once; the body builders take what the action read from HubSpot.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from integration import catalog
from integration.catalog import transforms, values
from integration.catalog.workflow_actions import KLEER_FIELDS, ActionInput, InputKind, WorkflowAction

MAX_TEXT = 500
MAX_PAYMENT_DAYS = 365
# HubSpot subscriptions have a billing frequency for these month counts only (catalog transforms); an agreement
# with another interval could never sync to HubSpot, so it is refused before it is created.
INTERVALS = tuple(months for _value, _label, months in transforms.BILLING_FREQUENCIES if months is not None)
_MONTHS_BY_FREQUENCY = {value: months for value, _label, months in transforms.BILLING_FREQUENCIES if months}
_CURRENCY = re.compile(r"[A-Z]{3}")
_EPOCH_MS = re.compile(r"-?\d{11,15}")


class ActionFailed(ValueError):
    """The execution cannot succeed as it stands (a bad input, a missing prerequisite): fails at once, never
    retried. The message is what the workflow history shows."""


def _quote(value: str) -> str:
    return f'"{value}"' if len(value) <= 60 else f'"{value[:57]}…"'


def _date(field: ActionInput, text: str) -> str:
    # Date properties used as tokens arrive as midnight-UTC epoch milliseconds.
    if _EPOCH_MS.fullmatch(text):
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC).date().isoformat()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise ActionFailed(f'"{field.label}" must be a date written YYYY-MM-DD, e.g. 2026-12-31; got {_quote(text)}.')


def _choice(field: ActionInput, text: str) -> str:
    key = values.enum_key(text)
    for option in field.options:
        if key in (values.enum_key(option.value), values.enum_key(option.label)):
            return option.value
    choices = ", ".join(o.label for o in field.options)
    raise ActionFailed(f'"{field.label}" must be one of {choices}; got {_quote(text)}.')


def _number(field: ActionInput, text: str, example: str) -> Decimal:
    try:
        number = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        raise ActionFailed(f'"{field.label}" must be a number of at least 0, e.g. {example}; got {_quote(text)}.')
    return number


def _whole(field: ActionInput, text: str) -> str:
    number = _number(field, text, "30")
    if number != number.to_integral_value() or number > MAX_PAYMENT_DAYS:
        raise ActionFailed(f'"{field.label}" must be a whole number of days from 0 to 365; got {_quote(text)}.')
    return str(int(number))


def _interval(field: ActionInput, text: str) -> str:
    number = _number(field, text, "12")
    if number != number.to_integral_value() or int(number) not in INTERVALS:
        allowed = ", ".join(str(m) for m in INTERVALS)
        raise ActionFailed(
            f'"{field.label}" must be one of {allowed} months (HubSpot subscriptions have no billing frequency '
            f"for other intervals); got {_quote(text)}."
        )
    return str(int(number))


def _money(field: ActionInput, text: str) -> str:
    number = _number(field, text, "12500.50")
    if number != number.quantize(Decimal("0.01")):
        raise ActionFailed(f'"{field.label}" can have at most two decimals (Kleer stores öre); got {_quote(text)}.')
    return format(number, "f")


def _currency(field: ActionInput, text: str) -> str:
    code = text.upper()
    if not _CURRENCY.fullmatch(code):
        raise ActionFailed(
            f'"{field.label}" must be a three-letter currency code such as SEK, EUR or USD; got {_quote(text)}.'
        )
    return code


_CHECKS = {
    InputKind.DATE: _date,
    InputKind.CURRENCY: _currency,
    InputKind.CHOICE: _choice,
    InputKind.BOOLEAN: _choice,
    InputKind.WHOLE: _whole,
    InputKind.INTERVAL: _interval,
    InputKind.DECIMAL: lambda f, t: format(_number(f, t, "40.5"), "f"),
    InputKind.MONEY: _money,
}


def _text_of(field: ActionInput, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ActionFailed(f'"{field.label}" must be a text value.')
    text = str(raw).strip()
    if len(text) > MAX_TEXT or "\x00" in text:
        raise ActionFailed(f'"{field.label}" is longer than {MAX_TEXT} characters.')
    return text


def inputs_validate(*, action: WorkflowAction, raw: Mapping[str, Any]) -> dict[str, str]:
    """The action's inputs from HubSpot's `inputFields`, checked and normalised (empty ones left out).

    Raises ActionFailed naming the input and the value, in words a workflow author understands. Inputs the action
    does not define are ignored (HubSpot may send more than the definition names)."""
    clean: dict[str, str] = {}
    for field in action.inputs:
        raw_value = raw.get(field.name)
        text = "" if raw_value is None else _text_of(field, raw_value)
        if not text:
            if field.required:
                raise ActionFailed(f'"{field.label}" is required.')
            continue
        check = _CHECKS.get(field.kind)
        clean[field.name] = check(field, text) if check else text
    _check_dates(clean)
    return clean


def _check_dates(clean: Mapping[str, str]) -> None:
    start = clean.get("start_invoice_date") or clean.get("start_date")
    end = clean.get("end_date")
    if start and end and end < start:
        raise ActionFailed(f'"End date" ({end}) is before the start date ({start}).')


# -- Kleer bodies -----------------------------------------------------------------------------------------------


def _set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def kleer_values(*, spec: catalog.ObjectSpec, named: Mapping[str, str], clean: Mapping[str, str]) -> dict[str, Any]:
    """A nested Kleer body from input values, each through its catalog field's inverse transform."""
    body: dict[str, Any] = {}
    for input_name, kleer_field in named.items():
        if input_name in clean:
            try:
                _set_path(body, kleer_field, spec.field(kleer_field).to_kleer(clean[input_name]))
            except catalog.TransformError as exc:
                raise ActionFailed(str(exc)) from None
    return body


def inputs_to_kleer(*, action: WorkflowAction, clean: Mapping[str, str]) -> dict[str, Any]:
    """The Kleer elements the action's inputs set (`KLEER_FIELDS`)."""
    spec = catalog.get(action.kleer_object)
    return kleer_values(spec=spec, named=KLEER_FIELDS[action.kleer_object], clean=clean)


def mappings_to_kleer(
    *, spec: catalog.ObjectSpec, mappings: Sequence[catalog.MappingLike], properties: Mapping[str, Any]
) -> dict[str, Any]:
    """A Kleer body from a HubSpot record's properties through the portal's field mappings ("from mappings"):
    every mapping whose Kleer field can be written (not computed, not a reference) and whose property has a value."""
    body: dict[str, Any] = {}
    for mapping in mappings:
        name = mapping.kleer_field or None
        value = properties.get(mapping.hubspot_property)
        if name is None or value in (None, "") or not spec.field(name).invertible:
            continue
        try:
            _set_path(body, name, spec.field(name).to_kleer(str(value)))
        except catalog.TransformError as exc:
            raise ActionFailed(f"HubSpot property {mapping.hubspot_property}: {exc}") from None
    return body


# -- line items → rows --------------------------------------------------------------------------------------------

LINE_ITEM_PROPERTIES = (
    "name", "quantity", "price", "hs_product_id", "recurringbillingfrequency", "discount", "hs_discount_percentage",
)  # fmt: skip


def _row_discount(label: str, props: Mapping[str, Any], quantity: Decimal) -> dict[str, Any] | None:
    """HubSpot's discount percentage (10 = 10 %) → Kleer's fraction; its unit discount (per unit, in currency
    units) → Kleer's absolute row discount in öre."""
    percentage, unit = props.get("hs_discount_percentage"), props.get("discount")
    try:
        if percentage not in (None, "", "0"):
            return {"percentage": float(values.to_decimal(percentage) / 100)}
        if unit not in (None, "", "0"):
            absolute = values.to_decimal(values.parse_money(str(unit))) * quantity
            if absolute != absolute.to_integral_value():
                raise catalog.TransformError("its discount × quantity is not a whole number of öre")
            return {"absolute": int(absolute)}
    except catalog.TransformError as exc:
        raise ActionFailed(f'Line item "{label}": {exc}.') from None
    return None


def line_item_row(item: Mapping[str, Any], product_id: str | None) -> dict[str, Any]:
    """One Kleer row (invoice row or agreement row) from a HubSpot line item; price SEK → öre exactly."""
    props = item.get("properties") or {}
    label = props.get("name") or f"#{item.get('id')}"
    spec = catalog.get("line_items")
    if props.get("price") in (None, ""):
        raise ActionFailed(f'Line item "{label}" has no unit price.')
    try:
        quantity = spec.field("quantity").to_kleer(props.get("quantity") or "1")
        price = spec.field("price").to_kleer(str(props["price"]))
    except catalog.TransformError as exc:
        raise ActionFailed(f'Line item "{label}": {exc}.') from None
    row: dict[str, Any] = {"quantity": quantity, "price": price, "description": str(props.get("name") or "")}
    if product_id:
        row["product"] = {"id": int(product_id)}
    discount = _row_discount(label, props, values.to_decimal(quantity))
    if discount:
        row["discount"] = discount
    return row


def is_recurring(item: Mapping[str, Any]) -> bool:
    return bool((item.get("properties") or {}).get("recurringbillingfrequency"))


def interval_of(items: Sequence[Mapping[str, Any]]) -> str | None:
    """The invoice interval the deal's recurring line items bill at (monthly → 1, annually → 12, …)."""
    for item in items:
        months = _MONTHS_BY_FREQUENCY.get((item.get("properties") or {}).get("recurringbillingfrequency") or "")
        if months:
            return str(months)
    return None
