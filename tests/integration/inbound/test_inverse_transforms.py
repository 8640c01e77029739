"""The catalog's way back: HubSpot property strings → Kleer values, and which mappings can be two-way."""

from __future__ import annotations

import pytest

from integration import catalog
from integration.catalog import DefaultMapping, TransformError

CLIENTS = catalog.get("clients")
PROJECTS = catalog.get("projects")


@pytest.mark.parametrize(
    ("spec", "name", "hubspot", "kleer"),
    [
        (PROJECTS, "budget-amount", "123.45", 12345),
        (PROJECTS, "budget-amount", "-0.05", -5),
        (PROJECTS, "budget-amount", "1e3", 100000),
        (PROJECTS, "budget-hours", "12.5", 12.5),
        (PROJECTS, "budget-hours", "40", 40),
        (PROJECTS, "opening-date", "2026-03-01", "2026-03-01"),
        (PROJECTS, "opening-date", "1772323200000", "2026-03-01"),
        (CLIENTS, "payment-days", "30", 30),
        (CLIENTS, "payment-days", "30.0", 30),
        (CLIENTS, "active", "false", False),
        (CLIENTS, "client-type", "person", "Person"),
        (CLIENTS, "currency-type", "EUR", "EUR"),
        (CLIENTS, "phone", "+46 8 123 45", "+46 8 123 45"),
        (CLIENTS, "phone", "", None),
        (CLIENTS, "phone", None, None),
    ],
)
def test_hubspot_values_go_back_to_kleers_form(spec, name, hubspot, kleer):
    value = spec.field(name).to_kleer(hubspot)
    assert value == kleer
    assert type(value) is type(kleer)


@pytest.mark.parametrize(
    ("spec", "name", "hubspot", "message"),
    [
        (PROJECTS, "budget-amount", "0.001", "Budget amount (budget-amount): '0.001' has more than two decimals"),
        (CLIENTS, "payment-days", "30.5", "Payment days (payment-days): expected a whole number, got '30.5'"),
        (CLIENTS, "client-type", "Robot", "Client type (client-type): unknown value 'Robot'; expected one of"),
        (CLIENTS, "active", "maybe", "Active (active): expected a boolean, got 'maybe'"),
        (CLIENTS, "user.id", "7", "Responsible user (user.id) is computed or a reference"),
    ],
)
def test_values_kleer_cannot_take_are_refused_with_the_field_named(spec, name, hubspot, message):
    with pytest.raises(TransformError) as caught:
        spec.field(name).to_kleer(hubspot)
    assert str(caught.value).startswith(message)


def test_kleer_values_for_takes_only_the_given_mappings_and_refuses_emptying_a_required_field():
    mappings = [DefaultMapping("name", "name"), DefaultMapping("payment-days", "kleer_payment_days")]
    changes = {"name": "Nya AB", "kleer_payment_days": "20", "phone": "1"}
    assert CLIENTS.kleer_values_for(changes, mappings) == {"name": "Nya AB", "payment-days": 20}
    with pytest.raises(TransformError, match=r"Name \(name\) is required in Kleer and cannot be emptied"):
        CLIENTS.kleer_values_for({"name": ""}, mappings)


@pytest.mark.parametrize(
    ("spec", "target", "field", "prop", "reason"),
    [
        (CLIENTS, "companies", "phone", "phone", None),
        (CLIENTS, "companies", "orgno", "kleer_orgno", None),
        (CLIENTS, "companies", "phone", "my_custom_phone", "HubSpot does not notify the app about changes to"),
        (CLIENTS, "companies", None, "kleer_currency", "A constant has no Kleer field to write back to."),
        (CLIENTS, "companies", "user.id", "kleer_email", "Responsible user is a Kleer reference"),
        (PROJECTS, "projects", "name", "hs_name", "Kleer sets name only when the record is created"),
        (
            PROJECTS,
            "projects",
            "budget-amount",
            "kleer_budget_amount",
            "HubSpot sends apps no change notifications for Projects; sync projects to Deals for two-way.",
        ),
        (PROJECTS, "deals", "budget-amount", "amount", None),
        (PROJECTS, "deals", "name", "dealname", "Kleer sets name only when the record is created"),
        (catalog.get("invoices"), "invoices", "number", "hs_number", "Invoices sync from Kleer to HubSpot only."),
    ],
)
def test_which_mappings_can_be_two_way(spec, target, field, prop, reason):
    found = spec.one_way_reason(target, field, prop)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_computed_fields_are_always_one_way():
    agreements = catalog.get("agreements")
    assert agreements.one_way_reason("deals", "_mrr", "amount") == "Agreements sync from Kleer to HubSpot only."
    assert CLIENTS.default_direction("companies", DefaultMapping("name", "name")) is catalog.Direction.TWO_WAY
    assert CLIENTS.default_direction("companies", DefaultMapping("name", "x_prop")) is catalog.Direction.ONE_WAY
