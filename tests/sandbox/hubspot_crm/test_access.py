"""Scopes per route and feature gates of the fake CRM (hubspot-api.md §1.5, §10.3)."""

from __future__ import annotations

import pytest

from tests.sandbox.hubspot_crm.conftest import error

SCOPES_URL = "https://developers.hubspot.com/scopes"


def missing_scopes(response, *scopes: str) -> dict:
    return error(
        response,
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_URL}.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        links={"scopes": SCOPES_URL},
    )


def test_object_reads_and_writes_need_their_scopes(api_factory):
    reader = api_factory(scopes=("oauth", "crm.objects.companies.read"))
    write = reader.post(reader.objects("companies"), {"properties": {"name": "x"}})
    assert (write.status_code, write.json()) == (
        403,
        missing_scopes(
            write,
            "crm.objects.companies.write",
            "crm.objects.companies.sensitive.write.v2",
            "crm.objects.companies.highly_sensitive.write.v2",
        ),
    )
    assert reader.get(reader.objects("companies")).status_code == 200
    search = reader.post(f"{reader.objects('deals')}/search", {})
    assert search.json() == missing_scopes(
        search,
        "crm.objects.deals.read",
        "crm.objects.deals.sensitive.read.v2",
        "crm.objects.deals.highly_sensitive.read.v2",
    )
    invoices = reader.post(f"{reader.objects('invoices')}/batch/upsert", {"inputs": []})
    assert invoices.json() == missing_scopes(invoices, "crm.objects.invoices.write")


def test_e_commerce_stands_in_for_product_and_line_item_scopes(api_factory):
    shop = api_factory(scopes=("oauth", "e-commerce"))
    assert shop.post(shop.objects("products"), {"properties": {"name": "x"}}).status_code == 201
    assert shop.post(shop.objects("line_items"), {"properties": {"name": "x"}}).status_code == 201
    assert (
        shop.post(
            shop.properties("products"),
            {
                "name": "kleer_sku",
                "label": "x",
                "type": "string",
                "fieldType": "text",
                "groupName": "productinformation",
            },
        ).status_code
        == 201
    )
    companies = shop.get(shop.objects("companies"))
    assert companies.status_code == 403


def test_property_management_needs_schema_scopes(api_factory):
    objects_only = api_factory(scopes=("oauth", "crm.objects.companies.read", "crm.objects.companies.write"))
    assert objects_only.get(objects_only.properties("companies")).status_code == 200
    create = objects_only.post(
        objects_only.properties("companies"),
        {"name": "kleer_id", "label": "x", "type": "string", "fieldType": "text", "groupName": "companyinformation"},
    )
    assert create.json() == missing_scopes(create, "crm.schemas.companies.write")
    line_items = api_factory(scopes=("oauth", "crm.schemas.line_items.read", "crm.objects.line_items.write"))
    assert line_items.get(line_items.properties("line_items")).status_code == 200
    refused = line_items.post(
        line_items.properties("line_items"),
        {"name": "kleer_row", "label": "x", "type": "string", "fieldType": "text", "groupName": "lineiteminformation"},
    )
    assert refused.json() == missing_scopes(refused, "e-commerce")


def test_associations_need_the_source_write_and_target_scopes(api_factory):
    full = api_factory()
    deal = full.post(
        full.objects("deals"), {"properties": {"dealname": "x", "pipeline": "default", "dealstage": "closedwon"}}
    ).json()["id"]
    from sandbox.hubspot import state
    from sandbox.hubspot.models import Portal

    portal = Portal.objects.get(hub_id=full.hub_id)
    deals_only = state.token_issue(portal=portal, scopes=("oauth", "crm.objects.deals.read", "crm.objects.deals.write"))
    full.token = deals_only.token
    response = full.put(f"{full.record_associations('deals', deal)}/default/companies/1")
    assert response.json() == missing_scopes(
        response,
        "crm.objects.companies.read",
        "crm.objects.companies.sensitive.read.v2",
        "crm.objects.companies.highly_sensitive.read.v2",
        "crm.objects.companies.write",
        "crm.objects.companies.sensitive.write.v2",
        "crm.objects.companies.highly_sensitive.write.v2",
    )


@pytest.mark.parametrize(
    ("object_type", "feature"),
    [("projects", "projects"), ("subscriptions", "payments"), ("0-970", "projects"), ("subscription", "payments")],
)
def test_feature_gates(api_factory, object_type, feature):
    api = api_factory(**{feature: False})
    for response in (
        api.get(api.objects(object_type)),
        api.post(f"{api.objects(object_type)}/search", {}),
        api.get(api.properties(object_type)),
    ):
        assert (response.status_code, response.json()) == (
            403,
            error(response, f"The {feature} feature is not enabled for portal {api.hub_id}.", "FEATURE_NOT_ENABLED"),
        )
    assert api.get(api.objects("companies")).status_code == 200


def test_calls_without_a_valid_token_are_refused(v3):
    v3.token = "nope"
    response = v3.get(v3.objects("companies"))
    assert (response.status_code, response.json()["category"]) == (401, "INVALID_AUTHENTICATION")
