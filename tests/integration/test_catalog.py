"""The catalog: value conversion, computed fields, line-item expansion, registry and mapping consistency.

Pure Python (no database, no Django); record shapes follow kleer-api.md §5.5.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from integration import catalog
from integration.catalog import (
    ASSOCIATION_TYPES,
    HUBSPOT_OBJECTS,
    DefaultMapping,
    Direction,
    Field,
    FieldType,
    Option,
    Plan,
    TransformError,
    association_type_id,
)
from integration.catalog import transforms as tf
from integration.catalog.base import is_custom_property, suggest_property_name

CLIENT: dict[str, Any] = {
    "id": 100,
    "foreign-id": "crm-1",
    "name": "Acme AB",
    "contact": "Anna",
    "address": {
        "address1": "Gatan 1",
        "address2": "",
        "zip-code": "11122",
        "state": "Stockholm",
        "country": "Sverige",
    },
    "email": "billing@acme.se",
    "country-code": "SE",
    "currency-type": "SEK",
    "accountnr": 0,
    "payment-days": 30,
    "orgno": "556677-8899",
    "phone": "",
    "user": {"id": 10},
    "delivery-type": "Email",
    "vat-nr": "SE556677889901",
    "template": {"id": 1},
    "active": True,
}

DRAFT_INVOICE: dict[str, Any] = {
    "id": 5000,
    "invoice-nr": 0,
    "foreign-id": "order-77",
    "po-nr": "",
    "client-ref": {"id": 100},
    "your-reference": "Anna",
    "our-reference": {"id": 10},
    "invoice-date": "2025-01-31",
    "due-date": "2025-03-02",
    "delivery-date": "2025-01-31",
    "amount": 240000,
    "vat": 60000,
    "currency": "SEK",
    "certified": False,
    "sent": False,
    "delivery-type": "Email",
    "remaining": 0,
    "disabled": False,
    "rows": {
        "rows": [
            {
                "id": 1,
                "quantity": 2,
                "price": 120000,
                "vat": 0.25,
                "product": {"id": 55},
                "unit": "h",
                "description": "Consulting",
                "account-nr": 3041,
            }
        ]
    },
}


def certified(**changes: Any) -> dict[str, Any]:
    """The seed invoice after the fake's certify step: number, certified, remaining = amount + vat."""
    invoice = copy.deepcopy(DRAFT_INVOICE)
    invoice.update({"invoice-nr": 1042, "certified": True, "remaining": 300000})
    invoice.update(changes)
    return invoice


AGREEMENT: dict[str, Any] = {
    "id": 70,
    "foreign-id": "sub-9",
    "revision-nr": 1,
    "client-ref": {"id": 100},
    "description": "Support",
    "start-date": "2025-01-01",
    "start-invoice-date": "2025-01-01",
    "next-invoice-date": "2025-01-01",
    "end-date": None,
    "currency": "SEK",
    "payment-days": 30,
    "invoice-interval-months": 1,
    "invoice-day": "INVOICE_AT_START",
    "agreement-nr": "A-1",
    "subscription-nr": "S-1",
    "deleted": False,
    "first-invoice-rows": {"rows": []},
    "recurring-rows": {
        "rows": [{"quantity": 1, "price": 500000, "product": {"id": 55}, "unit": "st", "description": "Monthly fee"}]
    },
}


def agreement(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(AGREEMENT)
    record.update(changes)
    return record


# (name, label) exactly as kleer-for-hubspot-product.md §3.1–3.6 lists them (line items add the
# `_billing_frequency` their recurring rows carry, §3.5).
DOC_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "clients": (
        ("name", "Name"),
        ("foreign-id", "Foreign ID"),
        ("contact", "Contact"),
        ("address.address1", "Address 1"),
        ("address.address2", "Address 2"),
        ("address.zip-code", "Zip code"),
        ("address.state", "State"),
        ("address.country", "Country (address)"),
        ("email", "Email"),
        ("client-type", "Client type"),
        ("country-code", "Country code"),
        ("currency-type", "Currency"),
        ("accountnr", "Account number"),
        ("payment-days", "Payment days"),
        ("orgno", "Org. number"),
        ("phone", "Phone"),
        ("user.id", "Responsible user"),
        ("delivery-type", "Delivery type"),
        ("vat-nr", "VAT number"),
        ("gln", "GLN"),
        ("active", "Active"),
    ),
    "invoices": (
        ("invoice-nr", "Invoice number"),
        ("foreign-id", "Foreign ID"),
        ("po-nr", "PO number"),
        ("client-ref.id", "Client ref. (ID)"),
        ("your-reference", "Your reference"),
        ("our-reference.id", "Our reference (user ID)"),
        ("invoice-address.address1", "Invoice address 1"),
        ("invoice-address.address2", "Invoice address 2"),
        ("invoice-address.zip-code", "Invoice zip code"),
        ("invoice-address.state", "Invoice state"),
        ("invoice-address.country", "Invoice country"),
        ("invoice-email", "Invoice email"),
        ("delivery-name", "Delivery name"),
        ("delivery-address.address1", "Delivery address 1"),
        ("delivery-address.address2", "Delivery address 2"),
        ("delivery-address.zip-code", "Delivery zip code"),
        ("delivery-address.state", "Delivery state"),
        ("delivery-address.country", "Delivery country"),
        ("delivery-email", "Delivery email"),
        ("invoice-date", "Invoice date"),
        ("due-date", "Due date"),
        ("delivery-date", "Delivery date"),
        ("period.start-date", "Period start date"),
        ("period.end-date", "Period end date"),
        ("currency", "Currency"),
        ("currency-rate", "Currency rate"),
        ("certified", "Certified"),
        ("sent", "Sent"),
        ("notes", "Notes"),
        ("delivery-type", "Delivery type"),
        ("vat-nr", "VAT number"),
        ("country-code", "Country code"),
        ("remaining", "Remaining"),
        ("disabled", "Disabled"),
        ("edi-period-type", "EDI period type"),
        ("automatic-actions-disabled", "Auto actions disabled"),
        ("agreement-nr", "Agreement number (ref)"),
        ("_total_amount", "Total amount"),
        ("_status", "Invoice status"),
    ),
    "agreements": (
        ("foreign-id", "Foreign ID"),
        ("revision-nr", "Revision number"),
        ("client-ref.id", "Client ref. (ID)"),
        ("description", "Description"),
        ("start-date", "Start date"),
        ("start-invoice-date", "Start invoice date"),
        ("end-date", "End date"),
        ("renewal-notification-date", "Renewal notification date"),
        ("your-reference", "Your reference"),
        ("our-reference.id", "Our reference (user ID)"),
        ("currency", "Currency"),
        ("payment-days", "Payment days"),
        ("invoice-interval-months", "Invoice interval (months)"),
        ("invoice-day", "Invoice day"),
        ("po-nr", "PO number"),
        ("agreement-nr", "Agreement number"),
        ("subscription-nr", "Subscription number"),
        ("notes", "Notes"),
        ("_mrr", "Monthly recurring revenue"),
        ("_arr", "Annual recurring revenue"),
        ("_billing_frequency", "Billing frequency"),
        ("_status", "Status"),
    ),
    "products": (
        ("name", "Name"),
        ("foreign-id", "Foreign ID"),
        ("type", "Type"),
        ("unit", "Unit"),
        ("price", "Price"),
        ("ean", "EAN"),
        ("account-nr", "Account number"),
        ("vat-percentage", "VAT percentage"),
    ),
    "line_items": (
        ("quantity", "Quantity"),
        ("price", "Price"),
        ("vat", "VAT"),
        ("product.id", "Product (ID)"),
        ("unit", "Unit"),
        ("description", "Description"),
        ("account-nr", "Account number"),
        ("discount.percentage", "Discount percentage"),
        ("discount.absolute", "Discount absolute"),
        ("_billing_frequency", "Billing frequency"),
    ),
    "projects": (
        ("name", "Name"),
        ("client.id", "Client (ID)"),
        ("fixed-price", "Fixed price"),
        ("number", "Number"),
        ("comment", "Comment"),
        ("budget-hours", "Budget hours"),
        ("budget-amount", "Budget amount"),
        ("opening-date", "Opening date"),
    ),
}


def money(value: Any) -> str | None:
    return Field("x", "X", FieldType.MONEY).to_hubspot(value)


# -- money -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ore", "expected"),
    [
        (12345, "123.45"),
        (0, "0.00"),
        (100, "1.00"),
        (-5, "-0.05"),
        (-12345, "-123.45"),
        (1, "0.01"),
        (1000000000001, "10000000000.01"),
        (10**30 + 1, "10000000000000000000000000000.01"),
        ("12345", "123.45"),
        (Decimal("166666.6666666666666666666667"), "1666.67"),
        (Decimal("0.5"), "0.01"),  # half an öre rounds half up
        (Decimal("-0.4"), "0.00"),  # never "-0.00"
    ],
)
def test_money_is_exact_ore_divided_by_100(ore: Any, expected: str) -> None:
    assert money(ore) == expected


def test_money_rejects_non_numbers_with_the_field_name() -> None:
    field = Field("price", "Price", FieldType.MONEY)
    with pytest.raises(TransformError, match=r"Price \(price\): expected a number, got 'abc'"):
        field.to_hubspot("abc")
    with pytest.raises(TransformError, match="boolean"):
        field.to_hubspot(True)


def test_empty_values_become_none_for_every_type() -> None:
    for field_type in FieldType:
        options = (Option("A", "A"),) if field_type is FieldType.ENUM else ()
        field = Field("x", "X", field_type, options)
        assert field.to_hubspot(None) is None
        assert field.to_hubspot("") is None


# -- numbers, booleans, strings, ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        (FieldType.INTEGER, 30, "30"),
        (FieldType.INTEGER, "30", "30"),
        (FieldType.INTEGER, Decimal("30.0"), "30"),
        (FieldType.DECIMAL, 0.25, "0.25"),
        (FieldType.DECIMAL, 0.1 + 0.2, "0.30000000000000004"),  # float artefacts already in the input stay visible
        (FieldType.DECIMAL, Decimal("2.50"), "2.5"),
        (FieldType.DECIMAL, 2, "2"),
        (FieldType.DECIMAL, Decimal("1E+2"), "100"),
        (FieldType.DECIMAL, "0.0000001", "0.0000001"),
        (FieldType.BOOLEAN, True, "true"),
        (FieldType.BOOLEAN, False, "false"),
        (FieldType.BOOLEAN, "TRUE", "true"),
        (FieldType.BOOLEAN, 0, "false"),
        (FieldType.STRING, "Acme AB", "Acme AB"),
        (FieldType.STRING, 556677, "556677"),
        (FieldType.TEXT, "line 1\nline 2", "line 1\nline 2"),
        (FieldType.ID, 100, "100"),
        (FieldType.ID, {"id": 7}, "7"),
        (FieldType.ID, 0, None),  # Kleer's "not set" reference
        (FieldType.ID, {"id": 0}, None),
    ],
)
def test_scalar_conversion(field_type: FieldType, value: Any, expected: str | None) -> None:
    assert Field("x", "X", field_type).to_hubspot(value) == expected


def test_integer_rejects_fractions_and_boolean_rejects_junk() -> None:
    with pytest.raises(TransformError, match=r"Payment days \(payment-days\): expected a whole number, got 12.5"):
        Field("payment-days", "Payment days", FieldType.INTEGER).to_hubspot(12.5)
    with pytest.raises(TransformError, match="expected a boolean, got 'maybe'"):
        Field("active", "Active", FieldType.BOOLEAN).to_hubspot("maybe")


# -- dates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31", "2025-01-31"),
        (date(2025, 1, 31), "2025-01-31"),
        (datetime(2025, 1, 31, 23, 59), "2025-01-31"),
        ("2025-01-31T10:00:00Z", "2025-01-31"),
        (1738281600000, "2025-01-31"),  # epoch ms, midnight UTC
    ],
)
def test_date(value: Any, expected: str) -> None:
    assert Field("d", "D", FieldType.DATE).to_hubspot(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31T09:30:00Z", "2025-01-31T09:30:00.000Z"),
        ("2025-01-31T10:30:00+01:00", "2025-01-31T09:30:00.000Z"),
        ("2025-01-31T09:30:00", "2025-01-31T09:30:00.000Z"),  # naive = UTC
        ("2025-01-31", "2025-01-31T00:00:00.000Z"),
        (1738315800000, "2025-01-31T09:30:00.000Z"),
        ("1738315800123", "2025-01-31T09:30:00.123Z"),
        (datetime(2025, 1, 31, 9, 30, tzinfo=UTC), "2025-01-31T09:30:00.000Z"),
    ],
)
def test_datetime_accepts_iso_and_epoch_ms(value: Any, expected: str) -> None:
    assert Field("t", "T", FieldType.DATETIME).to_hubspot(value) == expected


def test_bad_dates_raise() -> None:
    with pytest.raises(TransformError, match=r"Due date \(due-date\): expected a YYYY-MM-DD date, got '2025-13-01'"):
        Field("due-date", "Due date", FieldType.DATE).to_hubspot("2025-13-01")
    with pytest.raises(TransformError, match="ISO-8601"):
        Field("t", "T", FieldType.DATETIME).to_hubspot("yesterday")


# -- enums -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Organisation", "Organisation"), ("ORGANISATION", "Organisation"), ("person", "Person")],
)
def test_enum_matches_case_insensitively(value: str, expected: str) -> None:
    assert catalog.get("clients").field("client-type").to_hubspot(value) == expected


def test_enum_ignores_underscores_and_hyphens() -> None:
    invoice_day = catalog.get("agreements").field("invoice-day")
    assert invoice_day.to_hubspot("invoice-at-start") == "INVOICE_AT_START"
    assert invoice_day.to_hubspot("InvoiceAtEndMonth") == "INVOICE_AT_END_MONTH"
    delivery = catalog.get("clients").field("delivery-type")
    assert delivery.to_hubspot("MANUALLY") == "Manually"


def test_unknown_enum_value_error_message() -> None:
    with pytest.raises(TransformError) as excinfo:
        catalog.get("clients").field("client-type").to_hubspot("Robot")
    assert str(excinfo.value) == (
        "Client type (client-type): unknown value 'Robot'; expected one of Organisation, Person"
    )


def test_enum_property_type_and_options() -> None:
    field = catalog.get("clients").field("client-type")
    assert field.hubspot_property_type() == ("enumeration", "select")
    assert field.hubspot_options() == [
        {"label": "Organisation", "value": "Organisation", "displayOrder": 0, "hidden": False},
        {"label": "Person", "value": "Person", "displayOrder": 1, "hidden": False},
    ]


def test_enum_field_without_options_is_a_catalog_error() -> None:
    with pytest.raises(ValueError, match="enum field 'x' needs options"):
        Field("x", "X", FieldType.ENUM)


@pytest.mark.parametrize(
    ("field_type", "expected"),
    [
        (FieldType.STRING, ("string", "text")),
        (FieldType.TEXT, ("string", "textarea")),
        (FieldType.INTEGER, ("number", "number")),
        (FieldType.DECIMAL, ("number", "number")),
        (FieldType.MONEY, ("number", "number")),
        (FieldType.BOOLEAN, ("bool", "booleancheckbox")),
        (FieldType.DATE, ("date", "date")),
        (FieldType.DATETIME, ("datetime", "date")),
        (FieldType.ID, ("string", "text")),
    ],
)
def test_hubspot_property_types(field_type: FieldType, expected: tuple[str, str]) -> None:
    assert Field("x", "X", field_type).hubspot_property_type() == expected


# -- fields: paths, extract, display -----------------------------------------------------------------------


def test_field_path_display_and_extract() -> None:
    clients = catalog.get("clients")
    zip_code = clients.field("address.zip-code")
    assert zip_code.path == ("address", "zip-code")
    assert zip_code.display == "Zip code (address.zip-code)"
    assert zip_code.extract(CLIENT) == "11122"
    assert clients.field("user.id").extract(CLIENT) == 10
    assert clients.field("name").extract(CLIENT) == "Acme AB"
    assert clients.field("name").is_computed is False


def test_extract_missing_or_broken_paths_give_none() -> None:
    zip_code = catalog.get("clients").field("address.zip-code")
    assert zip_code.extract({}) is None
    assert zip_code.extract({"address": None}) is None
    assert zip_code.extract({"address": "Gatan 1"}) is None
    assert catalog.get("clients").field("gln").extract(CLIENT) is None


def test_extract_calls_compute_for_computed_fields() -> None:
    total = catalog.get("invoices").field("_total_amount")
    assert total.is_computed is True
    assert total.extract(certified()) == 300000
    assert total.to_hubspot(total.extract(certified())) == "3000.00"


def test_unknown_field_error_message() -> None:
    with pytest.raises(KeyError, match="unknown field 'nope' for clients; expected one of name, foreign-id"):
        catalog.get("clients").field("nope")


# -- invoices ----------------------------------------------------------------------------------------------


def test_invoice_total_is_amount_plus_vat_in_ore() -> None:
    assert tf.invoice_total_amount(certified()) == 300000
    assert tf.invoice_total_amount(certified(vat=None)) == 240000


def test_invoice_total_falls_back_to_rows_when_amount_is_missing() -> None:
    invoice = certified()
    del invoice["amount"], invoice["vat"]
    # 2 × 1200.00 net, 25 % VAT
    assert tf.invoice_total_amount(invoice) == 300000
    assert tf.invoice_total_amount({"id": 1}) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"certified": False}, "draft"),
        ({"certified": False, "disabled": True}, "draft"),
        ({"disabled": True}, "voided"),
        ({"remaining": 0}, "paid"),
        ({"remaining": 300000}, "open"),
        ({"remaining": 100000}, "open"),  # part-paid
        ({"remaining": None}, "open"),
    ],
)
def test_invoice_status(changes: dict[str, Any], expected: str) -> None:
    assert tf.invoice_status(certified(**changes)) == expected
    status = catalog.get("invoices").field("_status")
    assert status.to_hubspot(status.extract(certified(**changes))) == expected


def test_invoice_include_filter() -> None:
    invoices = catalog.get("invoices")
    assert invoices.includes(DRAFT_INVOICE) is False
    assert invoices.includes(certified()) is True
    assert invoices.includes(certified(**{"debit-invoice-nr": 1041})) is False
    assert invoices.includes(certified(amount=-240000, vat=-60000)) is False
    assert invoices.includes(certified(**{"debit-invoice-nr": 0})) is True
    assert invoices.includes(certified(disabled=True)) is True  # synced so HubSpot shows it voided


# -- agreements --------------------------------------------------------------------------------------------


def test_mrr_arr_for_monthly_agreement() -> None:
    spec = catalog.get("agreements")
    assert tf.agreement_mrr(AGREEMENT) == Decimal(500000)
    assert spec.field("_mrr").to_hubspot(spec.field("_mrr").extract(AGREEMENT)) == "5000.00"
    assert spec.field("_arr").to_hubspot(spec.field("_arr").extract(AGREEMENT)) == "60000.00"


def test_mrr_arr_for_quarterly_agreement_with_discounts() -> None:
    rows = {
        "rows": [
            {"quantity": 1, "price": 500000, "discount": {"percentage": 0.1}},  # 450000
            {"quantity": 2, "price": 25000, "discount": {"absolute": 10000}},  # 40000
            {"quantity": "1.5", "price": 1000},  # 1500
        ]
    }
    record = agreement(**{"invoice-interval-months": 3, "recurring-rows": rows})
    spec = catalog.get("agreements")
    assert tf.agreement_mrr(record) == Decimal(491500) / 3
    assert spec.field("_mrr").to_hubspot(tf.agreement_mrr(record)) == "1638.33"
    # exact: 491500 × 12 / 3 = 1966000 öre, not 12 × the rounded MRR (1966000 - 4 öre)
    assert spec.field("_arr").to_hubspot(tf.agreement_arr(record)) == "19660.00"


def test_mrr_ignores_first_invoice_rows_and_needs_an_interval() -> None:
    record = agreement(**{"first-invoice-rows": {"rows": [{"quantity": 1, "price": 99900}]}})
    assert tf.agreement_mrr(record) == Decimal(500000)
    assert tf.agreement_mrr(agreement(**{"invoice-interval-months": None})) is None
    assert tf.agreement_arr(agreement(**{"invoice-interval-months": None})) is None
    assert tf.agreement_mrr(agreement(**{"recurring-rows": {}})) == Decimal(0)
    with pytest.raises(TransformError, match="positive whole number, got 0"):
        tf.agreement_mrr(agreement(**{"invoice-interval-months": 0}))


def test_discount_percentage_above_one_is_a_whole_percentage() -> None:
    assert tf.row_net({"quantity": 1, "price": 10000, "discount": {"percentage": 10}}) == Decimal(9000)


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (1, "monthly"),
        (3, "quarterly"),
        (6, "per_six_months"),
        (12, "annually"),
        (24, "per_two_years"),
        (36, "per_three_years"),
        (48, "per_four_years"),
        (60, "per_five_years"),
        ("12", "annually"),
        (None, None),
    ],
)
def test_billing_frequency(months: Any, expected: str | None) -> None:
    assert tf.agreement_billing_frequency(agreement(**{"invoice-interval-months": months})) == expected


def test_billing_frequency_without_a_hubspot_value_raises() -> None:
    with pytest.raises(TransformError) as excinfo:
        tf.agreement_billing_frequency(agreement(**{"invoice-interval-months": 2}))
    assert str(excinfo.value) == (
        "an invoice interval of 2 months has no HubSpot billing frequency; supported: 1, 3, 6, 12, 24, 36, 48, 60"
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-07-01", None, "scheduled"),
        ("2025-06-15", None, "active"),
        ("2025-01-01", None, "active"),
        ("2025-01-01", "2025-06-15", "active"),  # last day still active
        ("2025-01-01", "2025-06-14", "expired"),
        ("2025-01-01", "", "active"),
        (None, None, "active"),
    ],
)
def test_agreement_status(start: str | None, end: str | None, expected: str) -> None:
    record = agreement(**{"start-date": start, "start-invoice-date": start, "end-date": end})
    assert tf.agreement_status(record, today=date(2025, 6, 15)) == expected


def test_agreement_status_falls_back_to_start_invoice_date() -> None:
    record = agreement(**{"start-date": None, "start-invoice-date": "2030-01-01"})
    assert tf.agreement_status(record, today=date(2025, 6, 15)) == "scheduled"


def test_agreement_status_defaults_to_today() -> None:
    assert catalog.get("agreements").field("_status").extract(agreement(**{"start-date": "2000-01-01"})) == "active"


# -- line items --------------------------------------------------------------------------------------------


def test_line_items_from_invoice() -> None:
    invoice = certified()
    invoice["rows"]["rows"].append({"id": 2, "quantity": 1, "price": 5000, "description": "Travel"})
    items = tf.line_items_from_invoice(invoice)
    assert [item["id"] for item in items] == ["5000-row-0", "5000-row-1"]
    assert items[0]["parent"] == {"object": "invoices", "id": "5000"}
    assert items[0]["kleer_row_id"] == 1
    assert items[0]["description"] == "Consulting"
    assert invoice["rows"]["rows"][0]["id"] == 1  # the invoice itself is not modified


def test_line_items_from_agreement() -> None:
    record = agreement(
        **{
            "invoice-interval-months": 12,
            "first-invoice-rows": {"rows": [{"quantity": 1, "price": 99900, "description": "Setup"}]},
        }
    )
    items = tf.line_items_from_agreement(record)
    assert [(i["id"], i["_billing_frequency"]) for i in items] == [
        ("70-recurring-0", "annually"),
        ("70-first-0", None),
    ]
    assert all(i["parent"] == {"object": "agreements", "id": "70"} for i in items)


@pytest.mark.parametrize("rows", [None, {}, {"rows": []}, []])
def test_line_items_tolerate_missing_or_empty_rows(rows: Any) -> None:
    invoice = certified(rows=rows)
    if rows is None:
        del invoice["rows"]
    assert tf.line_items_from_invoice(invoice) == []
    assert tf.line_items_from_agreement({"id": 70, "recurring-rows": rows}) == []


def test_line_items_accept_a_bare_row_list() -> None:
    items = tf.line_items_from_invoice(certified(rows=[{"price": 100}, {"price": 200}]))
    assert [i["id"] for i in items] == ["5000-row-0", "5000-row-1"]


def test_line_item_fields_convert_rows() -> None:
    spec = catalog.get("line_items")
    item = tf.line_items_from_agreement(agreement())[0]
    props = spec.properties_for(item, spec.default_target.default_mappings, "line_items")
    assert props == {
        "name": "Monthly fee",
        "quantity": "1",
        "price": "5000.00",
        "recurringbillingfrequency": "monthly",
    }
    invoice_item = tf.line_items_from_invoice(certified())[0]
    assert spec.properties_for(invoice_item, spec.default_target.default_mappings, "line_items") == {
        "name": "Consulting",
        "quantity": "2",
        "price": "1200.00",
    }
    assert spec.kleer_id(invoice_item) == "5000-row-0"


# -- specs and registry ------------------------------------------------------------------------------------


def test_registry_order_and_choices() -> None:
    assert catalog.OBJECT_TYPES == ("clients", "invoices", "agreements", "products", "line_items", "projects")
    assert catalog.choices() == [
        ("clients", "Clients"),
        ("invoices", "Invoices"),
        ("agreements", "Agreements"),
        ("products", "Products"),
        ("line_items", "Line Items"),
        ("projects", "Projects"),
    ]


def test_get_unknown_object_type() -> None:
    with pytest.raises(KeyError) as excinfo:
        catalog.get("x")
    assert excinfo.value.args[0] == (
        "unknown object type 'x'; expected one of clients, invoices, agreements, products, line_items, projects"
    )


def test_plans_directions_intervals_and_defaults() -> None:
    summary = {
        key: (spec.plan, spec.direction, spec.interval_minutes, spec.default_target.hubspot_object)
        for key, spec in catalog.REGISTRY.items()
    }
    assert summary == {
        "clients": (Plan.FREE, Direction.TWO_WAY, 15, "companies"),
        "invoices": (Plan.PRO, Direction.ONE_WAY, 30, "invoices"),
        "agreements": (Plan.PRO, Direction.ONE_WAY, 30, "subscriptions"),
        "products": (Plan.FREE, Direction.ONE_WAY, 1440, "products"),
        "line_items": (Plan.PRO, Direction.ONE_WAY, 30, "line_items"),
        "projects": (Plan.PRO, Direction.TWO_WAY, 15, "projects"),
    }


def test_dependencies_associations_and_synced_with() -> None:
    get = catalog.get
    assert get("clients").required_fields == ("name",)
    assert [s.key for s in catalog.REGISTRY.values() if s.depends_on == ("clients",)] == [
        "invoices",
        "agreements",
        "projects",
    ]
    assert get("products").depends_on == ()
    assert get("line_items").synced_with == ("invoices", "agreements")
    assert [(a.field, a.to_object) for a in get("projects").associations] == [("client.id", "clients")]
    assert [(a.field, a.to_object) for a in get("invoices").associations] == [("client-ref.id", "clients")]
    for spec in catalog.REGISTRY.values():
        for association in spec.associations:
            assert association.to_object in catalog.REGISTRY
        assert set(spec.depends_on) | set(spec.synced_with) <= set(catalog.REGISTRY)


def test_allowed_targets_and_target_lookup() -> None:
    clients = catalog.get("clients")
    assert clients.allowed_targets == ("companies", "contacts")
    assert clients.target("contacts").label == "Contacts"
    with pytest.raises(KeyError, match="Clients cannot sync to HubSpot 'deals'; allowed: companies, contacts"):
        clients.target("deals")


def test_field_catalogue_matches_the_product_doc() -> None:
    assert {key: tuple((f.name, f.label) for f in spec.fields) for key, spec in catalog.REGISTRY.items()} == DOC_FIELDS


def test_documented_enums() -> None:
    def values(key: str, name: str) -> list[str]:
        return [o.value for o in catalog.get(key).field(name).options]

    assert values("clients", "client-type") == ["Organisation", "Person"]
    assert values("clients", "currency-type") == ["SEK", "EUR", "USD", "NOK", "DKK", "GBP"]
    assert values("clients", "delivery-type")[:4] == ["Mail", "Email", "Manually", "Svefaktura"]
    assert values("agreements", "invoice-day")[0] == "INVOICE_AT_START"
    assert len(values("agreements", "invoice-day")) == 8
    assert values("agreements", "_billing_frequency")[:4] == ["weekly", "biweekly", "monthly", "quarterly"]
    assert values("agreements", "_status") == ["scheduled", "active", "expired"]
    assert values("invoices", "_status") == ["draft", "open", "paid", "voided"]


def test_mappable_fields_list_plain_fields_before_computed_ones() -> None:
    names = [f.name for f in catalog.get("invoices").mappable_fields]
    assert names[-2:] == ["_total_amount", "_status"]
    assert len(names) == len(catalog.get("invoices").fields)


def test_every_default_mapping_refers_to_a_real_field_or_a_constant() -> None:
    for spec in catalog.REGISTRY.values():
        for target in spec.targets:
            for mapping in target.default_mappings:
                if mapping.kleer_field is None:
                    assert mapping.default_value
                else:
                    assert spec.has_field(mapping.kleer_field), (spec.key, mapping)
            properties = [m.hubspot_property for m in target.default_mappings]
            assert len(properties) == len(set(properties)), (spec.key, target.hubspot_object)


def test_required_fields_are_mapped_by_the_default_target() -> None:
    for spec in catalog.REGISTRY.values():
        mapped = {m.kleer_field for m in spec.default_target.default_mappings}
        assert set(spec.required_fields) <= mapped, spec.key


def test_every_target_is_a_known_hubspot_object_with_sensible_mappings() -> None:
    for spec in catalog.REGISTRY.values():
        for target in spec.targets:
            obj = HUBSPOT_OBJECTS[target.hubspot_object]
            assert target.default_mappings, (spec.key, target.hubspot_object)
            assert target.name_property == obj.name_property
            for mapping in target.default_mappings:
                prop = mapping.hubspot_property
                assert not obj.is_read_only(prop), (spec.key, prop)
                assert is_custom_property(prop) or prop in obj.standard_properties, (spec.key, prop)
            for prop, _value in target.fixed_properties:
                assert prop in obj.standard_properties


def test_every_target_writes_its_display_name() -> None:
    for spec in catalog.REGISTRY.values():
        for target in spec.targets:
            if target.hubspot_object == "invoices":
                continue  # HubSpot numbers invoices itself
            mapped = {m.hubspot_property for m in target.default_mappings}
            assert target.name_property in mapped, (spec.key, target.hubspot_object)


def test_safety_defaults() -> None:
    invoices = catalog.get("invoices").target("invoices")
    assert invoices.fixed_properties == (("hs_invoice_billable", "false"),)
    subscriptions = catalog.get("agreements").target("subscriptions")
    assert subscriptions.fixed_properties == (("hs_invoice_creation", "off"),)
    assert subscriptions.requires_payments is True
    needs_pipeline = {
        (s.key, t.hubspot_object) for s in catalog.REGISTRY.values() for t in s.targets if t.needs_pipeline
    }
    assert needs_pipeline == {
        ("invoices", "deals"),
        ("agreements", "deals"),
        ("projects", "projects"),
        ("projects", "deals"),
    }


def test_custom_properties_for_default_targets() -> None:
    clients = catalog.get("clients")
    definitions = clients.custom_properties("companies")
    assert [d.name for d in definitions] == [
        "kleer_id",
        "kleer_email",
        "kleer_orgno",
        "kleer_vat_number",
        "kleer_currency",
        "kleer_payment_days",
        "kleer_delivery_method",
    ]
    assert definitions[0].has_unique_value is True
    currency = definitions[4]
    assert (currency.type, currency.field_type, currency.label) == ("enumeration", "select", "Kleer Currency")
    assert currency.as_payload()["options"][0] == {"label": "SEK", "value": "SEK", "displayOrder": 0, "hidden": False}
    assert currency.as_payload()["groupName"] == "kleer"
    invoices = catalog.get("invoices").custom_properties("invoices", include_kleer_id=False)
    assert [(d.name, d.type) for d in invoices] == [("kleer_invoice_nr", "number"), ("kleer_total_amount", "number")]


def test_custom_property_definitions_agree_across_specs() -> None:
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for spec in catalog.REGISTRY.values():
        for target in spec.targets:
            for definition in spec.custom_properties(target):
                key = (target.hubspot_object, definition.name)
                shape = (definition.type, definition.field_type)
                assert seen.setdefault(key, shape) == shape, key


def test_suggest_property_name() -> None:
    assert suggest_property_name("address.zip-code") == "kleer_address_zip_code"
    assert suggest_property_name("_total_amount") == "kleer_total_amount"
    assert suggest_property_name("client-ref.id") == "kleer_client_ref_id"


def test_kleer_id_unwraps_wrapped_ids() -> None:
    projects = catalog.get("projects")
    assert projects.kleer_id({"id": {"id": 322222}}) == "322222"
    assert catalog.get("clients").kleer_id(CLIENT) == "100"
    assert catalog.get("clients").kleer_id({}) is None


def test_properties_for_clients_default_mapping() -> None:
    clients = catalog.get("clients")
    mappings = [*clients.default_target.default_mappings, DefaultMapping(None, "kleer_source", "Kleer")]
    assert clients.properties_for(CLIENT, mappings, "companies") == {
        "name": "Acme AB",
        "address": "Gatan 1",
        "zip": "11122",
        "city": "Stockholm",
        "country": "Sverige",
        "kleer_email": "billing@acme.se",
        "kleer_orgno": "556677-8899",
        "kleer_vat_number": "SE556677889901",
        "kleer_currency": "SEK",
        "kleer_payment_days": "30",
        "kleer_delivery_method": "Email",
        "kleer_source": "Kleer",
    }


def test_properties_for_invoice_add_fixed_properties_and_defaults() -> None:
    spec = catalog.get("invoices")
    record = certified(currency=None, **{"po-nr": "PO-1", "notes": "Thanks"})
    assert spec.properties_for(record, spec.default_target.default_mappings, "invoices") == {
        "hs_currency": "SEK",
        "hs_invoice_date": "2025-01-31",
        "hs_due_date": "2025-03-02",
        "hs_purchase_order_number": "PO-1",
        "hs_comments": "Thanks",
        "hs_invoice_status": "open",
        "kleer_invoice_nr": "1042",
        "kleer_total_amount": "3000.00",
        "hs_invoice_billable": "false",
    }


def test_properties_for_agreement_subscription() -> None:
    spec = catalog.get("agreements")
    props = spec.properties_for(
        agreement(**{"start-date": "2000-01-01"}), spec.default_target.default_mappings, "subscriptions"
    )
    assert props == {
        "hs_name": "Support",
        "hs_currency_code": "SEK",
        "hs_recurring_billing_start_date": "2000-01-01",
        "hs_recurring_billing_frequency": "monthly",
        "kleer_status": "active",
        "kleer_mrr": "5000.00",
        "kleer_arr": "60000.00",
        "kleer_agreement_nr": "A-1",
        "hs_invoice_creation": "off",
    }


def test_properties_for_projects_and_products() -> None:
    project = {
        "id": {"id": 7},
        "client": {"id": 100},
        "fixed-price": False,
        "number": "P-7",
        "name": "Website",
        "comment": "Phase 1",
        "budget-hours": 120.5,
        "budget-amount": 15000000,
        "opening-date": "2025-02-01",
    }
    projects = catalog.get("projects")
    assert projects.properties_for(project, projects.default_target.default_mappings, "projects") == {
        "hs_name": "Website",
        "hs_start_date": "2025-02-01",
        "hs_description": "Phase 1",
        "kleer_project_number": "P-7",
        "kleer_budget_amount": "150000.00",
    }
    product = {"id": 55, "name": "Consulting hour", "price": 120000, "vat-percentage": 0.25}
    products = catalog.get("products")
    assert products.properties_for(product, products.default_target.default_mappings, "products") == {
        "name": "Consulting hour",
        "price": "1200.00",
    }


def test_specs_are_frozen() -> None:
    spec = catalog.get("clients")
    with pytest.raises(AttributeError):
        spec.key = "other"  # type: ignore[misc]


# -- HubSpot objects and associations ----------------------------------------------------------------------


def test_hubspot_objects() -> None:
    assert {name: obj.object_type_id for name, obj in HUBSPOT_OBJECTS.items()} == {
        "companies": "0-2",
        "contacts": "0-1",
        "deals": "0-3",
        "products": "0-7",
        "line_items": "0-8",
        "invoices": "0-53",
        "subscriptions": "0-69",
        "projects": "0-970",
    }
    assert HUBSPOT_OBJECTS["products"].schema_write_scope == "e-commerce"
    assert HUBSPOT_OBJECTS["subscriptions"].write_scope == "crm.objects.subscriptions.write"
    assert catalog.resolve_hubspot_object("commerce_subscriptions").name == "subscriptions"
    assert catalog.resolve_hubspot_object("0-970").name == "projects"
    with pytest.raises(KeyError, match="unknown HubSpot object type 'tickets'"):
        catalog.resolve_hubspot_object("tickets")


@pytest.mark.parametrize(
    ("from_obj", "to_obj", "expected"),
    [
        ("invoices", "companies", 179),
        ("companies", "invoices", 180),
        ("invoices", "line_items", 409),
        ("line_items", "invoices", 410),
        ("subscriptions", "companies", 297),
        ("subscriptions", "line_items", 301),
        ("line_items", "subscriptions", 302),
        ("deals", "companies", 341),
        ("deals", "line_items", 19),
        ("line_items", "deals", 20),
        ("projects", "companies", 1236),
        ("companies", "projects", 1237),
        ("contacts", "companies", 279),
        ("companies", "contacts", 280),
        ("line_items", "projects", 1345),
        ("0-53", "0-2", 179),
        ("commerce_subscriptions", "line_items", 301),
    ],
)
def test_association_type_ids(from_obj: str, to_obj: str, expected: int) -> None:
    assert association_type_id(from_obj, to_obj) == expected


def test_primary_association_type_ids() -> None:
    assert association_type_id("deals", "companies", primary=True) == 5
    assert association_type_id("projects", "companies", primary=True) == 1299


def test_unknown_association_pair() -> None:
    with pytest.raises(KeyError) as excinfo:
        association_type_id("products", "companies")
    assert excinfo.value.args[0] == "no HubSpot-defined association type from 'products' to 'companies'"
    with pytest.raises(KeyError, match="no HubSpot-defined association type from 'projects' to 'line_items'"):
        association_type_id("projects", "line_items")


def test_every_sync_association_has_a_type_id() -> None:
    """Each spec's associations and each parent → line item edge resolve for every allowed target pair."""
    for spec in catalog.REGISTRY.values():
        for association in spec.associations:
            other = catalog.get(association.to_object)
            for target in spec.targets:
                for other_target in other.targets:
                    assert association_type_id(target.hubspot_object, other_target.hubspot_object) > 0
    for parent in catalog.get("line_items").synced_with:
        for target in catalog.get(parent).targets:
            assert association_type_id(target.hubspot_object, "line_items") > 0
            assert association_type_id("line_items", target.hubspot_object) > 0
    assert len(ASSOCIATION_TYPES) == 33
