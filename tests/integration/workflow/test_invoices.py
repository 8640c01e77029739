"""Create Kleer Invoice over real HTTP: signed requests in, exactly one Kleer draft out, the id written back."""

from __future__ import annotations

import pytest

from integration.models import WorkflowExecution
from tests.integration.workflow.conftest import Crm, kleer_list, sync

pytestmark = pytest.mark.django_db(transaction=True)


def billing_world(world_factory):
    """Clients and products synced, so companies carry kleer_id and products came from Kleer."""
    world = world_factory(clients=2, products=2, invoices=0, agreements=0, projects=0, enable=("clients", "products"))
    sync(world, "clients")
    sync(world, "products")
    return world


def products(world, live_server) -> list[dict]:
    return sorted(kleer_list(world, live_server, "/product", "products"), key=lambda p: p["id"])


def won_deal(world, live_server, crm: Crm) -> tuple[str, str, list[dict]]:
    client = sorted(kleer_list(world, live_server, "/client", "clients"), key=lambda c: c["id"])[0]
    company = crm.first("companies", "kleer_id", str(client["id"]))
    first, second = products(world, live_server)
    items = [
        {"name": "Licens", "quantity": "3", "price": "1234.50",
         "hs_product_id": crm.first("products", "kleer_id", str(first["id"]))},
        {"name": "Support", "quantity": "1", "price": "99.99", "hs_discount_percentage": "10",
         "hs_product_id": crm.first("products", "kleer_id", str(second["id"]))},
    ]  # fmt: skip
    return company, str(client["id"]), items


def invoices(world, live_server) -> list[dict]:
    return kleer_list(world, live_server, "/client/invoice?filter=all", "client-invoices")


def test_create_invoice_makes_one_draft_with_the_deal_rows_in_ore_and_writes_its_id_back(
    world_factory, actions, live_server
):
    world = billing_world(world_factory)
    crm = Crm(world.hub_id)
    company, client_id, items = won_deal(world, live_server, crm)
    deal = crm.deal(company, items)
    first, second = products(world, live_server)

    callback, answer = actions.run(
        "create-invoice", world, "DEAL", deal,
        {"invoice_date": "2026-12-01", "currency": "sek", "delivery_type": "email", "po_number": "PO-77",
         "your_reference": "Åsa Öberg"},
    )  # fmt: skip

    assert answer == {"outputFields": {"hs_execution_state": "BLOCK", "hs_expiration_duration": "P1D"}}
    [invoice] = invoices(world, live_server)
    execution = WorkflowExecution.objects.get(callback_id=callback)
    assert (execution.state, execution.outcome, execution.kleer_id) == ("succeeded", "created", str(invoice["id"]))
    assert execution.reason == f"Created Kleer invoice {invoice['id']}."
    assert invoice["foreign-id"] == execution.reference
    assert (invoice["client-ref"], invoice["invoice-date"], invoice["currency"]) == (
        {"id": int(client_id)}, "2026-12-01", "SEK",
    )  # fmt: skip
    assert (invoice["delivery-type"], invoice["po-nr"], invoice["your-reference"]) == ("Email", "PO-77", "Åsa Öberg")
    rows = [
        {k: row.get(k) for k in ("quantity", "price", "description", "product", "discount")}
        for row in invoice["rows"]["rows"]
    ]
    assert rows == [
        {"quantity": 3, "price": 123450, "description": "Licens", "product": {"id": first["id"]}, "discount": None},
        {"quantity": 1, "price": 9999, "description": "Support", "product": {"id": second["id"]},
         "discount": {"percentage": 0.1}},
    ]  # fmt: skip
    assert invoice["certified"] is False  # a draft: certified in Kleer, then synced
    assert crm.read("deals", deal, "kleer_invoice_id")["kleer_invoice_id"] == str(invoice["id"])


def test_the_same_callback_twice_and_a_second_execution_make_one_invoice_and_say_what_exists(
    world_factory, actions, live_server
):
    world = billing_world(world_factory)
    crm = Crm(world.hub_id)
    company, _client, items = won_deal(world, live_server, crm)
    deal = crm.deal(company, items)

    callback, _ = actions.run("create-invoice", world, "DEAL", deal)
    _same, repeated = actions.run("create-invoice", world, "DEAL", deal, callback_id=callback)
    [invoice] = invoices(world, live_server)
    assert repeated == {
        "outputFields": {"hs_execution_state": "SUCCESS", "outcome": "created", "kleer_id": str(invoice["id"])}
    }
    assert WorkflowExecution.objects.filter(callback_id=callback).count() == 1

    second, _ = actions.run("create-invoice", world, "DEAL", deal)
    execution = WorkflowExecution.objects.get(callback_id=second)
    assert (execution.state, execution.outcome, execution.kleer_id) == ("succeeded", "exists", str(invoice["id"]))
    assert execution.reason == (
        f"Kleer invoice {invoice['id']} already exists for this record (kleer_invoice_id); nothing was created."
    )
    assert len(invoices(world, live_server)) == 1
