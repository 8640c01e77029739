"""A first sync into a CRM that already holds the customer's companies and products: matches are linked, ambiguous
ones wait for a person, nothing is duplicated, and the next run makes no write."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client

from integration.models import FieldMapping, MatchRule, RecordError, SyncedRecord
from integration.sync import matching
from integration.sync.matching import AMBIGUOUS
from sandbox.hubspot.models import RequestLog
from tests.conftest import portal_session
from tests.integration.matching.support import (
    crm,
    crm_create,
    kleer_ids,
    kleer_set,
    last_log_id,
    orgno,
    prepare_schema,
    run,
    writes_since,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _dashed(n: int) -> str:
    number = orgno(n)
    return f"{number[:6]}-{number[6:]}"


def _spelling(n: int, k: int) -> str:
    """The organisation number as a CRM user typed it: dashed, digits only, or the VAT number."""
    number = orgno(n)
    return (_dashed(n), number, f"SE{number}01")[k % 3]


def _crm_of_200() -> tuple[list[dict], dict[str, list[int]]]:
    """200 companies; `plan` says which Kleer client (by position) each group is about."""
    rows: list[dict] = []
    plan = {
        "orgno": list(range(0, 60)),  # one company with the client's org number (in three spellings)
        "orgno_twice": list(range(60, 70)),  # two companies with it
        "domain": list(range(70, 100)),  # one company with the client's e-mail domain
        "domain_twice": list(range(100, 105)),  # two with it
        "free_mail": list(range(105, 120)),  # clients with gmail/hotmail addresses
        "taken": list(range(120, 125)),  # the company with the org number is linked to another Kleer id
        "shared": [145, 146],  # two clients with one domain; one company has it
    }
    for k in plan["orgno"]:
        rows.append({"name": f"CRM company {k}", "kleer_orgno": _spelling(k, k)})
    for k in plan["orgno_twice"]:
        rows.append({"name": f"CRM company {k}", "kleer_orgno": _dashed(k)})
        rows.append({"name": f"CRM company {k} (old)", "kleer_orgno": f"SE{orgno(k)}01"})
    for k in plan["domain"]:
        rows.append({"name": f"CRM company {k}", "domain": f"www.firma{k}.se" if k % 10 == 0 else f"firma{k}.se"})
    for k in plan["domain_twice"]:
        rows.append({"name": f"CRM company {k}", "domain": f"firma{k}.se"})
        rows.append({"name": f"CRM company {k} AB", "domain": f"FIRMA{k}.se"})
    for k in range(10):  # people who typed their private address's domain as the company domain
        rows.append({"name": f"Private {k}", "domain": ("gmail.com", "hotmail.com")[k % 2]})
    for k in plan["taken"]:
        rows.append({"name": f"CRM company {k}", "kleer_orgno": _dashed(k), "kleer_id": f"other-{k}"})
    rows.append({"name": "Shared AB", "domain": "shared.se"})
    for k in range(64):  # unrelated companies: 15 with org numbers, some with domains
        row = {"name": f"Unrelated {k}"}
        if k < 15:
            row["kleer_orgno"] = _dashed(1000 + k)
        elif k < 40:
            row["domain"] = f"unrelated{k}.se"
        rows.append(row)
    assert len(rows) == 200
    assert sum("kleer_orgno" in r for r in rows) == 100
    return rows, plan


def _kleer_clients(world, ids: list[int], plan: dict[str, list[int]]) -> None:
    for k, kleer_id in enumerate(ids):
        fields = {"orgno": _dashed(k), "email": f"info@client{k}.se"}
        if k in plan["domain"] or k in plan["domain_twice"]:
            fields = {"orgno": _dashed(500 + k), "email": f"Ekonomi@firma{k}.se"}
        elif k in plan["free_mail"]:
            fields["email"] = f"client{k}@{('gmail.com', 'hotmail.com', 'live.se')[k % 3]}"
        elif k in plan["shared"]:
            fields = {"orgno": "", "email": f"kontor{k}@shared.se"}
        kleer_set(world, "client", kleer_id, **fields)


@pytest.mark.parametrize("census_max", [matching.CENSUS_MAX, 10], ids=["census", "searches-per-batch"])
def test_first_sync_into_200_existing_companies_links_every_unambiguous_match(world_factory, monkeypatch, census_max):
    """Read once per run (the census, 200 + 10 records in two pages) or searched batch by batch (a CRM with more
    records without a kleer_id than the census reads), the matches are the same."""
    monkeypatch.setattr(matching, "CENSUS_MAX", census_max)
    world = world_factory(clients=150, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    prepare_schema(world, "clients")
    ids = kleer_ids(world, "client")
    rows, plan = _crm_of_200()
    crm_ids = crm_create(world, "companies", rows)
    before = crm(world, "companies")
    _kleer_clients(world, ids, plan)
    assert len(before) == 200

    first = run(world, "clients")

    after = crm(world, "companies")
    linked = {r["properties"]["kleer_id"]: r for r in after.values() if r["properties"].get("kleer_id")}
    assert Counter(r["properties"].get("kleer_id") for r in after.values() if r["properties"].get("kleer_id")) == (
        Counter({key: 1 for key in linked})
    )  # no kleer_id twice
    assert (first.read, first.matched, first.created, first.updated, first.failed, first.skipped) == (
        150,
        90,
        43,
        0,
        17,
        0,
    )
    assert first.status == "partial"
    assert len(after) == 200 + 43
    # Every unambiguous match is the pre-existing company, now carrying the Kleer id and the mapped properties.
    crm_id_of_row = {row["name"]: crm_ids[i] for i, row in enumerate(rows)}
    for k in plan["orgno"] + plan["domain"]:
        company = linked[str(ids[k])]
        assert company["id"] == crm_id_of_row[f"CRM company {k}"], k
        assert company["properties"]["kleer_email"] in (f"info@client{k}.se", f"Ekonomi@firma{k}.se")
    record = SyncedRecord.objects.get(portal=world.portal, object_type="clients", kleer_id=str(ids[0]))
    assert record.hubspot_id == crm_id_of_row["CRM company 0"]
    # Free-mail clients, clients whose match carries another Kleer id, and clients without candidates are new.
    for k in plan["free_mail"] + plan["taken"] + list(range(125, 145)) + list(range(147, 150)):
        assert linked[str(ids[k])]["id"] not in before, k
    for k in plan["taken"]:
        taken = before[crm_id_of_row[f"CRM company {k}"]]
        assert after[taken["id"]]["properties"]["kleer_id"] == f"other-{k}"
    # The private-domain companies were not touched.
    private = [i for i, r in before.items() if r["properties"]["name"].startswith("Private")]
    assert [after[i]["properties"].get("kleer_id") for i in private] == [None] * 10

    errors = {e.kleer_id: e for e in RecordError.objects.filter(portal=world.portal)}
    ambiguous = plan["orgno_twice"] + plan["domain_twice"] + plan["shared"]
    assert set(errors) == {str(ids[k]) for k in ambiguous}
    assert {(e.status, e.category, e.direction) for e in errors.values()} == {("parked", AMBIGUOUS, "outbound")}
    for k in plan["orgno_twice"]:
        error = errors[str(ids[k])]
        assert error.candidates == [
            {
                "id": crm_id_of_row[f"CRM company {k}"],
                "name": f"CRM company {k}",
                "reason": "organisation number",
                "value": _dashed(k),
            },
            {
                "id": crm_id_of_row[f"CRM company {k} (old)"],
                "name": f"CRM company {k} (old)",
                "reason": "organisation number",
                "value": f"SE{orgno(k)}01",
            },
        ]
        assert error.message == (
            f"2 HubSpot company records have the organisation number of this record: CRM company {k} "
            f"(id {crm_id_of_row[f'CRM company {k}']}); CRM company {k} (old) "
            f"(id {crm_id_of_row[f'CRM company {k} (old)']}). Nothing was created. Pick the one to link, or create "
            "a new one."
        )
    for k in plan["domain_twice"]:
        assert [(c["name"], c["reason"], c["value"]) for c in errors[str(ids[k])].candidates] == [
            (f"CRM company {k}", "domain", f"firma{k}.se"),
            (f"CRM company {k} AB", "domain", f"FIRMA{k}.se"),
        ]
    shared = crm_id_of_row["Shared AB"]
    for k in plan["shared"]:
        error = errors[str(ids[k])]
        assert error.candidates == [{"id": shared, "name": "Shared AB", "reason": "domain", "value": "shared.se"}]
        assert error.message == (
            f"HubSpot company Shared AB (id {shared}) matches this record and 1 other Kleer record by domain, so none "
            "of them was created or linked. Pick the record to link, or create a new one."
        )

    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = world.hub_id
    session.save()
    tab = client.get(f"/portals/{world.hub_id}/settings/clients/").content.decode()
    assert "<span>90 linked to existing HubSpot records</span>" in tab
    assert "Records that did not sync (17)" in tab

    mark = last_log_id()
    second = run(world, "clients")
    assert writes_since(world, mark) == []
    assert (second.matched, second.created, second.updated, second.unchanged, second.skipped) == (0, 0, 0, 133, 17)
    assert second.hubspot_calls == 0
    assert len(crm(world, "companies")) == 243


def _small_world(world_factory, rule: str):
    world = world_factory(clients=3, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    world.portal.match_rule = rule
    world.portal.save(update_fields=["match_rule"])
    prepare_schema(world, "clients")
    ids = kleer_ids(world, "client")
    kleer_set(world, "client", ids[0], orgno=_dashed(1), email="a@gmail.com")
    kleer_set(world, "client", ids[1], orgno=_dashed(2), email="a@alfa.se")
    kleer_set(world, "client", ids[2], orgno="", email="b@beta.se")
    crm_ids = crm_create(
        world,
        "companies",
        [
            {"name": "One", "kleer_orgno": orgno(1)},
            {"name": "Two", "kleer_orgno": _dashed(2)},
            {"name": "Beta", "domain": "beta.se"},
        ],
    )
    return world, ids, crm_ids


def test_rule_organisation_number_only_never_matches_by_domain(world_factory):
    world, ids, crm_ids = _small_world(world_factory, MatchRule.ORGNO)
    result = run(world, "clients")
    assert (result.matched, result.created, result.failed) == (2, 1, 0)
    companies = crm(world, "companies")
    assert len(companies) == 4
    assert [companies[i]["properties"].get("kleer_id") for i in crm_ids] == [str(ids[0]), str(ids[1]), None]


def test_rule_off_always_creates(world_factory):
    world, _ids, crm_ids = _small_world(world_factory, MatchRule.OFF)
    result = run(world, "clients")
    assert (result.matched, result.created, result.failed) == (0, 3, 0)
    companies = crm(world, "companies")
    assert len(companies) == 6
    assert [companies[i]["properties"].get("kleer_id") for i in crm_ids] == [None, None, None]


def test_rule_without_an_org_number_mapping_goes_straight_to_domain(world_factory):
    world, ids, crm_ids = _small_world(world_factory, MatchRule.ORGNO_DOMAIN)
    FieldMapping.objects.filter(object_sync__portal=world.portal, kleer_field="orgno").delete()
    result = run(world, "clients")
    assert (result.matched, result.created, result.failed) == (1, 2, 0)
    companies = crm(world, "companies")
    assert [companies[i]["properties"].get("kleer_id") for i in crm_ids] == [None, None, str(ids[2])]


def _products_world(world_factory, rule: str = MatchRule.ORGNO_DOMAIN):
    world = world_factory(clients=0, products=5, invoices=0, agreements=0, projects=0, enable=("products",))
    world.portal.match_rule = rule
    world.portal.save(update_fields=["match_rule"])
    object_sync = prepare_schema(world, "products")
    FieldMapping.objects.create(object_sync=object_sync, kleer_field="foreign-id", hubspot_property="hs_sku")
    ids = kleer_ids(world, "product")
    names = ["Konsulttimme", "Support  plan", "Licens", "Resa", "Kurs"]
    skus = ["KT-1", "", "", "", "X-9"]
    for kleer_id, name, sku in zip(ids, names, skus, strict=True):
        kleer_set(world, "product", kleer_id, name=name, foreign_id=sku)
    crm_ids = crm_create(
        world,
        "products",
        [
            {"name": "Konsulttimme (gammal)", "hs_sku": "kt-1"},  # SKU match, name differs
            {"name": "support plan"},  # exact name, case and spaces aside
            {"name": "Licens"},
            {"name": "LICENS"},  # two with the name
            {"name": "Kurs"},  # name matches, but Kleer's product has a SKU that matches nothing: found by name
            {"name": "Resa 2"},
        ],
    )
    return world, ids, crm_ids


def test_products_match_by_sku_then_exact_name(world_factory):
    world, ids, crm_ids = _products_world(world_factory)
    result = run(world, "products")
    assert (result.read, result.matched, result.created, result.failed) == (5, 3, 1, 1)
    products = crm(world, "products")
    assert len(products) == 7
    assert [products[i]["properties"].get("kleer_id") for i in crm_ids] == [
        str(ids[0]),
        str(ids[1]),
        None,
        None,
        str(ids[4]),
        None,
    ]
    assert products[crm_ids[0]]["properties"]["name"] == "Konsulttimme"
    error = RecordError.objects.get(portal=world.portal)
    assert (error.kleer_id, error.status) == (str(ids[2]), "parked")
    assert [(c["id"], c["name"], c["reason"]) for c in error.candidates] == [
        (crm_ids[2], "Licens", "name"),
        (crm_ids[3], "LICENS", "name"),
    ]
    mark = last_log_id()
    again = run(world, "products")
    assert (writes_since(world, mark), again.unchanged, again.skipped) == ([], 4, 1)


def test_products_rule_sku_only(world_factory):
    world, ids, crm_ids = _products_world(world_factory, MatchRule.ORGNO)
    result = run(world, "products")
    assert (result.matched, result.created, result.failed) == (1, 4, 0)
    products = crm(world, "products")
    assert [products[i]["properties"].get("kleer_id") for i in crm_ids] == [str(ids[0])] + [None] * 5


def test_a_first_sync_into_a_crm_without_unlinked_records_asks_hubspot_once(world_factory):
    """No company in HubSpot lacks a kleer_id, so none can be a match: the run's census (one search) says so and
    no batch of the first sync searches or batch-reads; the 150 clients are created in two upserts."""
    world = world_factory(clients=150, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    prepare_schema(world, "clients")
    crm_create(world, "companies", [{"name": "Linked elsewhere", "kleer_id": "999999"}])
    mark = last_log_id()

    first = run(world, "clients")

    assert (first.read, first.created, first.matched, first.failed) == (150, 150, 0, 0)
    calls = RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).order_by("id")
    assert [c.path.rsplit("/", 1)[-1] for c in calls] == ["search", "upsert", "upsert"]
