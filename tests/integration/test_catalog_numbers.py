"""Every numeric field of the catalog, pinned: öre amounts are MONEY (÷ 100), the rest plain numbers.

An öre field typed as a plain decimal writes amounts 100× too large and every other test still passes (the
value is a valid number either way). This table is the one place that says which is which (kleer-api.md §1:
amounts are integer öre; rates, percentages, quantities and hours are decimals).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from integration import catalog
from integration.catalog.base import FieldType

MONEY, DECIMAL, INTEGER = FieldType.MONEY, FieldType.DECIMAL, FieldType.INTEGER
NUMERIC_FIELDS = {
    ("clients", "accountnr"): INTEGER,
    ("clients", "payment-days"): INTEGER,
    ("invoices", "invoice-nr"): INTEGER,
    ("invoices", "currency-rate"): DECIMAL,
    ("invoices", "remaining"): MONEY,
    ("invoices", "_total_amount"): MONEY,
    ("agreements", "revision-nr"): INTEGER,
    ("agreements", "payment-days"): INTEGER,
    ("agreements", "invoice-interval-months"): INTEGER,
    ("agreements", "_mrr"): MONEY,
    ("agreements", "_arr"): MONEY,
    ("products", "price"): MONEY,
    ("products", "account-nr"): INTEGER,
    ("products", "vat-percentage"): DECIMAL,
    ("line_items", "quantity"): DECIMAL,
    ("line_items", "price"): MONEY,
    ("line_items", "vat"): DECIMAL,
    ("line_items", "account-nr"): INTEGER,
    ("line_items", "discount.percentage"): DECIMAL,
    ("line_items", "discount.absolute"): MONEY,
    ("projects", "budget-hours"): DECIMAL,
    ("projects", "budget-amount"): MONEY,
}


def test_every_numeric_field_has_its_pinned_type():
    found = {
        (key, field.name): field.type
        for key, spec in catalog.REGISTRY.items()
        for field in spec.fields
        if field.type in (MONEY, DECIMAL, INTEGER)
    }
    assert found == NUMERIC_FIELDS


@pytest.mark.parametrize(("key", "name"), [k for k, t in NUMERIC_FIELDS.items() if t is MONEY])
def test_money_fields_divide_ore_by_100_exactly(key, name):
    field = catalog.REGISTRY[key].field(name)
    assert field.to_hubspot(123456) == "1234.56"
    assert field.to_hubspot(-5) == "-0.05"
    assert Decimal(field.to_hubspot(1)) == Decimal("0.01")


@pytest.mark.parametrize(("key", "name"), [k for k, t in NUMERIC_FIELDS.items() if t is not MONEY])
def test_other_numbers_are_written_as_kleer_sends_them(key, name):
    assert catalog.REGISTRY[key].field(name).to_hubspot(25) == "25"
