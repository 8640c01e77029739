"""The other six actions with signed requests: exact Kleer records and HubSpot write-backs."""

from __future__ import annotations

import pytest

from integration.models import SyncedRecord, WorkflowExecution
from tests.integration.workflow.conftest import Crm, kleer_api, kleer_list, sync

pytestmark = pytest.mark.django_db(transaction=True)

SUCCESS = {"hs_execution_state": "BLOCK", "hs_expiration_duration": "P1D"}


def client_world(world_factory, **kw):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",), **kw)
    sync(world, "clients")
    return world


def synced_company(world, live_server, crm: Crm) -> tuple[str, int]:
    [client] = kleer_list(world, live_server, "/client", "clients")
    return crm.first("companies", "kleer_id", str(client["id"])), client["id"]


def execution(callback: str) -> WorkflowExecution:
    return WorkflowExecution.objects.get(callback_id=callback)


def test_create_client_from_inputs_writes_kleer_id_and_the_sync_links_the_same_company(
    world_factory, actions, live_server
):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company = crm.create("companies", {"name": "Ödegårds Bygg AB"})

    callback, answer = actions.run(
        "create-client", world, "COMPANY", company,
        {"name": "Ödegårds Bygg AB", "org_number": "556677-8899", "email": "faktura@odegard.se",
         "address_line_1": "Storgatan 1", "zip_code": "722 15", "state": "Västerås", "country": "Sverige",
         "client_type": "organisation", "currency": "EUR", "payment_days": "20", "delivery_type": "Svefaktura"},
    )  # fmt: skip

    assert answer == {"outputFields": SUCCESS}
    done = execution(callback)
    created = kleer_api(world, live_server).get(f"/client/{done.kleer_id}").json()
    assert (done.state, done.outcome) == ("succeeded", "created")
    expected = {"name": "Ödegårds Bygg AB", "orgno": "556677-8899", "email": "faktura@odegard.se",
                "client-type": "Organisation", "currency-type": "EUR", "payment-days": 20,
                "delivery-type": "Svefaktura", "foreign-id": done.reference}  # fmt: skip
    assert {k: created[k] for k in expected} == expected
    assert created["address"] == {"address1": "Storgatan 1", "zip-code": "722 15", "state": "Västerås",
                                  "country": "Sverige"}  # fmt: skip
    props = crm.read("companies", company, "kleer_id", "kleer_orgno", "kleer_payment_days")
    # The id written back, and the clients sync (queued at once) filled the mapped properties of this company.
    assert props["kleer_id"] == done.kleer_id
    assert (props["kleer_orgno"], props["kleer_payment_days"]) == ("556677-8899", "20")
    link = SyncedRecord.objects.get(portal=world.portal, object_type="clients", kleer_id=done.kleer_id)
    assert link.hubspot_id == company
    assert len(kleer_list(world, live_server, "/client", "clients")) == 2

    _second, _ = actions.run("create-client", world, "COMPANY", company, {"name": "Ödegårds Bygg AB"})
    assert execution(_second).outcome == "exists"
    assert len(kleer_list(world, live_server, "/client", "clients")) == 2


def test_create_client_from_mappings_reads_the_company_through_the_client_mappings(world_factory, actions, live_server):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company = crm.create(
        "companies",
        {"name": "Åkerlund & Söner", "phone": "08-123 45 67", "city": "Umeå", "kleer_payment_days": "45",
         "kleer_delivery_method": "Mail"},
    )  # fmt: skip

    callback, _ = actions.run("create-client-from-mappings", world, "COMPANY", company)

    done = execution(callback)
    created = kleer_api(world, live_server).get(f"/client/{done.kleer_id}").json()
    found = (created["name"], created["phone"], created["address"]["state"])
    assert found == ("Åkerlund & Söner", "08-123 45 67", "Umeå")
    assert (created["payment-days"], created["delivery-type"]) == (45, "Mail")
    assert crm.read("companies", company, "kleer_id")["kleer_id"] == done.kleer_id


def agreement_items() -> list[dict]:
    return [
        {"name": "Hosting", "quantity": "2", "price": "450.25", "recurringbillingfrequency": "quarterly"},
        {"name": "Uppstart", "quantity": "1", "price": "1500", "discount": "100"},
    ]


def test_create_agreement_makes_recurring_and_first_invoice_rows_and_update_replaces_them(
    world_factory, actions, live_server
):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, client_id = synced_company(world, live_server, crm)
    deal = crm.deal(company, agreement_items())

    callback, _ = actions.run(
        "create-agreement", world, "DEAL", deal,
        {"start_date": "2027-01-01", "end_date": "2027-12-31", "invoice_day": "Invoice at start of month",
         "payment_days": "15", "po_number": "PO-9"},
    )  # fmt: skip

    done = execution(callback)
    agreement = kleer_api(world, live_server).get(f"/client/agreement/{done.kleer_id}").json()
    assert (done.state, done.outcome) == ("succeeded", "created")
    assert (agreement["client-ref"], agreement["description"], agreement["start-invoice-date"]) == (
        {"id": client_id}, "Årsavtal Åkesson", "2027-01-01",
    )  # fmt: skip
    assert (agreement["end-date"], agreement["invoice-interval-months"], agreement["invoice-day"]) == (
        "2027-12-31", 3, "INVOICE_AT_START_MONTH",
    )  # fmt: skip
    assert (agreement["payment-days"], agreement["po-nr"], agreement["foreign-id"]) == (15, "PO-9", done.reference)
    assert [(r["description"], r["quantity"], r["price"]) for r in agreement["recurring-rows"]["rows"]] == [
        ("Hosting", 2, 45025)
    ]
    [first] = agreement["first-invoice-rows"]["rows"]
    assert (first["description"], first["price"], first["discount"]) == ("Uppstart", 150000, {"absolute": 10000})
    assert crm.read("deals", deal, "kleer_agreement_id")["kleer_agreement_id"] == done.kleer_id

    # An upsell deal carrying the agreement id: its line items become the complete new row set.
    upsell = crm.deal(
        company,
        [{"name": "Hosting", "quantity": "3", "price": "450.25", "recurringbillingfrequency": "quarterly"}],
        kleer_agreement_id=done.kleer_id,
    )
    update, _ = actions.run("update-agreement", world, "DEAL", upsell, {"your_reference": "Eva Ek"})

    updated = kleer_api(world, live_server).get(f"/client/agreement/{done.kleer_id}").json()
    assert (execution(update).outcome, execution(update).reason) == (
        "updated", f"Updated Kleer agreement {done.kleer_id} (1 rows).",
    )  # fmt: skip
    assert [(r["description"], r["quantity"], r["price"]) for r in updated["recurring-rows"]["rows"]] == [
        ("Hosting", 3, 45025)
    ]
    assert updated["first-invoice-rows"] in ({}, {"rows": []})
    assert (updated["your-reference"], updated["po-nr"], updated["revision-nr"]) == ("Eva Ek", "PO-9", 2)
    assert len(kleer_list(world, live_server, "/client/agreement", "client-agreements")) == 1


def test_create_project_and_from_mappings(world_factory, actions, live_server):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, client_id = synced_company(world, live_server, crm)
    deal = crm.deal(company, [], amount="80000.50")

    callback, _ = actions.run(
        "create-project", world, "DEAL", deal,
        {"number": "P-77", "fixed_price": "true", "budget_hours": "120.5", "budget_amount": "95000.75",
         "opening_date": "2027-02-01", "comment": "Från HubSpot"},
    )  # fmt: skip

    done = execution(callback)
    project = kleer_api(world, live_server).get(f"/client-project/{done.kleer_id}").json()
    expected = {"client": {"id": client_id}, "name": "Årsavtal Åkesson", "number": "P-77", "fixed-price": True,
                "budget-hours": 120.5, "budget-amount": 9500075, "opening-date": "2027-02-01",
                "comment": "Från HubSpot"}  # fmt: skip
    assert {k: project[k] for k in expected} == expected
    assert crm.read("deals", deal, "kleer_project_id")["kleer_project_id"] == done.kleer_id

    other = crm.deal(company, [], dealname="Implementation", amount="80000.50")
    mapped, _ = actions.run("create-project-from-mappings", world, "DEAL", other)
    from_mappings = kleer_api(world, live_server).get(f"/client-project/{execution(mapped).kleer_id}").json()
    # The catalog's deal mappings for projects: dealname → name, amount → budget-amount (SEK → öre).
    assert (from_mappings["name"], from_mappings["budget-amount"]) == ("Implementation", 8000050)
    assert len(kleer_list(world, live_server, "/client-project?filter=all", "client-project-readables")) == 2
