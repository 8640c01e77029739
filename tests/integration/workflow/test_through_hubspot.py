"""The actions run by the sandbox's fake HubSpot exactly as HubSpot's workflows would: the generated definitions
deployed, signed execution requests, the BLOCK answer and the completion callback with the outcome."""

from __future__ import annotations

import pytest

from integration.models import WorkflowExecution
from tests.integration.workflow.conftest import Crm, deploy_actions, hubspot_execution, hubspot_run, kleer_list, sync
from tests.integration.workflow.test_invoices import billing_world, won_deal

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_generated_definitions_deploy_to_the_fake_hubspot(sandbox_urls):
    from sandbox.hubspot.workflows import definitions

    deploy_actions(sandbox_urls)
    uids = sorted(d["uid"] for d in definitions.definitions())
    assert uids == sorted(
        f"kleer_{key.replace('-', '_')}"
        for key in (
            "create-client", "create-client-from-mappings", "create-invoice", "create-agreement",
            "update-agreement", "create-project", "create-project-from-mappings",
        )
    )  # fmt: skip


def test_hubspot_runs_create_invoice_and_gets_the_outcome_through_the_completion_api(
    world_factory, sandbox_urls, live_server
):
    world = billing_world(world_factory)
    deploy_actions(sandbox_urls)
    crm = Crm(world.hub_id)
    company, _client, items = won_deal(world, live_server, crm)
    deal = crm.deal(company, items)

    run = hubspot_run(world, "create-invoice", "DEAL", deal, {"invoice_date": "2026-12-02"})

    [invoice] = kleer_list(world, live_server, "/client/invoice?filter=all", "client-invoices")
    execution = WorkflowExecution.objects.get(callback_id=run["callbackId"])
    assert execution.completed_at is not None
    final = hubspot_execution(world, run["callbackId"])
    assert final["state"] == "SUCCEEDED"
    # The fake keeps the BLOCK answer's fields under the completion's.
    assert final["outputFields"] == {
        "hs_execution_state": "SUCCESS", "hs_expiration_duration": "P1D", "outcome": "created",
        "kleer_id": str(invoice["id"]),
    }  # fmt: skip
    assert crm.read("deals", deal, "kleer_invoice_id")["kleer_invoice_id"] == str(invoice["id"])

    # HubSpot retries with the same callbackId: the stored outcome is answered, nothing is created again.
    again = hubspot_run(world, "create-invoice", "DEAL", deal, callbackId=run["callbackId"])
    assert again["state"] == "SUCCEEDED"
    assert len(kleer_list(world, live_server, "/client/invoice?filter=all", "client-invoices")) == 1


def test_hubspot_shows_why_an_execution_failed(world_factory, sandbox_urls):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    sync(world, "clients")
    deploy_actions(sandbox_urls)
    crm = Crm(world.hub_id)
    deal = crm.deal(None, [])

    run = hubspot_run(world, "create-invoice", "DEAL", deal, {"invoice_date": "1 december"})

    reason = '"Invoice date" must be a date written YYYY-MM-DD, e.g. 2026-12-31; got "1 december".'
    assert (run["state"], run["failureReason"]) == ("FAILED", reason)
    assert run["outputFields"]["failure_reason"] == reason


def test_concurrent_copies_of_one_callback_create_one_client(world_factory, sandbox_urls, live_server):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    deploy_actions(sandbox_urls)
    crm = Crm(world.hub_id)
    company = crm.create("companies", {"name": "Kopia AB"})

    run = hubspot_run(world, "create-client", "COMPANY", company, {"name": "Kopia AB", "phone": None}, concurrent=3)

    [client] = kleer_list(world, live_server, "/client", "clients")
    assert WorkflowExecution.objects.get().kleer_id == str(client["id"])
    assert hubspot_execution(world, run["callbackId"])["state"] == "SUCCEEDED"
    assert crm.read("companies", company, "kleer_id")["kleer_id"] == str(client["id"])
