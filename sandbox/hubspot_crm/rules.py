"""Per-type business rules applied to every write, after values are coerced.

- Required create properties (hubspot-api.md §2.1, §10.4): companies name|domain; deals dealname, pipeline,
  dealstage; invoices hs_currency; projects hs_name, hs_pipeline, hs_pipeline_stage; subscriptions hs_name;
  products as `registry.PRODUCT_REQUIRED` says (none by default; §2.1 marks the strict list [unverified]).
- Pipelines: the pipeline must exist and the stage must belong to it (§5.2, §10.4).
- Line items (§4.2 notes, §5.4, https://developers.hubspot.com/docs/api-reference/latest/crm/objects/line-items/guide):
  `price` cannot be negative; `amount` = quantity x (price - discount) x (1 - hs_discount_percentage/100), with
  quantity 1 when unset (fake's choice); `hs_product_id` must name a product whose values fill unset fields.
- Invoices (§5.1, https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/invoices/guide): draft,
  billable, dated today by default; a billable invoice goes to `open` only with exactly one contact and at least
  one line item; only draft and open invoices can be deleted.
- Subscriptions (§5.3): created with `hs_invoice_creation` "off"; a billable one (on) can be deleted only once
  expired or canceled.
Codes REQUIRED_PROPERTY, INVALID_PRICE, INVALID_OBJECT_ID are the fake's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sandbox.hubspot_crm import associations, clock, errors, registry
from sandbox.hubspot_crm.errors import Problem
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.schema import Schema

PRODUCT_FIELDS = (
    "name",
    "price",
    "description",
    "hs_sku",
    "hs_cost_of_goods_sold",
    "hs_recurring_billing_period",
    "recurringbillingfrequency",
)


def on_write(
    schema: Schema,
    merged: dict[str, str],
    previous: dict[str, str] | None,
    stamp: datetime,
    object_id: int,
    *,
    products: Mapping[str, CrmObject] | None = None,
) -> None:
    """Fill defaults and derived values into `merged` and raise when the result breaks a rule. `products`: the
    live products a batch names, read in one query (None: each line item reads its own)."""
    creating = previous is None
    type_id = schema.type_id
    if creating:
        _defaults(type_id, merged, stamp)
    problems: list[Problem] = []
    if type_id == registry.LINE_ITEMS:
        problems += _line_item(schema, merged, previous or {}, products)
    if creating:
        problems += _required(schema, merged)
    problems += _pipeline(schema, merged, previous or {})
    if type_id == registry.INVOICES:
        _invoice_link(schema, merged, object_id)
    if problems:
        raise errors.invalid_properties(problems, schema.hub_id)


def _defaults(type_id: str, merged: dict[str, str], stamp: datetime) -> None:
    if type_id == registry.INVOICES:
        merged.setdefault("hs_invoice_status", "draft")
        merged.setdefault("hs_invoice_billable", "true")
        merged.setdefault("hs_invoice_date", clock.iso(stamp))
        merged.setdefault("hs_due_date", clock.iso(stamp))
    elif type_id == registry.SUBSCRIPTIONS:
        merged.setdefault("hs_invoice_creation", "off")


def _required(schema: Schema, merged: dict[str, str]) -> list[Problem]:
    problems = []
    for group in registry.required_groups(schema.spec):
        if not any(merged.get(name) for name in group):
            wanted = " or ".join(group)
            problems.append(
                Problem(group[0], "REQUIRED_PROPERTY", f"{wanted} is required to create a {schema.spec.singular}")
            )
    return problems


def _pipeline(schema: Schema, merged: dict[str, str], previous: dict[str, str]) -> list[Problem]:
    pair = schema.spec.pipeline_properties
    if pair is None:
        return []
    pipeline_name, stage_name = pair
    pipeline, stage = merged.get(pipeline_name), merged.get(stage_name)
    if (pipeline, stage) == (previous.get(pipeline_name), previous.get(stage_name)) or pipeline is None:
        return []
    stages = schema.stages_of(pipeline)
    if stages is None:
        listed = ", ".join(schema.pipelines)
        return [Problem(pipeline_name, "INVALID_OPTION", f"{pipeline} was not one of the allowed options: [{listed}]")]
    if stage not in stages:
        listed = ", ".join(stages)
        message = f"{stage} was not one of the allowed options for pipeline {pipeline}: [{listed}]"
        return [Problem(stage_name, "INVALID_OPTION", message)]
    return []


def _line_item(
    schema: Schema, merged: dict[str, str], previous: dict[str, str], products: Mapping[str, CrmObject] | None
) -> list[Problem]:
    product_id = merged.get("hs_product_id")
    if product_id and product_id != previous.get("hs_product_id"):
        if products is None:
            product = associations.live(schema.hub_id, registry.PRODUCTS, product_id)
        else:
            product = products.get(product_id)
        if product is None:
            return [Problem("hs_product_id", "INVALID_OBJECT_ID", f"Product {product_id} does not exist")]
        for name in PRODUCT_FIELDS:
            if name not in merged and name in product.properties:
                merged[name] = product.properties[name]
    if merged.get("price") and Decimal(merged["price"]) < 0:
        return [Problem("price", "INVALID_PRICE", "price cannot be negative")]
    _amount(merged)
    return []


def _amount(merged: dict[str, str]) -> None:
    if merged.get("price") is None:
        merged.pop("amount", None)
        return
    unit = Decimal(merged["price"]) - Decimal(merged.get("discount") or "0")
    if merged.get("hs_discount_percentage"):
        unit = unit * (Decimal(100) - Decimal(merged["hs_discount_percentage"])) / Decimal(100)
    total = unit * Decimal(merged.get("quantity") or "1")
    merged["amount"] = _plain(total)


def _plain(number: Decimal) -> str:
    text = format(number.quantize(Decimal("0.000001")).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _invoice_link(schema: Schema, merged: dict[str, str], object_id: int) -> None:
    # Non-billable invoices render no document (§5.1); billable ones get a placeholder link (§10.9).
    if merged.get("hs_invoice_billable") == "true":
        merged["hs_invoice_link"] = f"https://invoices.hubspot.example/{schema.hub_id}/{object_id}"
    else:
        merged.pop("hs_invoice_link", None)


def after_write(schema: Schema, obj: CrmObject, previous: dict[str, str] | None) -> None:
    """Rules that need the record's associations (checked after inline associations are stored)."""
    if schema.type_id != registry.INVOICES:
        return
    status, before = obj.properties.get("hs_invoice_status"), (previous or {}).get("hs_invoice_status")
    if status != "open" or before == "open" or obj.properties.get("hs_invoice_billable") != "true":
        return
    contacts = associations.count(obj.hub_id, obj.object_id, registry.CONTACTS)
    line_items = associations.count(obj.hub_id, obj.object_id, registry.LINE_ITEMS)
    if contacts != 1 or line_items < 1:
        raise errors.validation(
            "A billable invoice can only be open when it is associated with exactly one contact and at least "
            f"one line item (it has {contacts} contacts and {line_items} line items)."
        )


def before_archive(schema: Schema, obj: CrmObject) -> None:
    """Raise when the record may not be deleted."""
    props = obj.properties
    if schema.type_id == registry.INVOICES and props.get("hs_invoice_status") not in ("draft", "open"):
        raise errors.validation(
            f"Invoice {obj.object_id} is {props.get('hs_invoice_status')}; only draft or open invoices can be deleted."
        )
    billable = props.get("hs_invoice_creation") == "on"
    if schema.type_id == registry.SUBSCRIPTIONS and billable and props.get("hs_status") not in ("expired", "canceled"):
        raise errors.validation(
            f"Subscription {obj.object_id} is billable; it can only be deleted once it has expired or been canceled."
        )
