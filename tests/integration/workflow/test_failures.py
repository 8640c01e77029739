"""What fails, fails at once with a reason a HubSpot user understands, and changes nothing; Kleer's transient
errors are retried without creating a second record; a bad door answers 401/400/404 and stores nothing."""

from __future__ import annotations

import concurrent.futures

import pytest

from integration.catalog import Plan
from integration.models import KleerCredentials, WorkflowExecution
from tests.integration.workflow.conftest import Crm, execution_body, kleer_api, kleer_list, sync
from tests.integration.workflow.test_actions import agreement_items, client_world, synced_company

pytestmark = pytest.mark.django_db(transaction=True)


def failed(answer: dict, reason: str) -> dict:
    return {"outputFields": {"hs_execution_state": "FAIL_CONTINUE", "outcome": "failed", "failure_reason": reason,
                             "hs_default_error": reason}}  # fmt: skip


def test_the_door_refuses_bad_signatures_unknown_actions_and_malformed_bodies(world_factory, actions):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    body = execution_body(world.hub_id, "DEAL", 1, {})

    assert actions.post("create-invoice", body, secret="not-the-secret").status_code == 401
    assert actions.post("create-invoice", body, age=301).status_code == 401  # older than five minutes
    unknown = actions.post("delete-everything", body)
    assert (unknown.status_code, unknown.json()) == (404, {"message": "unknown workflow action 'delete-everything'"})
    not_json = actions.post("create-invoice", None, raw=b"{not json")
    assert (not_json.status_code, not_json.json()) == (400, {"message": "the body is not JSON"})
    no_callback = actions.post("create-invoice", {**body, "callbackId": ""})
    assert (no_callback.status_code, no_callback.json()) == (400, {"message": "callbackId is missing or not an id"})
    bad_inputs = actions.post("create-invoice", {**body, "inputFields": ["a"]})
    assert bad_inputs.json() == {"message": "inputFields must be a JSON object"}
    assert WorkflowExecution.objects.count() == 0


INVALID = [
    ("create-invoice", {"invoice_date": "2026-13-01"},
     '"Invoice date" must be a date written YYYY-MM-DD, e.g. 2026-12-31; got "2026-13-01".'),
    ("create-invoice", {"currency": "kronor"},
     '"Currency" must be a three-letter currency code such as SEK, EUR or USD; got "kronor".'),
    ("create-invoice", {"delivery_type": "Fax"},
     '"Delivery type" must be one of Mail, Email, Manually, Svefaktura, Efaktura; got "Fax".'),
    ("create-agreement", {"invoice_day": "Sometimes"},
     '"Invoice day" must be one of Invoice at start, Pay at start, Invoice at end, Invoice at start of month, '
     'Invoice 60 days prior, Invoice at end of month, Invoice 1 day prior, Invoice 5 days prior; got "Sometimes".'),
    ("create-agreement", {"invoice_interval_months": "2"},
     '"Invoice interval (months)" must be one of 1, 3, 6, 12, 24, 36, 48, 60 months (HubSpot subscriptions have no '
     'billing frequency for other intervals); got "2".'),
    ("create-agreement", {"payment_days": "thirty"},
     '"Payment days" must be a number of at least 0, e.g. 30; got "thirty".'),
    ("create-agreement", {"payment_days": "12.5"},
     '"Payment days" must be a whole number of days from 0 to 365; got "12.5".'),
    ("create-agreement", {"start_date": "2027-06-01", "end_date": "2027-01-01"},
     '"End date" (2027-01-01) is before the start date (2027-06-01).'),
    ("create-project", {"budget_amount": "100.555"},
     '"Budget amount" can have at most two decimals (Kleer stores öre); got "100.555".'),
    ("create-project", {"budget_hours": "-3"}, '"Budget hours" must be a number of at least 0, e.g. 40.5; got "-3".'),
    ("create-project", {"fixed_price": "maybe"}, '"Fixed price" must be one of Yes, No; got "maybe".'),
    ("create-client", {}, '"Name" is required.'),
    ("create-client", {"name": "A", "client_type": "Company"},
     '"Client type" must be one of Organisation, Person; got "Company".'),
]  # fmt: skip


def test_every_invalid_input_kind_fails_at_once_and_calls_nothing(world_factory, actions, live_server):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    kleer_before = len(kleer_api(world, live_server).requests_log())
    for action, inputs, reason in INVALID:
        object_type = "COMPANY" if "client" in action else "DEAL"
        callback, answer = actions.run(action, world, object_type, 123, inputs)
        assert answer == failed(answer, reason), action
        row = WorkflowExecution.objects.get(callback_id=callback)
        assert (row.state, row.attempts, row.completed_at is not None) == ("failed", 0, True)
    assert len(kleer_api(world, live_server).requests_log()) == kleer_before


def test_a_pro_action_on_the_free_plan_and_a_portal_without_kleer_fail_at_once(world_factory, actions):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0, pro=False)
    _cb, answer = actions.run("create-invoice", world, "DEAL", 5)
    assert answer == failed(answer, '"Create Kleer Invoice" needs the Pro plan; this portal is on the Free plan.')
    _cb, mapped = actions.run("create-client-from-mappings", world, "COMPANY", 5)
    assert mapped["outputFields"]["failure_reason"].endswith("needs the Pro plan; this portal is on the Free plan.")
    _cb, wrong = actions.run("create-client", world, "DEAL", 5, {"name": "A"})
    assert wrong["outputFields"]["failure_reason"] == (
        '"Create Kleer Client" runs on company records; this workflow enrolled a deal.'
    )
    KleerCredentials.objects.filter(portal=world.portal).delete()
    _cb, unconnected = actions.run("create-client", world, "COMPANY", 5, {"name": "A"})
    assert unconnected["outputFields"]["failure_reason"] == (
        "Kleer is not connected: enter the Kleer company id and API key in the app's settings."
    )


def test_missing_prerequisites_fail_without_retries_and_create_nothing(world_factory, actions, live_server):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    world.portal.plan = Plan.PRO
    crm = Crm(world.hub_id)
    no_id = crm.create("companies", {"name": "Utan Kleer AB"})
    crm.property("deals", "kleer_agreement_id")
    cases = [
        ("create-invoice", crm.deal(None, [{"name": "X", "price": "1"}]),
         "The deal has no associated company: associate the customer's company with the deal."),
        ("create-agreement", crm.deal(no_id, [{"name": "X", "price": "1"}]),
         'The deal\'s company "Utan Kleer AB" has no Kleer ID: create it in Kleer first (Create Kleer Client, or '
         "sync clients), then run this action again."),
        ("update-agreement", crm.deal(no_id, [{"name": "X", "price": "1"}]),
         "The deal has no Kleer Agreement ID (kleer_agreement_id): set it to the agreement to update, or use "
         "Create Kleer Agreement."),
        ("update-agreement", crm.deal(no_id, [], kleer_agreement_id="4410999"),
         "The deal has no line items: add the products to bill to the deal first."),
        ("create-project", "999999", "The deal 999999 no longer exists in HubSpot."),
    ]  # fmt: skip
    for action, deal, reason in cases:
        callback, answer = actions.run(action, world, "DEAL", deal)
        row = WorkflowExecution.objects.get(callback_id=callback)
        assert answer["outputFields"]["hs_execution_state"] == "BLOCK"
        assert (row.state, row.outcome, row.reason, row.attempts, row.claim) == ("failed", "failed", reason, 1, None)
    assert [r["method"] for r in kleer_api(world, live_server).requests_log() if r["method"] != "GET"] == []


def test_an_invoice_line_item_that_is_not_a_kleer_product_is_refused_by_name(world_factory, actions, live_server):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, _client = synced_company(world, live_server, crm)
    deal = crm.deal(company, [{"name": "Fri text", "price": "10"}])

    callback, _ = actions.run("create-invoice", world, "DEAL", deal)

    assert WorkflowExecution.objects.get(callback_id=callback).reason == (
        'Line item "Fri text" is not a product from Kleer, and every Kleer invoice row needs one: add the product '
        "from the product library synced from Kleer."
    )


def test_kleer_throttling_and_5xx_are_retried_and_create_one_agreement(world_factory, actions, live_server):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, _client = synced_company(world, live_server, crm)
    api = kleer_api(world, live_server)
    # 429 and 423: Kleer did not act, the HTTP layer retries. Then a 502 with an HTML body: Kleer may have acted,
    # so the task retries, looks the agreement up by its reference first, and creates it once.
    api.add_fault(method="PUT", path="^/client/agreement$", status=429, count=1)
    api.add_fault(method="PUT", path="^/client/agreement$", status=423, count=1)
    api.add_fault(method="PUT", path="^/client/agreement$", status=502, body="<html>Bad gateway</html>", count=1)
    deal = crm.deal(company, agreement_items())

    callback, _ = actions.run("create-agreement", world, "DEAL", deal)

    row = WorkflowExecution.objects.get(callback_id=callback)
    [agreement] = kleer_list(world, live_server, "/client/agreement", "client-agreements")
    assert (row.state, row.outcome, row.kleer_id, row.attempts) == ("succeeded", "created", str(agreement["id"]), 2)
    puts = [r for r in api.requests_log() if r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [429, 423, 502, 200]
    assert row.reference == agreement["foreign-id"]


def test_a_kleer_refusal_fails_with_kleers_message_and_frees_the_record(world_factory, actions, live_server):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, _client = synced_company(world, live_server, crm)
    api = kleer_api(world, live_server)
    api.add_fault(method="PUT", path="^/client-project$", status=500, body={"message": "Projektnummer finns redan"})
    deal = crm.deal(company, [])

    callback, _answer = actions.run("create-project", world, "DEAL", deal, {"number": "P-1"})

    row = WorkflowExecution.objects.get(callback_id=callback)
    assert (row.state, row.reason) == ("failed", "Kleer refused it: Projektnummer finns redan")
    # The intent was recorded, so the record stays claimed and the next execution looks it up before creating.
    retry, _ = actions.run("create-project", world, "DEAL", deal, {"number": "P-1"})
    again = WorkflowExecution.objects.get(callback_id=retry)
    assert (again.state, again.outcome, again.reference) == ("succeeded", "created", row.reference)
    assert len(kleer_list(world, live_server, "/client-project?filter=all", "client-project-readables")) == 1


@pytest.mark.concurrent_db
def test_two_executions_racing_for_one_deal_create_one_invoice(world_factory, actions, live_server):
    world = world_factory(clients=1, products=1, invoices=0, agreements=0, projects=0, enable=("clients", "products"))
    sync(world, "clients")
    sync(world, "products")
    crm = Crm(world.hub_id)
    company, _client = synced_company(world, live_server, crm)
    [product] = kleer_list(world, live_server, "/product", "products")
    hs_product = crm.first("products", "kleer_id", str(product["id"]))
    deal = crm.deal(company, [{"name": "Licens", "quantity": "1", "price": "100", "hs_product_id": hs_product}])
    # Both executions read the deal before either writes: the Kleer create is slowed so they overlap.
    kleer_api(world, live_server).add_fault(method="PUT", path="^/client/invoice$", delay_seconds=1.5, count=2)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: actions.run("create-invoice", world, "DEAL", deal), range(2)))

    [invoice] = kleer_list(world, live_server, "/client/invoice?filter=all", "client-invoices")
    rows = WorkflowExecution.objects.filter(callback_id__in=[cb for cb, _ in answers]).order_by("outcome")
    assert [(r.state, r.outcome, r.kleer_id) for r in rows] == [
        ("succeeded", "created", str(invoice["id"])),
        ("succeeded", "exists", str(invoice["id"])),
    ]
    assert crm.read("deals", deal, "kleer_invoice_id")["kleer_invoice_id"] == str(invoice["id"])


def test_kleer_down_on_every_attempt_fails_with_the_reason_and_a_later_run_creates_once(
    world_factory, actions, live_server
):
    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    crm = Crm(world.hub_id)
    company = crm.create("companies", {"name": "Nere AB"})
    api = kleer_api(world, live_server)
    api.add_fault(method="PUT", path="^/client$", status=503, body="<html>Unavailable</html>", count=6)

    callback, _ = actions.run("create-client", world, "COMPANY", company, {"name": "Nere AB"})

    row = WorkflowExecution.objects.get(callback_id=callback)
    assert (row.state, row.attempts) == ("failed", 6)  # the first try and five retries
    assert (
        row.reason == "Kleer or HubSpot did not answer after several tries: Kleer: Kleer answered HTTP 503 (HTTP 503)"
    )
    assert kleer_list(world, live_server, "/client", "clients") == []
    # The outcome of the last create was unknown, so the record stays claimed with its reference: the next run
    # looks it up in Kleer before creating.
    again, _ = actions.run("create-client", world, "COMPANY", company, {"name": "Nere AB"})
    created = WorkflowExecution.objects.get(callback_id=again)
    [client] = kleer_list(world, live_server, "/client", "clients")
    assert (created.state, created.kleer_id, client["foreign-id"]) == ("succeeded", str(client["id"]), row.reference)


@pytest.mark.concurrent_db
def test_a_task_delivered_twice_at_once_runs_the_execution_once(world_factory, live_server, sandbox_urls):
    from django.db import connection

    from integration.services.workflow_actions import Busy, workflow_execution_run

    world = world_factory(clients=0, products=0, invoices=0, agreements=0, projects=0)
    company = Crm(world.hub_id).create("companies", {"name": "Dubbel AB"})
    row = WorkflowExecution.objects.create(
        portal=world.portal, hub_id=world.hub_id, callback_id="cb-twice", action="create-client",
        object_type="COMPANY", object_id=company, inputs={"name": "Dubbel AB"},
    )  # fmt: skip
    kleer_api(world, live_server).add_fault(method="PUT", path="^/client$", delay_seconds=1.5)

    def deliver(_: int) -> str:
        try:
            return workflow_execution_run(execution_id=row.pk, final_attempt=False).outcome
        except Busy:
            return "busy"
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(deliver, range(2)))

    assert outcomes == ["busy", "created"]
    assert len(kleer_list(world, live_server, "/client", "clients")) == 1
    # Delivered once more later: finished, so it changes nothing (at most it completes in HubSpot again).
    assert workflow_execution_run(execution_id=row.pk).outcome == "created"
    assert WorkflowExecution.objects.get(pk=row.pk).attempts == 1
