"""Properties and property groups of the fake HubSpot CRM, on both path styles."""

from __future__ import annotations

from tests.sandbox.hubspot_crm.conftest import error, invalid

NAME_RULE = "Names for properties should be lowercase and have less than 100 characters"


def _prop(name: str = "kleer_id", **overrides) -> dict:
    body = {"name": name, "label": "Kleer id", "type": "string", "fieldType": "text", "groupName": "companyinformation"}
    body.update(overrides)
    return body


def test_create_read_list_a_property(api, frozen):
    path = api.properties("companies")
    created = api.post(path, _prop(hasUniqueValue=True, description="Id in Kleer"))
    expected = {
        "updatedAt": frozen,
        "createdAt": frozen,
        "name": "kleer_id",
        "label": "Kleer id",
        "type": "string",
        "fieldType": "text",
        "description": "Id in Kleer",
        "groupName": "companyinformation",
        "options": [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": True,
        "hidden": False,
        "hubspotDefined": False,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        "formField": False,
        "dataSensitivity": "non_sensitive",
        "archived": False,
    }
    assert (created.status_code, created.json()) == (201, expected)
    assert api.get(f"{path}/kleer_id").json() == expected
    listed = api.get(path).json()["results"]
    assert expected in listed
    assert {p["name"] for p in listed} >= {"name", "domain", "hs_object_id", "createdate", "kleer_id"}
    picked = api.get(path, params={"properties": "kleer_id,name"}).json()["results"]
    assert [p["name"] for p in picked] == ["kleer_id", "name"]
    assert api.post(api.objects("companies"), {"properties": {"name": "A", "kleer_id": "1"}}).status_code == 201


def test_property_names_follow_hubspots_rule(v3):
    for name in ("Kleer_id", "kleer-id", "1kleer", "kleer.id", "k" * 101, ""):
        response = v3.post(v3.properties("companies"), _prop(name))
        assert response.status_code == 400, name
        assert response.json() == error(response, NAME_RULE, context={"name": [name]}), name
    assert v3.post(v3.properties("companies"), _prop("k" * 100)).status_code == 201


def test_type_field_type_options_and_group_are_validated(v3):
    path = v3.properties("deals")
    pairing = v3.post(path, _prop(groupName="dealinformation", fieldType="select"))
    assert pairing.json() == error(
        pairing,
        "fieldType 'select' is not valid for type string; use one of: "
        "calculation_equation, file, html, phonenumber, text, textarea",
    )
    bad_type = v3.post(path, _prop(groupName="dealinformation", type="json"))
    assert bad_type.status_code == 400
    no_options = v3.post(
        path, _prop("agreement_kind", groupName="dealinformation", type="enumeration", fieldType="select")
    )
    assert no_options.json() == error(no_options, "Enumeration properties need at least one option")
    no_group = v3.post(path, _prop(groupName="kleer"))
    assert no_group.json() == error(
        no_group, "Property group kleer does not exist on 0-3", context={"groupName": ["kleer"]}
    )
    options = [
        {"label": "Monthly", "value": "monthly", "displayOrder": 0, "hidden": False},
        {"label": "Yearly", "value": "yearly"},
    ]
    enum = v3.post(
        path,
        _prop("agreement_kind", groupName="dealinformation", type="enumeration", fieldType="select", options=options),
    )
    assert enum.status_code == 201
    assert enum.json()["options"] == [
        {"label": "Monthly", "value": "monthly", "displayOrder": 0, "hidden": False},
        {"label": "Yearly", "value": "yearly", "displayOrder": 1, "hidden": False},
    ]
    bool_prop = v3.post(
        path, _prop("kleer_synced", groupName="dealinformation", type="bool", fieldType="booleancheckbox")
    )
    assert [o["value"] for o in bool_prop.json()["options"]] == ["true", "false"]
    deal = v3.post(
        v3.objects("deals"),
        {"properties": {"dealname": "x", "pipeline": "default", "dealstage": "closedwon", "agreement_kind": "weekly"}},
    )
    assert deal.json() == invalid(
        deal,
        v3.hub_id,
        ("agreement_kind", "INVALID_OPTION", "weekly was not one of the allowed options: [monthly, yearly]"),
    )


def test_duplicates_and_the_unique_limit(api):
    path = api.properties("invoices")
    assert (
        api.post(path, _prop("kleer_invoice_id", groupName="invoiceinformation", hasUniqueValue=True)).status_code
        == 201
    )
    again = api.post(path, _prop("kleer_invoice_id", groupName="invoiceinformation"))
    assert (again.status_code, again.json()) == (
        409,
        error(again, "Property already exists", "OBJECT_ALREADY_EXISTS", context={"name": ["kleer_invoice_id"]}),
    )
    for index in range(9):
        created = api.post(path, _prop(f"unique_{index}", groupName="invoiceinformation", hasUniqueValue=True))
        assert created.status_code == 201
    eleventh = api.post(path, _prop("unique_10", groupName="invoiceinformation", hasUniqueValue=True))
    assert eleventh.json() == error(
        eleventh, "Object type 0-53 already has 10 unique value properties, the maximum allowed"
    )
    assert api.post(path, _prop("not_unique", groupName="invoiceinformation")).status_code == 201


def test_patch_cannot_change_name_type_or_uniqueness(api):
    path = api.properties("companies")
    api.post(path, _prop(hasUniqueValue=True))
    relabelled = api.patch(f"{path}/kleer_id", {"label": "Kleer customer id", "description": "from Kleer"})
    assert relabelled.status_code == 200
    assert (relabelled.json()["label"], relabelled.json()["description"]) == ("Kleer customer id", "from Kleer")
    for body, message in (
        ({"name": "kleer_no"}, "name cannot be changed once a property exists"),
        ({"hasUniqueValue": False}, "hasUniqueValue cannot be changed once a property exists"),
        ({"type": "number"}, "The type of property kleer_id cannot be changed (it is string)"),
        (
            {"fieldType": "select"},
            "fieldType 'select' is not valid for type string; use one of: "
            "calculation_equation, file, html, phonenumber, text, textarea",
        ),
    ):
        response = api.patch(f"{path}/kleer_id", body)
        assert (response.status_code, response.json()) == (400, error(response, message)), body
    defined = api.patch(f"{path}/name", {"label": "Name"})
    assert defined.json() == error(defined, "Property name is HubSpot-defined; its definition is read-only")


def test_archiving_properties(api):
    path = api.properties("companies")
    api.post(path, _prop(hasUniqueValue=True))
    api.post(api.objects("companies"), {"properties": {"name": "A", "kleer_id": "K-1"}})
    assert api.delete(f"{path}/kleer_id").status_code == 204
    gone = api.get(f"{path}/kleer_id")
    assert (gone.status_code, gone.json()) == (
        404,
        error(gone, "Property kleer_id does not exist", "OBJECT_NOT_FOUND", context={"name": ["kleer_id"]}),
    )
    assert api.get(f"{path}/kleer_id", params={"archived": "true"}).json()["archived"] is True
    write = api.post(api.objects("companies"), {"properties": {"name": "B", "kleer_id": "K-2"}})
    assert write.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    defined = api.delete(f"{path}/domain")
    assert defined.json() == error(defined, "Property domain is HubSpot-defined and cannot be archived")


def test_property_batches(api):
    path = api.properties("products")
    created = api.post(
        f"{path}/batch/create",
        {
            "inputs": [
                _prop("kleer_product_id", groupName="productinformation"),
                _prop("Bad", groupName="productinformation"),
            ]
        },
    )
    assert created.status_code == 207
    assert [p["name"] for p in created.json()["results"]] == ["kleer_product_id"]
    assert created.json()["errors"] == [
        {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": NAME_RULE,
            "context": {"name": ["Bad"]},
            "errors": [],
            "links": {},
        }
    ]
    ok = api.post(f"{path}/batch/create", {"inputs": [_prop("kleer_unit", groupName="productinformation")]})
    assert ok.status_code == 201
    read = api.post(f"{path}/batch/read", {"inputs": [{"name": "kleer_unit"}, {"name": "price"}], "archived": False})
    assert (read.status_code, [p["name"] for p in read.json()["results"]]) == (200, ["kleer_unit", "price"])
    partial = api.post(f"{path}/batch/read", {"inputs": [{"name": "kleer_unit"}, {"name": "nope"}], "archived": False})
    assert partial.status_code == 207
    assert partial.json()["errors"][0]["context"] == {"names": ["nope"]}
    archived = api.post(f"{path}/batch/archive", {"inputs": [{"name": "kleer_unit"}, {"name": "nope"}]})
    assert (archived.status_code, archived.content) == (204, b"")
    assert api.post(f"{path}/batch/archive", {"inputs": [{"name": "kleer_unit"}]}).status_code == 204
    # `archived` is a boolean: Jackson's "false" is false (not a truthy string), anything else is refused.
    live = api.post(f"{path}/batch/read", {"inputs": [{"name": "kleer_unit"}], "archived": "false"})
    assert (live.status_code, live.json()["errors"][0]["context"]) == (207, {"names": ["kleer_unit"]})
    gone = api.post(f"{path}/batch/read", {"inputs": [{"name": "kleer_unit"}], "archived": True})
    assert (gone.status_code, [p["name"] for p in gone.json()["results"]]) == (200, ["kleer_unit"])
    bad = api.post(f"{path}/batch/read", {"inputs": [{"name": "kleer_unit"}], "archived": "no"})
    assert (bad.status_code, bad.json()["message"]) == (
        400,
        "Invalid input JSON on line 1, column 1: archived must be true or false, not 'no'",
    )


def test_a_property_batch_fills_the_unique_limit_exactly_or_answers_the_one_past_it(api):
    """A batch is written in one go only when every input would succeed one by one: eight unique properties exist,
    two more fit, a third in the same batch gets the per-input error."""
    path = api.properties("invoices")
    for index in range(8):
        api.post(path, _prop(f"unique_{index}", groupName="invoiceinformation", hasUniqueValue=True))
    batch = [
        _prop(f"more_{index}", groupName="invoiceinformation", hasUniqueValue=True, description=f"D{index}")
        for index in range(3)
    ]
    too_many = api.post(f"{path}/batch/create", {"inputs": batch})
    assert too_many.status_code == 207
    assert [p["name"] for p in too_many.json()["results"]] == ["more_0", "more_1"]
    assert [e["message"] for e in too_many.json()["errors"]] == [
        "Object type 0-53 already has 10 unique value properties, the maximum allowed"
    ]
    api.delete(f"{path}/more_1")
    fits = api.post(f"{path}/batch/create", {"inputs": [batch[2], _prop("plain", groupName="invoiceinformation")]})
    assert (fits.status_code, [(p["name"], p["description"]) for p in fits.json()["results"]]) == (
        201,
        [("more_2", "D2"), ("plain", "")],
    )
    group = api.post(f"{path}/batch/create", {"inputs": [_prop("elsewhere", groupName="nope")]})
    missing = "Property group nope does not exist on 0-53"
    assert (group.status_code, group.json()["errors"][0]["message"]) == (207, missing)


def test_property_groups(api):
    path = f"{api.properties('companies')}/groups"
    assert api.get(path).json() == {
        "results": [
            {"name": "companyinformation", "label": "Company information", "displayOrder": 0, "archived": False}
        ]
    }
    created = api.post(path, {"name": "kleer", "label": "Kleer", "displayOrder": 5})
    assert (created.status_code, created.json()) == (
        201,
        {"name": "kleer", "label": "Kleer", "displayOrder": 5, "archived": False},
    )
    again = api.post(path, {"name": "kleer", "label": "Kleer"})
    assert again.json() == error(
        again, "Property group already exists", "OBJECT_ALREADY_EXISTS", context={"name": ["kleer"]}
    )
    assert api.patch(f"{path}/kleer", {"label": "Kleer sync"}).json()["label"] == "Kleer sync"
    assert api.get(f"{path}/kleer").json()["label"] == "Kleer sync"
    api.post(api.properties("companies"), _prop(groupName="kleer"))
    busy = api.delete(f"{path}/kleer")
    assert busy.json() == error(busy, "Property group kleer still holds properties: kleer_id")
    api.delete(f"{api.properties('companies')}/kleer_id")
    assert api.delete(f"{path}/kleer").status_code == 204
    assert api.get(f"{path}/kleer").status_code == 404
    defined = api.delete(f"{path}/companyinformation")
    assert defined.json() == error(
        defined, "Property group companyinformation is HubSpot-defined and cannot be deleted"
    )


def test_pipeline_properties_list_pipelines_and_stages(v3):
    pipeline = v3.get(f"{v3.properties('deals')}/pipeline").json()
    assert (pipeline["type"], pipeline["options"]) == (
        "enumeration",
        [{"label": "Sales Pipeline", "value": "default", "displayOrder": 0, "hidden": False}],
    )
    stages = v3.get(f"{v3.properties('deals')}/dealstage").json()["options"]
    assert [o["value"] for o in stages][:2] == ["appointmentscheduled", "qualifiedtobuy"]


BAD_JSON = "Invalid input JSON on line 1, column 1: "


def test_malformed_definition_fields_answer_400_not_500(v3):
    """Non-integer displayOrder used to reach int() and answer 500, which a client retries as a server error."""
    path = v3.properties("companies")
    cases = [
        (lambda: v3.post(path, _prop("a1", displayOrder="first")), "displayOrder must be an integer, not 'first'"),
        (lambda: v3.post(path, _prop("a2", hasUniqueValue="yes")), "hasUniqueValue must be true or false, not 'yes'"),
        (
            lambda: v3.post(
                path,
                _prop(
                    "a3", type="enumeration", fieldType="select", options=[{"label": "A", "value": "a", "hidden": 1}]
                ),
            ),
            "hidden must be true or false, not 1",
        ),
        (
            lambda: v3.post(f"{path}/groups", {"name": "g1", "label": "G", "displayOrder": 1.5}),
            "displayOrder must be an integer, not 1.5",
        ),
        (lambda: v3.patch(f"{path}/kleer_id", {"displayOrder": "x"}), "displayOrder must be an integer, not 'x'"),
        (lambda: v3.post(f"{path}/batch/read", {"inputs": [1]}), "batch input must be a JSON object"),
        (
            lambda: v3.post(f"{path}/batch/archive", {"inputs": [{"name": ["kleer_id"]}]}),
            "name must be a string, not ['kleer_id']",
        ),
    ]
    assert v3.post(path, _prop(displayOrder="3", hasUniqueValue="true")).status_code == 201
    for call, message in cases:
        response = call()
        assert (response.status_code, response.json()) == (400, error(response, BAD_JSON + message)), message
    kept = v3.get(f"{path}/kleer_id").json()
    assert (kept["displayOrder"], kept["hasUniqueValue"], kept["archived"]) == (3, True, False)
