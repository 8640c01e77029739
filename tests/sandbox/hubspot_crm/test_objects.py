"""Basic object endpoints of the fake HubSpot CRM, over real HTTP, on both path styles."""

from __future__ import annotations

from tests.sandbox.hubspot_crm.conftest import error, invalid

ACME = {"name": "Acme AB", "domain": "acme.se"}


def test_create_read_update_archive_a_company(api, frozen):
    t, path = frozen, api.objects("companies")
    created = api.post(path, {"properties": ACME})
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json;charset=utf-8"
    record = {
        "id": "1000000001",
        "properties": {
            "createdate": t,
            "domain": "acme.se",
            "hs_lastmodifieddate": t,
            "hs_object_id": "1000000001",
            "name": "Acme AB",
        },
        "createdAt": t,
        "updatedAt": t,
        "archived": False,
    }
    assert created.json() == record

    read = api.get(f"{path}/1000000001")
    assert (read.status_code, read.json()) == (200, record)

    picked = api.get(f"{path}/1000000001", params={"properties": "city,name,no_such_property"})
    assert picked.json()["properties"] == {"city": None, "name": "Acme AB"}

    updated = api.patch(f"{path}/1000000001", {"properties": {"city": "Lund", "domain": ""}})
    assert updated.status_code == 200
    assert updated.json()["properties"] == {
        "city": "Lund",
        "createdate": t,
        "hs_lastmodifieddate": t,
        "hs_object_id": "1000000001",
        "name": "Acme AB",
    }

    assert api.delete(f"{path}/1000000001").status_code == 204
    gone = api.get(f"{path}/1000000001")
    assert (gone.status_code, gone.json()) == (404, error(gone, "resource not found", "OBJECT_NOT_FOUND"))
    archived = api.get(f"{path}/1000000001", params={"archived": "true"})
    assert archived.status_code == 200
    assert (archived.json()["archived"], archived.json()["archivedAt"]) == (True, t)


def test_an_unknown_property_is_refused_with_hubspots_body(api):
    response = api.post(api.objects("companies"), {"properties": {"name": "Acme", "kleer_id": "17"}})
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": (
            'Property values were not valid: [{"isValid":false,"message":"Property \\"kleer_id\\" does not exist",'
            '"error":"PROPERTY_DOESNT_EXIST","name":"kleer_id","localizedErrorMessage":"Property \\"kleer_id\\" '
            f'does not exist","portalId":{api.hub_id}}}]'
        ),
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "category": "VALIDATION_ERROR",
        "errors": [
            {
                "message": 'Property "kleer_id" does not exist',
                "code": "PROPERTY_DOESNT_EXIST",
                "context": {"propertyName": ["kleer_id"]},
            }
        ],
    }
    assert api.get(api.objects("companies")).json() == {"results": []}


def test_read_only_properties_cannot_be_written(v3):
    response = v3.post(v3.objects("companies"), {"properties": {"name": "Acme", "hs_object_id": "5"}})
    assert response.status_code == 400
    assert response.json() == invalid(
        response,
        v3.hub_id,
        ("hs_object_id", "READ_ONLY_VALUE", 'Property "hs_object_id" is read-only; its value cannot be set'),
    )


def test_required_properties_per_type(v3):
    cases = [
        ("companies", {"city": "Lund"}, [("name", "name or domain is required to create a company")]),
        (
            "deals",
            {"dealname": "Agreement 7"},
            [
                ("pipeline", "pipeline is required to create a deal"),
                ("dealstage", "dealstage is required to create a deal"),
            ],
        ),
        ("invoices", {"hs_comments": "x"}, [("hs_currency", "hs_currency is required to create a invoice")]),
        ("subscriptions", {"hs_status": "active"}, [("hs_name", "hs_name is required to create a subscription")]),
        (
            "projects",
            {"hs_description": "x"},
            [
                ("hs_name", "hs_name is required to create a project"),
                ("hs_pipeline", "hs_pipeline is required to create a project"),
                ("hs_pipeline_stage", "hs_pipeline_stage is required to create a project"),
            ],
        ),
    ]
    for object_type, properties, problems in cases:
        response = v3.post(v3.objects(object_type), {"properties": properties})
        assert response.status_code == 400, object_type
        expected = [(name, "REQUIRED_PROPERTY", message) for name, message in problems]
        assert response.json() == invalid(response, v3.hub_id, *expected), object_type
    assert v3.post(v3.objects("companies"), {"properties": {"domain": "only-domain.se"}}).status_code == 201
    assert v3.post(v3.objects("contacts"), {"properties": {}}).status_code == 201


def test_deal_pipeline_and_stage_are_validated(api):
    path = api.objects("deals")
    wrong_pipeline = api.post(path, {"properties": {"dealname": "A", "pipeline": "nope", "dealstage": "closedwon"}})
    assert wrong_pipeline.json() == invalid(
        wrong_pipeline, api.hub_id, ("pipeline", "INVALID_OPTION", "nope was not one of the allowed options: [default]")
    )
    wrong_stage = api.post(path, {"properties": {"dealname": "A", "pipeline": "default", "dealstage": "won"}})
    stages = (
        "appointmentscheduled, qualifiedtobuy, presentationscheduled, decisionmakerboughtin, contractsent, "
        "closedwon, closedlost"
    )
    assert wrong_stage.json() == invalid(
        wrong_stage,
        api.hub_id,
        ("dealstage", "INVALID_OPTION", f"won was not one of the allowed options: [{stages}]"),
    )
    created = api.post(path, {"properties": {"dealname": "A", "pipeline": "default", "dealstage": "closedwon"}})
    assert created.status_code == 201
    moved = api.patch(f"{path}/{created.json()['id']}", {"properties": {"dealstage": "bogus"}})
    assert moved.status_code == 400
    assert moved.json()["errors"][0]["code"] == "INVALID_OPTION"


def test_values_are_coerced_by_type(v3):
    path = v3.objects("line_items")
    response = v3.post(
        path,
        {
            "properties": {
                "quantity": "12,5",
                "recurringbillingfrequency": "fortnightly",
                "hs_recurring_billing_start_date": "1704456000000",
                "hs_recurring_billing_end_date": "2024-02-30",
            }
        },
    )
    assert response.status_code == 400
    assert response.json() == invalid(
        response,
        v3.hub_id,
        ("quantity", "INVALID_INTEGER", "12,5 was not a valid number."),
        (
            "recurringbillingfrequency",
            "INVALID_OPTION",
            "fortnightly was not one of the allowed options: "
            "[weekly, biweekly, monthly, quarterly, per_six_months, annually, per_two_years, "
            "per_three_years, per_four_years, per_five_years]",
        ),
        ("hs_recurring_billing_start_date", "INVALID_DATE", "1704456000000 is at 12:0:0.0 UTC, not midnight!"),
        (
            "hs_recurring_billing_end_date",
            "INVALID_DATE",
            "2024-02-30 is not a valid date; use YYYY-MM-DD or ms at midnight UTC.",
        ),
    )
    invoice = v3.post(v3.objects("invoices"), {"properties": {"hs_currency": "SEK", "hs_invoice_billable": "yes"}})
    assert invoice.json() == invalid(
        invoice,
        v3.hub_id,
        ("hs_invoice_billable", "INVALID_BOOLEAN", "yes was not a valid boolean; use true or false."),
    )
    bad_time = v3.post(v3.objects("deals"), {"properties": {"dealname": "x", "closedate": "next week"}})
    assert bad_time.json()["errors"][0] == {
        "message": "next week is not a valid datetime; use ISO-8601 or ms since epoch.",
        "code": "INVALID_DATETIME",
        "context": {"propertyName": ["closedate"]},
    }


def test_valid_values_are_stored_as_hubspot_strings(v3):
    created = v3.post(
        v3.objects("line_items"),
        {
            "properties": {
                "quantity": 2,
                "price": 10.5,
                "hs_recurring_billing_start_date": "1704412800000",
                "hs_recurring_billing_end_date": "2024-12-31",
            }
        },
    )
    assert created.status_code == 201
    props = created.json()["properties"]
    assert (props["quantity"], props["price"], props["amount"]) == ("2", "10.5", "21")
    assert props["hs_recurring_billing_start_date"] == "2024-01-05"
    assert props["hs_recurring_billing_end_date"] == "2024-12-31"
    deal = v3.post(
        v3.objects("deals"),
        {
            "properties": {
                "dealname": "x",
                "pipeline": "default",
                "dealstage": "closedwon",
                "closedate": "1704456000123",
            }
        },
    )
    assert deal.json()["properties"]["closedate"] == "2024-01-05T12:00:00.123Z"
    iso = v3.patch(
        f"{v3.objects('deals')}/{deal.json()['id']}", {"properties": {"closedate": "2024-03-01T08:00:00+01:00"}}
    )
    assert iso.json()["properties"]["closedate"] == "2024-03-01T07:00:00.000Z"


def test_line_items_refuse_negative_prices_and_compute_amount(api):
    path = api.objects("line_items")
    negative = api.post(path, {"properties": {"name": "Credit", "price": "-100", "quantity": "1"}})
    assert negative.status_code == 400
    assert negative.json() == invalid(negative, api.hub_id, ("price", "INVALID_PRICE", "price cannot be negative"))
    written = api.post(path, {"properties": {"name": "Hours", "price": "100", "quantity": "3", "amount": "1"}})
    assert written.json()["errors"][0]["code"] == "READ_ONLY_VALUE"
    line = api.post(path, {"properties": {"name": "Hours", "price": "100.50", "quantity": "3", "discount": "0.5"}})
    assert line.json()["properties"]["amount"] == "300"
    pct = api.patch(f"{path}/{line.json()['id']}", {"properties": {"discount": "", "hs_discount_percentage": "10"}})
    assert pct.json()["properties"]["amount"] == "271.35"


def test_line_items_inherit_from_their_product(v3):
    product = v3.post(v3.objects("products"), {"properties": {"name": "Consulting", "price": "1200", "hs_sku": "C-1"}})
    line = v3.post(v3.objects("line_items"), {"properties": {"hs_product_id": product.json()["id"], "quantity": "2"}})
    props = line.json()["properties"]
    assert (props["name"], props["price"], props["hs_sku"], props["amount"]) == ("Consulting", "1200", "C-1", "2400")
    missing = v3.post(v3.objects("line_items"), {"properties": {"hs_product_id": "999", "quantity": "1"}})
    assert missing.json() == invalid(
        missing, v3.hub_id, ("hs_product_id", "INVALID_OBJECT_ID", "Product 999 does not exist")
    )


def test_invoice_defaults_and_status_rules(api, frozen):
    path = api.objects("invoices")
    invoice = api.post(path, {"properties": {"hs_currency": "SEK"}})
    assert invoice.status_code == 201
    invoice_id = invoice.json()["id"]
    assert invoice.json()["properties"] == {
        "createdate": frozen,
        "hs_createdate": frozen,
        "hs_currency": "SEK",
        "hs_due_date": frozen,
        "hs_invoice_billable": "true",
        "hs_invoice_date": frozen,
        "hs_invoice_link": f"https://invoices.hubspot.example/{api.hub_id}/{invoice_id}",
        "hs_invoice_status": "draft",
        "hs_lastmodifieddate": frozen,
        "hs_object_id": invoice_id,
    }
    opened = api.patch(f"{path}/{invoice_id}", {"properties": {"hs_invoice_status": "open"}})
    assert opened.status_code == 400
    assert opened.json() == error(
        opened,
        "A billable invoice can only be open when it is associated with exactly one contact and at least one line "
        "item (it has 0 contacts and 0 line items).",
    )
    outside = api.post(path, {"properties": {"hs_currency": "EUR", "hs_invoice_billable": "false"}})
    assert "hs_invoice_link" not in outside.json()["properties"]
    paid = api.patch(f"{path}/{outside.json()['id']}", {"properties": {"hs_invoice_status": "paid"}})
    assert paid.status_code == 200
    refused = api.delete(f"{path}/{outside.json()['id']}")
    assert refused.json() == error(
        refused, f"Invoice {outside.json()['id']} is paid; only draft or open invoices can be deleted."
    )
    assert api.delete(f"{path}/{invoice_id}").status_code == 204


def test_a_billable_invoice_opens_with_one_contact_and_a_line_item(v3):
    contact = v3.post(v3.objects("contacts"), {"properties": {"email": "anna@acme.se"}}).json()["id"]
    line = v3.post(v3.objects("line_items"), {"properties": {"name": "x", "price": "1"}}).json()["id"]
    body = {
        "properties": {"hs_currency": "SEK", "hs_invoice_status": "open"},
        "associations": [
            {"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 177}]},
            {"to": {"id": line}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 409}]},
        ],
    }
    opened = v3.post(v3.objects("invoices"), body)
    assert opened.status_code == 201
    assert opened.json()["properties"]["hs_invoice_status"] == "open"


def test_subscriptions_start_without_invoice_creation(v3):
    path = v3.objects("subscriptions")
    created = v3.post(path, {"properties": {"hs_name": "Support plan", "hs_status": "active"}})
    assert created.json()["properties"]["hs_invoice_creation"] == "off"
    sub_id = created.json()["id"]
    assert v3.patch(f"{path}/{sub_id}", {"properties": {"hs_invoice_creation": "on"}}).status_code == 200
    refused = v3.delete(f"{path}/{sub_id}")
    assert refused.json() == error(
        refused, f"Subscription {sub_id} is billable; it can only be deleted once it has expired or been canceled."
    )
    v3.patch(f"{path}/{sub_id}", {"properties": {"hs_status": "canceled"}})
    assert v3.delete(f"{path}/{sub_id}").status_code == 204


def test_list_pages_with_an_opaque_cursor(api):
    path = api.objects("products")
    ids = [api.post(path, {"properties": {"name": f"P{i}"}}).json()["id"] for i in range(3)]
    first = api.get(path, params={"limit": 2, "properties": "name"})
    body = first.json()
    assert [r["id"] for r in body["results"]] == ids[:2]
    assert body["results"][0]["properties"] == {"name": "P0"}
    after = body["paging"]["next"]["after"]
    assert after not in ids and not after.isdigit()
    assert body["paging"]["next"]["link"] == f"{api.url(path)}?limit=2&properties=name&after={after}"
    second = api.get(path, params={"limit": 2, "after": after}).json()
    assert [r["id"] for r in second["results"]] == ids[2:]
    assert "paging" not in second
    assert len(api.get(path, params={"limit": 500}).json()["results"]) == 3
    bad = api.get(path, params={"after": "12"})
    assert bad.json() == error(bad, "Invalid paging cursor after='12'")
    api.delete(f"{path}/{ids[0]}")
    assert [r["id"] for r in api.get(path, params={"archived": "true"}).json()["results"]] == ids[:1]


def test_read_and_patch_by_a_unique_id_property(api):
    created = api.post(
        api.properties("companies"),
        {
            "name": "kleer_id",
            "label": "Kleer id",
            "type": "string",
            "fieldType": "text",
            "groupName": "companyinformation",
            "hasUniqueValue": True,
        },
    )
    assert created.status_code == 201
    path = api.objects("companies")
    company = api.post(path, {"properties": {"name": "Acme", "kleer_id": "K-1"}}).json()
    read = api.get(f"{path}/K-1", params={"idProperty": "kleer_id", "properties": "kleer_id"})
    assert read.json()["id"] == company["id"]
    assert read.json()["properties"] == {"kleer_id": "K-1"}
    patched = api.patch(f"{path}/K-1", {"properties": {"city": "Malmö"}}, params={"idProperty": "kleer_id"})
    assert patched.json()["properties"]["city"] == "Malmö"
    by_domain = api.get(f"{path}/acme.se", params={"idProperty": "domain"})
    assert by_domain.json() == error(by_domain, "Unable to perform read by non-unique 0-2 property domain")
    patch_by_name = api.patch(f"{path}/Acme", {"properties": {"city": "x"}}, params={"idProperty": "name"})
    assert patch_by_name.json() == error(
        patch_by_name, "Unable to perform update/upsert by non-unique 0-2 property name"
    )
    duplicate = api.post(path, {"properties": {"name": "Other", "kleer_id": "K-1"}})
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == [
        {
            "message": f"K-1 already has that value on 0-2 {company['id']}",
            "code": "INVALID_UNIQUE_VALUE",
            "context": {"propertyName": ["kleer_id"]},
        }
    ]
    assert duplicate.json()["context"] == {"existingId": [company["id"]]}


def test_contacts_email_is_unique_like_hubspot(v3):
    first = v3.post(v3.objects("contacts"), {"properties": {"email": "Anna@Acme.se"}}).json()["id"]
    again = v3.post(v3.objects("contacts"), {"properties": {"email": "anna@acme.se"}})
    assert again.status_code == 409
    assert again.json() == error(
        again, f"Contact already exists. Existing ID: {first}", "CONFLICT", context={"existingId": [first]}
    )


def test_get_with_associations_and_history(v3, frozen):
    company = v3.post(v3.objects("companies"), {"properties": {"name": "Acme"}}).json()["id"]
    deal = v3.post(
        v3.objects("deals"),
        {
            "properties": {"dealname": "D", "pipeline": "default", "dealstage": "closedwon"},
            "associations": [
                {
                    "to": {"id": company},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}],
                },
                {"to": {"id": company}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]},
            ],
        },
    ).json()["id"]
    v3.patch(f"{v3.objects('companies')}/{company}", {"properties": {"name": "Acme AB"}})
    read = v3.get(
        f"{v3.objects('companies')}/{company}",
        params={"associations": "deals,contacts", "propertiesWithHistory": "name", "properties": "name"},
    )
    body = read.json()
    assert body["associations"] == {
        "deals": {
            "results": [{"id": deal, "type": "company_to_deal"}, {"id": deal, "type": "company_to_deal_unlabeled"}]
        }
    }
    assert body["propertiesWithHistory"] == {
        "name": [
            {"value": "Acme AB", "timestamp": frozen, "sourceType": "API"},
            {"value": "Acme", "timestamp": frozen, "sourceType": "API"},
        ]
    }


def test_aliases_share_one_store_and_unknown_types_are_refused(api):
    created = api.post(api.objects("company"), {"properties": {"name": "Acme"}}).json()["id"]
    assert api.get(f"{api.objects('0-2')}/{created}").status_code == 200
    assert api.get(f"{api.objects('companies')}/{created}").status_code == 200
    unknown = api.get(api.objects("widgets"))
    assert (unknown.status_code, unknown.json()) == (400, error(unknown, "Unable to infer object type from: widgets"))


def test_projects_also_answer_on_their_spec_spelling(v3):
    pipeline = v3.get(v3.pipelines("projects")).json()["results"][0]
    body = {
        "properties": {
            "hs_name": "Build",
            "hs_pipeline": pipeline["id"],
            "hs_pipeline_stage": pipeline["stages"][0]["id"],
        }
    }
    created = v3.post("/crm/objects/v3/projects", body)
    assert created.status_code == 201
    assert v3.get(f"/crm/v3/objects/0-970/{created.json()['id']}").status_code == 200


def test_unknown_body_fields_are_refused(v3):
    response = v3.post(v3.objects("companies"), {"properties": {"name": "x"}, "idProperty": "name"})
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        'Invalid input JSON on line 1, column 1: Unrecognized field "idProperty"'
    )
    broken = v3.call(
        "POST", v3.objects("companies"), data=b'{"properties": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400


def test_merge_moves_associations_and_archives_the_other(v3):
    path = v3.objects("companies")
    primary = v3.post(path, {"properties": {"name": "Acme"}}).json()["id"]
    other = v3.post(path, {"properties": {"name": "Acme dup", "city": "Lund"}}).json()["id"]
    deal = v3.post(
        v3.objects("deals"),
        {
            "properties": {"dealname": "D", "pipeline": "default", "dealstage": "closedwon"},
            "associations": [
                {"to": {"id": other}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}
            ],
        },
    ).json()["id"]
    merged = v3.post(f"{path}/merge", {"primaryObjectId": primary, "objectIdToMerge": other})
    assert merged.status_code == 200
    assert (merged.json()["properties"]["name"], merged.json()["properties"]["city"]) == ("Acme", "Lund")
    assert v3.get(f"{path}/{other}").status_code == 404
    listed = v3.get(f"{v3.record_associations('deals', deal)}/companies").json()
    assert listed["results"] == [
        {
            "toObjectId": v3.oid(primary),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}],
        }
    ]


def test_a_list_limit_over_100_is_refused_when_the_fake_is_set_to_reject(v3, monkeypatch):
    """§10.4 leaves "capped at 100 [or 400]" open; `LIST_OVER_MAX` is the one switch (the default caps)."""
    from sandbox.hubspot_crm.views import objects as views

    path = v3.objects("companies")
    assert v3.get(path, params={"limit": 101}).status_code == 200
    monkeypatch.setattr(views, "LIST_OVER_MAX", "reject")
    refused = v3.get(path, params={"limit": 101})
    assert (refused.status_code, refused.json()) == (400, error(refused, "limit must be at most 100; got 101"))
    assert v3.get(path, params={"limit": 100}).status_code == 200


def test_product_required_properties_are_configurable(v3, monkeypatch):
    """§2.1 marks the strict product list [unverified]; `registry.PRODUCT_REQUIRED` switches it on."""
    from sandbox.hubspot_crm import registry

    path = v3.objects("products")
    assert v3.post(path, {"properties": {"hs_sku": "S-1"}}).status_code == 201
    monkeypatch.setattr(registry, "PRODUCT_REQUIRED", (("name",), ("price",)))
    refused = v3.post(path, {"properties": {"hs_sku": "S-2"}})
    assert refused.json() == invalid(
        refused,
        v3.hub_id,
        ("name", "REQUIRED_PROPERTY", "name is required to create a product"),
        ("price", "REQUIRED_PROPERTY", "price is required to create a product"),
    )
    assert v3.post(path, {"properties": {"name": "Hour", "price": "100"}}).status_code == 201
