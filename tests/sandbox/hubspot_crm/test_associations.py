"""Associations (v4 and date-versioned): inverse edges, labels, batches and HubSpot's business rules."""

from __future__ import annotations

from tests.sandbox.hubspot_crm.conftest import Api, error

HS = "HUBSPOT_DEFINED"


def _make(api: Api, object_type: str, **props: str) -> str:
    response = api.post(api.objects(object_type), {"properties": props})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _deal(api: Api, name: str = "Agreement") -> str:
    return _make(api, "deals", dealname=name, pipeline="default", dealstage="contractsent")


def _types(*pairs: tuple[int, str | None]) -> list[dict]:
    return [{"category": HS, "typeId": type_id, "label": label} for type_id, label in pairs]


def test_default_association_stores_the_inverse(api, frozen):
    company, deal = _make(api, "companies", name="Acme"), _deal(api)
    response = api.put(f"{api.record_associations('deals', deal)}/default/companies/{company}")
    assert (response.status_code, response.json()) == (
        200,
        {
            "status": "COMPLETE",
            "results": [
                {
                    "from": {"id": deal},
                    "to": {"id": company},
                    "associationSpec": {"associationCategory": HS, "associationTypeId": 341},
                },
                {
                    "from": {"id": company},
                    "to": {"id": deal},
                    "associationSpec": {"associationCategory": HS, "associationTypeId": 342},
                },
            ],
            "startedAt": frozen,
            "completedAt": frozen,
        },
    )
    inverse = api.get(f"{api.record_associations('company', company)}/deal")
    assert inverse.json() == {"results": [{"toObjectId": api.oid(deal), "associationTypes": _types((342, None))}]}
    forward = api.get(f"{api.record_associations('0-3', deal)}/0-2")
    assert forward.json() == {"results": [{"toObjectId": api.oid(company), "associationTypes": _types((341, None))}]}


def test_labelled_associations_and_invalid_types(api):
    company, deal = _make(api, "companies", name="Acme"), _deal(api)
    path = f"{api.record_associations('deals', deal)}/companies/{company}"
    labelled = api.put(path, [{"associationCategory": HS, "associationTypeId": 5}])
    assert (labelled.status_code, labelled.json()) == (
        201,
        {
            "fromObjectTypeId": "0-3",
            "fromObjectId": api.oid(deal),
            "toObjectTypeId": "0-2",
            "toObjectId": api.oid(company),
            "labels": ["Primary"],
        },
    )
    inverse = api.get(f"{api.record_associations('companies', company)}/deals").json()
    assert inverse == {"results": [{"toObjectId": api.oid(deal), "associationTypes": _types((6, "Primary"))}]}
    wrong = api.put(path, [{"associationCategory": HS, "associationTypeId": 20}])
    assert (wrong.status_code, wrong.json()) == (
        400,
        error(
            wrong,
            "HUBSPOT_DEFINED association type 20 is not valid from 0-3 to 0-2",
            context={"associationTypeId": ["20"]},
        ),
    )
    user = api.put(path, [{"associationCategory": "USER_DEFINED", "associationTypeId": 5}])
    assert user.json()["message"] == "USER_DEFINED association type 5 is not valid from 0-3 to 0-2"
    missing = api.put(
        f"{api.record_associations('deals', deal)}/companies/999",
        [{"associationCategory": HS, "associationTypeId": 341}],
    )
    assert (missing.status_code, missing.json()) == (
        404,
        error(missing, "No COMPANY with id 999 exists", "OBJECT_NOT_FOUND", context={"ids": ["999"]}),
    )
    assert api.delete(path).status_code == 204
    assert api.get(f"{api.record_associations('companies', company)}/deals").json() == {"results": []}
    assert api.get(f"{api.record_associations('deals', deal)}/companies").json() == {"results": []}


def test_listing_pages_through_associations(v3):
    company = _make(v3, "companies", name="Acme")
    deals = [_deal(v3, f"D{i}") for i in range(3)]
    for deal in deals:
        v3.put(f"{v3.record_associations('companies', company)}/default/deals/{deal}")
    path = f"{v3.record_associations('companies', company)}/deals"
    first = v3.get(path, params={"limit": 2}).json()
    assert [r["toObjectId"] for r in first["results"]] == [v3.oid(d) for d in deals[:2]]
    after = first["paging"]["next"]["after"]
    assert first["paging"]["next"]["link"] == f"{v3.url(path)}?limit=2&after={after}"
    rest = v3.get(path, params={"limit": 2, "after": after}).json()
    assert (rest["results"][0]["toObjectId"], "paging" in rest) == (v3.oid(deals[2]), False)
    too_many = v3.get(path, params={"limit": 501})
    assert too_many.json() == error(too_many, "limit must be between 1 and 500")


def test_products_cannot_be_associated(api):
    product, line = _make(api, "products", name="Consulting"), _make(api, "line_items", name="x")
    refused = api.put(f"{api.record_associations('line_items', line)}/default/products/{product}")
    assert (refused.status_code, refused.json()) == (
        400,
        error(
            refused, "Products can't be associated with other objects. Create a line item with hs_product_id instead."
        ),
    )
    inline = api.post(
        api.objects("products"),
        {
            "properties": {"name": "y"},
            "associations": [{"to": {"id": line}, "types": [{"associationCategory": HS, "associationTypeId": 20}]}],
        },
    )
    assert inline.json()["message"].startswith("Products can't be associated")


def test_a_line_item_has_one_parent(api):
    line, first, second = _make(api, "line_items", name="Hours"), _deal(api, "A"), _deal(api, "B")
    invoice = _make(api, "invoices", hs_currency="SEK")
    assert api.put(f"{api.record_associations('line_items', line)}/default/deals/{first}").status_code == 200
    assert api.put(f"{api.record_associations('line_items', line)}/default/deals/{first}").status_code == 200
    for path in (
        f"{api.record_associations('line_items', line)}/default/deals/{second}",
        f"{api.record_associations('invoices', invoice)}/default/line_items/{line}",
    ):
        refused = api.put(path)
        assert (refused.status_code, refused.json()) == (
            400,
            error(
                refused,
                f"Line item {line} already belongs to deal {first}; a line item can belong to only one deal, "
                "invoice, quote or subscription. Create a separate line item instead.",
            ),
        ), path


def test_batch_associate_default_and_create(api, frozen):
    company, deal, contact = _make(api, "companies", name="Acme"), _deal(api), _make(api, "contacts", email="a@acme.se")
    default = api.post(
        f"{api.associations('deals', 'companies')}/batch/associate/default",
        {"inputs": [{"from": {"id": deal}, "to": {"id": company}}, {"from": {"id": deal}, "to": {"id": "999"}}]},
    )
    assert default.status_code == 207
    assert default.json() == {
        "status": "COMPLETE",
        "results": [
            {
                "from": {"id": deal},
                "to": {"id": company},
                "associationSpec": {"associationCategory": HS, "associationTypeId": 341},
            },
            {
                "from": {"id": company},
                "to": {"id": deal},
                "associationSpec": {"associationCategory": HS, "associationTypeId": 342},
            },
        ],
        "numErrors": 1,
        "errors": [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "No COMPANY with id 999 exists",
                "context": {"ids": ["999"], "fromObjectId": [deal], "toObjectId": ["999"]},
                "errors": [],
                "links": {},
            }
        ],
        "startedAt": frozen,
        "completedAt": frozen,
    }
    created = api.post(
        f"{api.associations('deals', 'contacts')}/batch/create",
        {
            "inputs": [
                {
                    "from": {"id": deal},
                    "to": {"id": contact},
                    "types": [{"associationCategory": HS, "associationTypeId": 3}],
                }
            ]
        },
    )
    assert (created.status_code, created.json()["results"]) == (
        201,
        [
            {
                "fromObjectTypeId": "0-3",
                "fromObjectId": api.oid(deal),
                "toObjectTypeId": "0-1",
                "toObjectId": api.oid(contact),
                "labels": [],
            }
        ],
    )
    wrong = api.post(
        f"{api.associations('deals', 'contacts')}/batch/create",
        {
            "inputs": [
                {
                    "from": {"id": deal},
                    "to": {"id": contact},
                    "types": [{"associationCategory": HS, "associationTypeId": 4}],
                }
            ]
        },
    )
    assert wrong.status_code == 207
    assert wrong.json()["errors"][0]["message"] == "HUBSPOT_DEFINED association type 4 is not valid from 0-3 to 0-1"


def test_batch_read_reports_records_without_associations(api):
    company, deal, lonely = _make(api, "companies", name="Acme"), _deal(api), _deal(api, "Lonely")
    api.put(f"{api.record_associations('deals', deal)}/default/companies/{company}")
    response = api.post(
        f"{api.associations('deals', 'companies')}/batch/read", {"inputs": [{"id": deal}, {"id": lonely}]}
    )
    assert response.status_code == 207
    body = response.json()
    assert body["results"] == [
        {"from": {"id": deal}, "to": [{"toObjectId": api.oid(company), "associationTypes": _types((341, None))}]}
    ]
    assert body["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"No company is associated with deal {lonely}.",
            "context": {"fromObjectId": [lonely]},
            "errors": [],
            "links": {},
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        }
    ]
    ok = api.post(f"{api.associations('companies', 'deals')}/batch/read", {"inputs": [{"id": company}]})
    assert (ok.status_code, ok.json()["results"][0]["to"][0]["toObjectId"]) == (200, api.oid(deal))


def test_batch_archive_answers_per_spec_version(api, frozen):
    company, deal = _make(api, "companies", name="Acme"), _deal(api)
    api.put(f"{api.record_associations('deals', deal)}/default/companies/{company}")
    archived = api.post(
        f"{api.associations('deals', 'companies')}/batch/archive",
        {"inputs": [{"from": {"id": deal}, "to": [{"id": company}]}]},
    )
    if api.style == "v3":
        assert (archived.status_code, archived.content) == (204, b"")
    else:
        assert (archived.status_code, archived.json()) == (
            200,
            {"status": "COMPLETE", "results": [], "startedAt": frozen, "completedAt": frozen},
        )
    assert api.get(f"{api.record_associations('companies', company)}/deals").json() == {"results": []}


def test_batch_labels_archive(v3):
    company, deal = _make(v3, "companies", name="Acme"), _deal(v3)
    path = f"{v3.record_associations('deals', deal)}/companies/{company}"
    v3.put(
        path,
        [{"associationCategory": HS, "associationTypeId": 341}, {"associationCategory": HS, "associationTypeId": 5}],
    )
    labels = f"{v3.associations('deals', 'companies')}/batch/labels/archive"
    primary = [{"associationCategory": HS, "associationTypeId": 5}]
    assert (
        v3.post(labels, {"inputs": [{"from": {"id": deal}, "to": {"id": company}, "types": primary}]}).status_code
        == 204
    )
    assert v3.get(f"{v3.record_associations('companies', company)}/deals").json()["results"] == [
        {"toObjectId": v3.oid(deal), "associationTypes": _types((342, None))}
    ]
    unlabelled = [{"associationCategory": HS, "associationTypeId": 341}]
    v3.post(labels, {"inputs": [{"from": {"id": deal}, "to": {"id": company}, "types": unlabelled}]})
    assert v3.get(f"{v3.record_associations('deals', deal)}/companies").json() == {"results": []}


def test_association_labels_between_types(api):
    response = api.get(f"{api.associations('deals', 'companies')}/labels")
    assert response.json() == {"results": _types((341, None), (5, "Primary"))}
    invoices = api.get(f"{api.associations('invoices', 'line_items')}/labels")
    assert invoices.json() == {"results": _types((409, None))}


def test_archiving_a_record_drops_its_associations(v3):
    company, deal = _make(v3, "companies", name="Acme"), _deal(v3)
    v3.put(f"{v3.record_associations('deals', deal)}/default/companies/{company}")
    v3.delete(f"{v3.objects('deals')}/{deal}")
    assert v3.get(f"{v3.record_associations('companies', company)}/deals").json() == {"results": []}


# (from, to, typeId, inverse typeId): the HubSpot-defined pairs of hubspot-api.md §4.2 that §10.6 asks to seed.
DEFINED_PAIRS = [
    ("deals", "companies", 341, 342),
    ("deals", "contacts", 3, 4),
    ("line_items", "deals", 20, 19),
    ("deals", "line_items", 19, 20),
    ("invoices", "companies", 179, 180),
    ("invoices", "contacts", 177, 178),
    ("invoices", "deals", 175, 176),
    ("invoices", "line_items", 409, 410),
    ("invoices", "subscriptions", 622, 623),
    ("subscriptions", "line_items", 301, 302),
    ("subscriptions", "companies", 297, 298),
    ("subscriptions", "contacts", 295, 296),
    ("subscriptions", "deals", 299, 300),
    ("projects", "companies", 1236, 1237),
    ("projects", "deals", 1238, 1239),
    ("projects", "contacts", 1242, 1243),
    ("line_items", "projects", 1345, 1346),
    ("contacts", "companies", 279, 280),
]


def _record(api: Api, object_type: str) -> str:
    if object_type == "deals":
        return _deal(api)
    if object_type == "projects":
        pipeline = api.get(api.pipelines("projects")).json()["results"][0]
        stage = pipeline["stages"][0]["id"]
        return _make(api, "projects", hs_name="P", hs_pipeline=pipeline["id"], hs_pipeline_stage=stage)
    required = {"companies": {"name": "Acme"}, "invoices": {"hs_currency": "SEK"}, "subscriptions": {"hs_name": "S"}}
    return _make(api, object_type, **required.get(object_type, {}))


def test_hubspot_defined_type_ids_and_their_inverses(v3):
    """Every §4.2 pair: `default` stores typeId one way and the documented reverse id the other way."""
    for from_type, to_type, forward, backward in DEFINED_PAIRS:
        source, target = _record(v3, from_type), _record(v3, to_type)
        created = v3.put(f"{v3.record_associations(from_type, source)}/default/{to_type}/{target}")
        assert created.status_code == 200, (from_type, to_type, created.text)
        specs = [
            (r["from"]["id"], r["to"]["id"], r["associationSpec"]["associationTypeId"])
            for r in created.json()["results"]
        ]
        assert specs == [(source, target, forward), (target, source, backward)], (from_type, to_type)
        inverse = v3.get(f"{v3.record_associations(to_type, target)}/{from_type}").json()["results"]
        assert [(r["toObjectId"], [t["typeId"] for t in r["associationTypes"]]) for r in inverse] == [
            (int(source), [backward])
        ], (from_type, to_type)


def test_batch_input_limits(v3):
    """§4.1 / §10.6: associate/default and create take at most 2,000 inputs, read at most 1,000."""
    deal, company = _deal(v3), _make(v3, "companies", name="Acme")
    pair = {"from": {"id": deal}, "to": {"id": company}}
    typed = {**pair, "types": [{"associationCategory": HS, "associationTypeId": 341}]}
    for action, item, limit in (
        ("associate/default", pair, 2000),
        ("create", typed, 2000),
        ("read", {"id": deal}, 1000),
    ):
        refused = v3.post(f"{v3.associations('deals', 'companies')}/batch/{action}", {"inputs": [item] * (limit + 1)})
        assert (refused.status_code, refused.json()) == (
            400,
            error(
                refused,
                f"The maximum number of inputs supported in a batch is {limit}. "
                "Please reduce the number of items and try again",
            ),
        ), action
    v3.put(f"{v3.record_associations('deals', deal)}/default/companies/{company}")
    at_limit = v3.post(f"{v3.associations('deals', 'companies')}/batch/read", {"inputs": [{"id": deal}] * 1000})
    assert (at_limit.status_code, len(at_limit.json()["results"])) == (200, 1000)


def test_batch_create_reports_missing_records_per_input(api, frozen):
    deal, company = _deal(api), _make(api, "companies", name="Acme")
    types = [{"associationCategory": HS, "associationTypeId": 341}]
    response = api.post(
        f"{api.associations('deals', 'companies')}/batch/create",
        {
            "inputs": [
                {"from": {"id": deal}, "to": {"id": company}, "types": types},
                {"from": {"id": "999"}, "to": {"id": company}, "types": types},
            ]
        },
    )
    assert response.status_code == 207
    assert response.json() == {
        "status": "COMPLETE",
        "results": [
            {
                "fromObjectTypeId": "0-3",
                "fromObjectId": api.oid(deal),
                "toObjectTypeId": "0-2",
                "toObjectId": api.oid(company),
                "labels": [],
            }
        ],
        "numErrors": 1,
        "errors": [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "No DEAL with id 999 exists",
                "context": {"ids": ["999"], "fromObjectId": ["999"], "toObjectId": [company]},
                "errors": [],
                "links": {},
            }
        ],
        "startedAt": frozen,
        "completedAt": frozen,
    }


def test_batch_read_pages_each_input(v3, monkeypatch):
    """§10.6: batch/read gives `paging.next.after` per input when it has more than a page of associations."""
    from sandbox.hubspot_crm.views import associations as views

    monkeypatch.setattr(views, "PAGE_MAX", 2)  # HubSpot's page is 500; 2 keeps the test small
    deal, other = _deal(v3), _deal(v3, "Other")
    companies = [_make(v3, "companies", name=f"C{i}") for i in range(3)]
    for company in companies:
        v3.put(f"{v3.record_associations('deals', deal)}/default/companies/{company}")
    v3.put(f"{v3.record_associations('deals', other)}/default/companies/{companies[0]}")
    path = f"{v3.associations('deals', 'companies')}/batch/read"
    first = v3.post(path, {"inputs": [{"id": deal}, {"id": other}]}).json()["results"]
    assert [[t["toObjectId"] for t in r["to"]] for r in first] == [[int(c) for c in companies[:2]], [int(companies[0])]]
    assert "paging" not in first[1]
    after = first[0]["paging"]["next"]["after"]
    rest = v3.post(path, {"inputs": [{"id": deal, "after": after}]}).json()["results"]
    assert rest == [
        {"from": {"id": deal}, "to": [{"toObjectId": int(companies[2]), "associationTypes": _types((341, None))}]}
    ]


def test_single_parent_rule_is_one_switch(v3, monkeypatch):
    """The one-parent 400 is the fake's choice (§10.6); with the flag off a line item may have two deals."""
    from sandbox.hubspot_crm import associations

    monkeypatch.setattr(associations, "SINGLE_PARENT_STRICT", False)
    line, first, second = _make(v3, "line_items", name="Hours"), _deal(v3, "A"), _deal(v3, "B")
    for deal in (first, second):
        assert v3.put(f"{v3.record_associations('line_items', line)}/default/deals/{deal}").status_code == 200
    listed = v3.get(f"{v3.record_associations('line_items', line)}/deals").json()["results"]
    assert [r["toObjectId"] for r in listed] == [int(first), int(second)]
