"""Every object type through the engine over real HTTP: first sync, no-op re-sync, one edit, gone, crash."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs

import pytest
from celery.exceptions import Retry
from django.core.management import CommandError, call_command
from django.utils import timezone

from integration.catalog import transforms
from integration.clients.errors import TransientError
from integration.clients.kleer import KleerClient
from integration.models import ObjectSync, RecordError, SyncedRecord
from integration.services.audit import Actor
from integration.services.object_syncs import object_sync_set_target
from integration.services.record_errors import BACKOFF, MAX_ATTEMPTS, record_errors_retry
from integration.services.sync import portal_sync_run
from integration.sync.readers import history_start
from sandbox.hubspot import faults
from sandbox.hubspot import state as hubspot_state
from sandbox.hubspot.models import Portal as FakePortal
from sandbox.hubspot.models import RequestLog
from sandbox.hubspot_crm.selectors import associations_of, objects_for
from sandbox.kleer.testing import KleerApi
from tests.conftest import zone_at_noon
from tests.integration.sync.test_engine import run

pytestmark = pytest.mark.django_db(transaction=True)


def kleer(world) -> KleerClient:
    return KleerClient(company_id=world.company_id, token=world.token)


def by_kleer_id(world, hubspot_object: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for record in objects_for(world.hub_id, hubspot_object):
        key = record["properties"].get("kleer_id")
        assert key not in found, f"duplicate {hubspot_object} for kleer_id {key}"
        found[key] = record
    return found


def money(ore) -> Decimal:
    """Öre → kronor rounded to the cent, half up (what HubSpot must show)."""
    return (Decimal(ore) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def last_log_id() -> int:
    row = RequestLog.objects.order_by("-id").first()
    return row.pk if row else 0


def writes_since(world, after_id: int) -> list[RequestLog]:
    rows = RequestLog.objects.filter(hub_id=world.hub_id, id__gt=after_id).exclude(method="GET")
    return [r for r in rows if "/search" not in r.path]


def linked(world, hubspot_object: str, hubspot_id: str, to: str) -> set[str]:
    return {
        a["toObjectId"] for a in associations_of(world.hub_id, hubspot_object, hubspot_id) if a["toObjectType"] == to
    }


def test_invoices_land_certified_only_with_money_status_line_items_and_associations(world_factory, live_server):
    world = world_factory(
        clients=4, products=3, invoices=30, agreements=0, projects=0, enable=("clients", "invoices", "line_items")
    )
    window = history_start(world.portal)
    invoices = list(kleer(world).iter_invoices(date_from=window))
    assert len(invoices) >= 4 and len(list(kleer(world).iter_invoices())) > len(invoices), "seed: old invoices"
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    draft, credit = invoices[0].id, invoices[1].id
    api.control("PATCH", f"/record/invoice/{draft}", {"certified": False}).raise_for_status()
    api.control("PATCH", f"/record/invoice/{credit}", {"debit-invoice-nr": 1}).raise_for_status()
    run(world, "clients")
    result = run(world, "invoices")
    invoices = list(kleer(world).iter_invoices(date_from=window))
    eligible = {r.id: r.data for r in invoices if transforms.invoice_is_syncable(r.data)}
    assert draft not in eligible and credit not in eligible
    landed = by_kleer_id(world, "invoices")
    assert set(landed) == set(eligible)
    assert (result.status, result.read, result.created, result.skipped) == (
        "succeeded",
        len(invoices),
        len(eligible),
        len(invoices) - len(eligible),
    )
    companies = {r.kleer_id: r.hubspot_id for r in SyncedRecord.objects.filter(object_type="clients")}
    for kleer_id, invoice in eligible.items():
        props = landed[kleer_id]["properties"]
        assert Decimal(props["kleer_total_amount"]) == money(transforms.invoice_total_amount(invoice))
        assert props["hs_invoice_status"] == transforms.invoice_status(invoice)
        assert props["hs_invoice_billable"] == "false"
        assert props["kleer_invoice_nr"] == str(invoice["invoice-nr"])
        hub_id = landed[kleer_id]["id"]
        assert linked(world, "invoices", hub_id, "companies") == {companies[str(invoice["client-ref"]["id"])]}
        rows = transforms.line_items_from_invoice(invoice)
        items = {i["id"]: i for i in objects_for(world.hub_id, "line_items")}
        attached = linked(world, "invoices", hub_id, "line_items")
        assert len(attached) == len(rows)
        assert sorted(items[i]["properties"]["kleer_id"] for i in attached) == sorted(
            f"{kleer_id}-row-{n}" for n in range(len(rows))
        )
        for item_id in attached:
            n = int(items[item_id]["properties"]["kleer_id"].rsplit("-", 1)[1])
            assert Decimal(items[item_id]["properties"]["price"]) == money(rows[n]["price"])
    assert SyncedRecord.objects.filter(object_type="invoices").count() == len(eligible)


def test_agreements_become_subscriptions_with_computed_fields_and_recurring_line_items(world_factory):
    world = world_factory(
        clients=3, invoices=0, agreements=4, projects=0, enable=("clients", "agreements", "line_items")
    )
    run(world, "clients")
    result = run(world, "agreements")
    agreements = {r.id: r.data for r in kleer(world).iter_agreements() if not r.data.get("deleted")}
    subs = by_kleer_id(world, "subscriptions")
    assert set(subs) == set(agreements)
    assert (result.status, result.created) == ("succeeded", len(agreements))
    items = by_kleer_id(world, "line_items")
    for kleer_id, agreement in agreements.items():
        props = subs[kleer_id]["properties"]
        assert Decimal(props["kleer_mrr"]) == money(transforms.agreement_mrr(agreement))
        assert Decimal(props["kleer_arr"]) == money(transforms.agreement_arr(agreement))
        assert props["hs_recurring_billing_frequency"] == transforms.agreement_billing_frequency(agreement)
        assert props["kleer_status"] == transforms.agreement_status(agreement)
        assert props["hs_invoice_creation"] == "off"
        client = SyncedRecord.objects.get(object_type="clients", kleer_id=str(agreement["client-ref"]["id"]))
        assert linked(world, "subscriptions", subs[kleer_id]["id"], "companies") == {client.hubspot_id}
        for row in transforms.line_items_from_agreement(agreement):
            item = items[row["id"]]["properties"]
            expected = transforms.agreement_billing_frequency(agreement) if "-recurring-" in row["id"] else None
            assert item.get("recurringbillingfrequency") == expected


def test_agreements_switched_to_deals_land_with_prefixed_keys(world_factory):
    world = world_factory(clients=3, invoices=0, agreements=3, projects=0, enable=("clients", "agreements"))
    object_sync_set_target(
        object_sync=ObjectSync.objects.get(portal=world.portal, object_type="agreements"),
        hubspot_object="deals",
        actor=Actor(label="test"),
    )
    run(world, "clients")
    result = run(world, "agreements")
    agreements = {r.id: r.data for r in kleer(world).iter_agreements() if not r.data.get("deleted")}
    deals = by_kleer_id(world, "deals")
    assert set(deals) == {f"agreement-{k}" for k in agreements}
    assert result.status == "succeeded"
    for kleer_id, agreement in agreements.items():
        props = deals[f"agreement-{kleer_id}"]["properties"]
        assert Decimal(props["amount"]) == money(transforms.agreement_arr(agreement))
        # The portal's first deal pipeline and its first stage (the fake's defaults), stored for later runs.
        assert (props["pipeline"], props["dealstage"]) == ("default", "appointmentscheduled")
    sync = ObjectSync.objects.get(portal=world.portal, object_type="agreements")
    assert (sync.pipeline_id, sync.stage_id) == ("default", "appointmentscheduled")


def test_products_and_projects_land_and_projects_link_to_companies(world_factory):
    world = world_factory(
        clients=3, products=4, invoices=0, agreements=0, projects=3, enable=("clients", "products", "projects")
    )
    for object_type in ("clients", "products", "projects"):
        assert run(world, object_type).status == "succeeded"
    products = {r.id: r.data for r in kleer(world).iter_products()}
    landed = by_kleer_id(world, "products")
    assert set(landed) == set(products)
    for kleer_id, product in products.items():
        assert landed[kleer_id]["properties"]["name"] == product["name"]
        assert Decimal(landed[kleer_id]["properties"]["price"]) == money(product["price"])
    projects = {r.id: r.data for r in kleer(world).iter_projects()}
    synced = SyncedRecord.objects.filter(object_type="projects")
    assert {r.kleer_id for r in synced} == set(projects)
    for record in synced:
        client_ref = (projects[record.kleer_id].get("client-ref") or {}).get("id")
        if client_ref:
            company = SyncedRecord.objects.get(object_type="clients", kleer_id=str(client_ref))
            assert linked(world, record.hubspot_object, record.hubspot_id, "companies") == {company.hubspot_id}


def test_second_run_writes_nothing_and_one_edit_sends_one_record(world_factory, live_server):
    world = world_factory(clients=6, invoices=0, agreements=0, projects=0, enable=("clients",))
    run(world, "clients")
    mark = last_log_id()
    second = run(world, "clients")
    assert writes_since(world, mark) == []
    assert (second.read, second.unchanged, second.created, second.updated, second.hubspot_calls) == (6, 6, 0, 0, 0)
    target = sorted(kleer(world).iter_clients(), key=lambda r: r.id)[0]
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.control("PATCH", f"/record/client/{target.id}", {"name": "Renamed AB"}).raise_for_status()
    mark = last_log_id()
    third = run(world, "clients")
    writes = writes_since(world, mark)
    assert [w.endpoint for w in writes] == ["POST /crm/objects/2026-03/companies/batch/upsert"]
    body = writes[0].request_body if isinstance(writes[0].request_body, dict) else json.loads(writes[0].request_body)
    assert [i["id"] for i in body["inputs"]] == [target.id]
    assert (third.updated, third.unchanged, third.created) == (1, third.read - 1, 0)
    # Our counter agrees with what the fake HubSpot logged for the run.
    assert third.hubspot_calls == RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).count()
    assert by_kleer_id(world, "companies")[target.id]["properties"]["name"] == "Renamed AB"


def test_a_client_gone_from_kleer_is_flagged_deleted(world_factory, live_server):
    world = world_factory(clients=4, invoices=0, agreements=0, projects=0, enable=("clients",))
    run(world, "clients")
    gone = sorted(kleer(world).iter_clients(), key=lambda r: r.id)[0]
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.control("DELETE", f"/record/client/{gone.id}").raise_for_status()
    result = run(world, "clients")
    companies = by_kleer_id(world, "companies")
    assert len(companies) == 4
    assert {k for k, c in companies.items() if c["properties"]["kleer_deleted"] == "true"} == {gone.id}
    assert result.deleted == 1
    assert SyncedRecord.objects.get(object_type="clients", kleer_id=gone.id).deleted_in_kleer
    mark = last_log_id()
    assert run(world, "clients").deleted == 0
    assert writes_since(world, mark) == []


def test_a_crash_on_the_second_batch_loses_and_duplicates_nothing(world_factory):
    world = world_factory(clients=150, invoices=0, agreements=0, projects=0, enable=("clients",))
    fake = FakePortal.objects.get(hub_id=world.hub_id)
    # One good batch, then the second batch upsert fails with 500s for longer than the client retries.
    faults.fault_add(portal=fake, spec={"method": "POST", "path": "batch/upsert$", "count": 1, "passthrough": True})
    faults.fault_add(portal=fake, spec={"method": "POST", "path": "batch/upsert$", "status": 500, "count": 20})
    with pytest.raises(TransientError):
        run(world, "clients")
    assert SyncedRecord.objects.filter(object_type="clients").count() == 100
    faults.faults_clear(portal=fake)
    result = run(world, "clients")
    companies = by_kleer_id(world, "companies")
    assert len(companies) == 150
    assert (result.created, result.unchanged) == (50, 100)
    assert set(SyncedRecord.objects.filter(object_type="clients").values_list("kleer_id", flat=True)) == set(companies)


def test_invoices_before_their_clients_associate_on_a_later_run(world_factory):
    world = world_factory(clients=3, invoices=8, agreements=0, projects=0, enable=("clients", "invoices"))
    run(world, "invoices")
    landed = by_kleer_id(world, "invoices")
    assert landed
    assert all(linked(world, "invoices", r["id"], "companies") == set() for r in landed.values())
    run(world, "clients")
    run(world, "invoices")
    for record in landed.values():
        assert len(linked(world, "invoices", record["id"], "companies")) == 1


def test_sync_portal_json_prints_one_object(world_factory):
    world = world_factory(clients=3, products=2, invoices=0, agreements=0, projects=0, enable=("clients", "products"))
    out = io.StringIO()
    call_command("sync_portal", str(world.hub_id), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["portal"] == world.hub_id
    assert set(data) == {"portal", "objects"}
    assert list(data["objects"]) == ["clients", "products", "projects", "invoices", "agreements"]
    keys = {"read", "unchanged", "created", "matched", "updated", "failed", "skipped", "deleted", "hubspot_calls"}
    keys.add("seconds")
    clients, products = data["objects"]["clients"], data["objects"]["products"]
    assert set(clients) == keys | {"status"}
    assert (clients["status"], clients["read"], clients["created"], clients["failed"]) == ("succeeded", 3, 3, 0)
    assert (products["status"], products["created"]) == ("succeeded", 2)
    assert clients["hubspot_calls"] > 0 and isinstance(clients["seconds"], float)
    assert data["objects"]["invoices"]["status"] == "skipped"  # switched off: recorded with the reason
    assert data["objects"]["invoices"]["error"] == "Invoices sync is switched off"
    with pytest.raises(CommandError, match="No portal"):
        call_command("sync_portal", "999999999", "--json", stdout=io.StringIO())


def test_sync_portal_json_sums_line_items_of_invoices_and_agreements(world_factory):
    world = world_factory(
        clients=3, invoices=6, agreements=3, projects=0, enable=("clients", "invoices", "agreements", "line_items")
    )
    out = io.StringIO()
    call_command("sync_portal", str(world.hub_id), "--json", stdout=out)
    line_items = json.loads(out.getvalue())["objects"]["line_items"]
    items = SyncedRecord.objects.filter(object_type="line_items")
    from_invoices = items.filter(kleer_id__contains="-row-").count()
    from_agreements = items.exclude(kleer_id__contains="-row-").count()
    assert from_invoices > 0 and from_agreements > 0
    assert (line_items["created"], line_items["failed"]) == (from_invoices + from_agreements, 0)
    assert line_items["status"] == "succeeded"
    assert len(by_kleer_id(world, "line_items")) == from_invoices + from_agreements


def test_a_run_counts_its_429s_and_failed_calls_for_the_api_budget(world_factory):
    world = world_factory(clients=5, invoices=0, agreements=0, projects=0, enable=("clients",))
    fake = FakePortal.objects.get(hub_id=world.hub_id)
    upsert = {"method": "POST", "path": "batch/upsert$", "count": 1}
    faults.fault_add(portal=fake, spec={**upsert, "status": 429, "retry_after": 1})
    faults.fault_add(portal=fake, spec={**upsert, "status": 502})
    mark = last_log_id()
    result = run(world, "clients")
    assert (result.status, result.created) == ("succeeded", 5)
    assert (result.hubspot_throttled, result.hubspot_errors) == (1, 2)
    assert result.hubspot_calls == RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).count()


def test_an_invoice_hubspot_rejects_is_retried_with_backoff_then_parked(world_factory, live_server):
    world = world_factory(clients=3, invoices=30, agreements=0, projects=0, enable=("clients", "invoices"))
    run(world, "clients")
    invoices = [r for r in kleer(world).iter_invoices(date_from=history_start(world.portal))]
    eligible = {r.id for r in invoices if transforms.invoice_is_syncable(r.data)}
    bad = sorted(eligible)[0]
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    # hs_currency is an enumeration in HubSpot: an unknown code is refused for that record only (207).
    api.control("PATCH", f"/record/invoice/{bad}", {"currency": "ZZZ"}).raise_for_status()
    started = timezone.now()
    first = run(world, "invoices")
    assert (first.status, first.created, first.failed) == ("partial", len(eligible) - 1, 1)
    assert set(by_kleer_id(world, "invoices")) == eligible - {bad}
    error = RecordError.objects.get(portal=world.portal, object_type="invoices")
    assert (error.kleer_id, error.status, error.attempts) == (bad, "open", 1)
    assert error.category and "ZZZ" in error.message
    assert started + BACKOFF[1] <= error.next_retry_at <= timezone.now() + BACKOFF[1]

    mark = last_log_id()
    waiting = run(world, "invoices")  # inside the backoff: not sent again
    assert (waiting.failed, waiting.unchanged) == (0, len(eligible) - 1)
    assert writes_since(world, mark) == []

    for attempt in range(2, MAX_ATTEMPTS + 1):
        RecordError.objects.filter(pk=error.pk).update(next_retry_at=timezone.now() - dt.timedelta(seconds=1))
        retried = run(world, "invoices")
        assert (retried.failed, retried.unchanged) == (1, len(eligible) - 1)
        error.refresh_from_db()
        assert error.attempts == attempt
    assert (error.status, error.next_retry_at) == ("parked", None)
    mark = last_log_id()
    run(world, "invoices")
    assert writes_since(world, mark) == []

    api.control("PATCH", f"/record/invoice/{bad}", {"currency": "SEK"}).raise_for_status()
    assert record_errors_retry(portal=world.portal, object_type="invoices") == 1
    fixed = run(world, "invoices")
    assert (fixed.status, fixed.created, fixed.failed) == ("succeeded", 1, 0)
    assert set(by_kleer_id(world, "invoices")) == eligible
    error.refresh_from_db()
    assert error.status == "resolved"


def test_agreements_as_subscriptions_without_payments_fail_with_advice_and_sync_as_deals(world_factory):
    """Installs switch such portals to deals (test_install_sandbox); a portal that loses payments later, or a
    customer who picks subscriptions anyway, gets a run that says what to do and writes nothing."""
    world = world_factory(clients=2, invoices=0, agreements=2, projects=0, enable=("clients", "agreements"))
    hubspot_state.portal_update(portal=FakePortal.objects.get(hub_id=world.hub_id), features={"payments": False})
    run(world, "clients")
    result = run(world, "agreements")
    assert (result.status, result.created, result.failed) == ("failed", 0, 0)
    assert result.error == (
        "HubSpot: This HubSpot portal has no Subscriptions: that needs HubSpot Payments or Stripe. Set it up in "
        "HubSpot, or sync agreements to Deals instead."
    )
    assert SyncedRecord.objects.filter(object_type="agreements").count() == 0
    agreements = ObjectSync.objects.get(portal=world.portal, object_type="agreements")
    object_sync_set_target(object_sync=agreements, hubspot_object="deals", actor=Actor(label="test"))
    assert (run(world, "agreements").status, len(by_kleer_id(world, "deals"))) == ("succeeded", 2)


def test_an_agreement_soft_deleted_in_kleer_is_flagged_and_archive_opt_in_archives(world_factory, live_server):
    world = world_factory(clients=2, invoices=0, agreements=3, projects=0, enable=("clients", "agreements"))
    run(world, "clients")
    seeded = list(kleer(world).iter_agreements())
    ids = sorted(r.id for r in seeded if not r.data.get("deleted"))
    soft = len(seeded) - len(ids)  # the seed's own soft-deleted agreements, never in HubSpot
    first = run(world, "agreements")
    assert (first.read, first.skipped, first.deleted) == (len(seeded), soft, 0)
    assert_every_record_counted_once(first)
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.control("PATCH", f"/record/agreement/{ids[0]}", {"deleted": True}).raise_for_status()
    second = run(world, "agreements")
    assert (second.read, second.skipped, second.deleted) == (len(seeded), soft, 1)
    assert_every_record_counted_once(second)
    subs = by_kleer_id(world, "subscriptions")
    assert {k for k, r in subs.items() if r["properties"]["kleer_deleted"] == "true"} == {ids[0]}
    world.portal.archive_deleted = True
    world.portal.save(update_fields=["archive_deleted"])
    api.control("DELETE", f"/record/agreement/{ids[1]}").raise_for_status()
    third = run(world, "agreements")
    # ids[0] was marked deleted by the run before: now it is skipped; ids[1] is no longer read at all.
    assert (third.read, third.skipped, third.deleted) == (len(seeded) - 1, soft + 1, 1)
    assert_every_record_counted_once(third, unread_deleted=1)
    assert set(by_kleer_id(world, "subscriptions")) == set(ids) - {ids[1]}


def assert_every_record_counted_once(result, *, unread_deleted: int = 0) -> None:
    """Each record read lands in exactly one count; `unread_deleted` records vanished from Kleer's list."""
    outcomes = result.created + result.updated + result.unchanged + result.failed + result.skipped
    assert result.read == outcomes + result.deleted - unread_deleted


def test_a_crash_between_invoices_and_their_line_items_heals_on_the_next_run(world_factory):
    world = world_factory(
        clients=3, invoices=30, agreements=0, projects=0, enable=("clients", "invoices", "line_items")
    )
    run(world, "clients")
    fake = FakePortal.objects.get(hub_id=world.hub_id)
    # The invoices batch is accepted, then the connection drops on every line-item upsert the client tries.
    faults.fault_add(
        portal=fake, spec={"method": "POST", "path": "line_items/batch/upsert$", "drop_connection": True, "count": 20}
    )
    with pytest.raises(TransientError):
        run(world, "invoices")
    assert objects_for(world.hub_id, "line_items") == []
    faults.faults_clear(portal=fake)
    healed = run(world, "invoices")
    eligible = {
        r.id: r.data
        for r in kleer(world).iter_invoices(date_from=history_start(world.portal))
        if transforms.invoice_is_syncable(r.data)
    }
    assert (healed.status, healed.created, healed.unchanged) == ("succeeded", 0, len(eligible))
    expected = {row["id"] for invoice in eligible.values() for row in transforms.line_items_from_invoice(invoice)}
    items = by_kleer_id(world, "line_items")
    assert set(items) == expected
    assert set(SyncedRecord.objects.filter(object_type="line_items").values_list("kleer_id", flat=True)) == expected
    for kleer_id, invoice in by_kleer_id(world, "invoices").items():
        attached = linked(world, "invoices", invoice["id"], "line_items")
        assert len(attached) == len(transforms.line_items_from_invoice(eligible[kleer_id]))
        assert len(linked(world, "invoices", invoice["id"], "companies")) == 1


EVERY_OBJECT = ("clients", "products", "projects", "invoices", "agreements", "line_items")


def every_object_world(world_factory, **counts):
    """A small world with every object type switched on (counts override the defaults)."""
    return world_factory(
        **{"clients": 3, "products": 2, "invoices": 20, "agreements": 2, "projects": 2, **counts}, enable=EVERY_OBJECT
    )


def test_a_second_sync_of_every_object_type_makes_no_hubspot_write(world_factory):
    world = every_object_world(world_factory)
    mark = last_log_id()
    first = portal_sync_run(portal=world.portal)
    assert [r.status for r in first] == ["succeeded"] * 5
    # The first whole-portal sync ensured every object's schema (line items' too) before any record was written.
    calls = [r.path for r in RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).order_by("id")]
    first_write = next(i for i, path in enumerate(calls) if path.endswith("/batch/upsert"))
    before = {p.split("/")[4] for p in calls[:first_write] if p.startswith("/crm/properties/")}
    targets = set(ObjectSync.objects.filter(portal=world.portal, enabled=True).values_list("hubspot_object", flat=True))
    assert before == targets
    assert not [p for p in calls[first_write:] if p.startswith("/crm/properties/")]
    mark = last_log_id()
    second = portal_sync_run(portal=world.portal)
    assert writes_since(world, mark) == []
    assert [(r.object_type, r.created, r.updated, r.hubspot_calls) for r in second] == [
        (r.object_type, 0, 0, 0) for r in first
    ]
    assert all(r.unchanged == f.created for r, f in zip(second, first, strict=True))


# Kleer's readings the reference marks inferred or unknown (kleer-api.md §5.2, §5.3, §1.8; the fake's
# conventions.DEFAULT_OPTIONS): `null`s sent instead of left out, empty lists sent, dateTimes as epoch millis,
# a 500 instead of a 404 for an unknown id, and a server that pages by 7 whatever limit is asked for.
KLEER_ALTERNATIVES = {
    "omit_nulls": False,
    "omit_empty_lists": False,
    "datetime_format": "epoch_millis",
    "not_found_status": 500,
    "default_limit": 7,
    "max_limit": 7,
}


def test_kleers_alternative_conventions_read_as_the_same_records(world_factory, live_server):
    """Whichever way Kleer turns out to spell these, the product reads the same data: a second sync under the
    alternatives finds every record unchanged (same fingerprints) and writes nothing to HubSpot."""
    world = every_object_world(world_factory, invoices=60)
    first = portal_sync_run(portal=world.portal)
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    options = api.set_options(**KLEER_ALTERNATIVES)
    assert {name: options[name] for name in KLEER_ALTERNATIVES} == KLEER_ALTERNATIVES
    api.control("DELETE", "/requests").raise_for_status()
    mark = last_log_id()
    second = portal_sync_run(portal=world.portal)
    assert writes_since(world, mark) == []
    assert [(r.object_type, r.status, r.read, r.unchanged, r.created, r.updated) for r in second] == [
        (f.object_type, "succeeded", f.read, f.created, 0, 0) for f in first
    ]
    # Asked for 500 a page, served 7: the product walks on by the rows it got, until `size`.
    read = next(f.read for f in first if f.object_type == "invoices")
    offsets = [int(parse_qs(r["query"])["offset"][0]) for r in api.requests_log() if r["path"] == "/client/invoice"]
    assert offsets == list(range(0, read, 7)) and len(offsets) >= 3


def test_every_object_type_syncs_under_hubspots_strictest_readings(world_factory, monkeypatch):
    """The fake's switches for what hubspot-api.md marks unverified, set to their strictest: a list `limit` over
    100 refused (§10.4), products needing name and price (§2.1), 207 errors naming no input (§2.2). The live
    server runs in this process, so patching the modules switches the fake."""
    from sandbox.hubspot_crm import registry
    from sandbox.hubspot_crm.views import batch, objects

    monkeypatch.setattr(objects, "LIST_OVER_MAX", "reject")
    monkeypatch.setattr(registry, "PRODUCT_REQUIRED", (("name",), ("price",)))
    monkeypatch.setattr(batch, "ERROR_CONTEXT", "none")
    world = every_object_world(world_factory, products=4)
    runs = portal_sync_run(portal=world.portal)
    assert [(r.object_type, r.status, r.failed) for r in runs] == [(r.object_type, "succeeded", 0) for r in runs]
    assert sorted(by_kleer_id(world, "products")) == sorted(r.id for r in kleer(world).iter_products())


def test_a_daily_limit_429_reschedules_the_task_without_burning_calls(world_factory):
    """hubspot-api.md §6.3: a DAILY 429 is not retried in the run; the task comes back at most an hour later."""
    from integration import tasks
    from integration.models import SyncRun

    world = world_factory(clients=5, invoices=0, agreements=0, projects=0, enable=("clients",))
    fake = FakePortal.objects.get(hub_id=world.hub_id)
    # Noon in the portal's time zone: HubSpot's Retry-After (until midnight) is ~12 h, and the task caps it.
    fake.time_zone = zone_at_noon()
    fake.save(update_fields=["time_zone"])
    hubspot_state.portal_set_rate_limits(portal=fake, daily_limit=1, retry_after=True)
    mark = last_log_id()
    sync_id = ObjectSync.objects.get(portal=world.portal, object_type="clients").pk
    with pytest.raises(Retry) as retried:
        tasks.object_sync_run.apply(args=(sync_id,), throw=True)
    assert retried.value.when == 3600
    assert str(retried.value.exc) == "RescheduleError('You have reached your daily limit.')"
    statuses = list(RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).values_list("status", flat=True))
    # One call allowed, one refused, no retries (the schema's first two calls go side by side: either may be refused).
    assert sorted(statuses, key=lambda status: status == 429) == [min(statuses), 429] and 200 <= min(statuses) < 300
    run_row = SyncRun.objects.filter(portal=world.portal, object_type="clients").latest("pk")
    assert run_row.status == SyncRun.Status.FAILED
    assert by_kleer_id(world, "companies") == {}


def test_a_record_that_cannot_be_transformed_waits_for_its_backoff_like_any_failed_record(world_factory, live_server):
    """README "How a sync works" step 8: failed records are retried after 10 min, 1 h, … — transform errors too,
    not on every run (which counted their attempts up every 30 minutes and parked them within hours)."""
    world = world_factory(clients=2, invoices=0, agreements=3, projects=0, enable=("clients", "agreements"))
    run(world, "clients")
    live = sorted(r.id for r in kleer(world).iter_agreements() if not r.data.get("deleted"))
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.control("PATCH", f"/record/agreement/{live[0]}", {"invoice-interval-months": 2}).raise_for_status()

    first = run(world, "agreements")
    error = RecordError.objects.get(portal=world.portal, object_type="agreements", kleer_id=live[0])
    assert (first.failed, error.category, error.attempts, error.status) == (1, "TRANSFORM", 1, "open")
    second = run(world, "agreements")
    assert (second.failed, second.skipped - first.skipped) == (0, 1)
    assert RecordError.objects.get(pk=error.pk).attempts == 1

    RecordError.objects.filter(pk=error.pk).update(next_retry_at=timezone.now() - dt.timedelta(seconds=1))
    assert run(world, "agreements").failed == 1
    assert RecordError.objects.get(pk=error.pk).attempts == 2

    api.control("PATCH", f"/record/agreement/{live[0]}", {"invoice-interval-months": 1}).raise_for_status()
    RecordError.objects.filter(pk=error.pk).update(next_retry_at=timezone.now() - dt.timedelta(seconds=1))
    fixed = run(world, "agreements")
    assert (fixed.failed, fixed.created) == (0, 1)
    assert RecordError.objects.get(pk=error.pk).status == RecordError.Status.RESOLVED
    assert live[0] in by_kleer_id(world, "subscriptions")


def test_a_line_item_whose_error_is_waiting_is_skipped_and_its_siblings_land(world_factory):
    """Line items go through the same retry wait as their parents (Writer.prepare)."""
    world = world_factory(
        clients=3, invoices=10, agreements=0, projects=0, enable=("clients", "invoices", "line_items")
    )
    run(world, "clients")
    eligible = [
        r.data
        for r in kleer(world).iter_invoices(date_from=history_start(world.portal))
        if transforms.invoice_is_syncable(r.data)
    ]
    rows = [row["id"] for invoice in eligible for row in transforms.line_items_from_invoice(invoice)]
    waiting = rows[0]
    RecordError.objects.create(
        portal=world.portal,
        object_type="line_items",
        kleer_id=waiting,
        message="refused earlier",
        next_retry_at=timezone.now() + dt.timedelta(hours=1),
    )
    result = run(world, "invoices")
    items = result.children.get(object_type="line_items")
    assert (items.read, items.skipped, items.created, items.failed) == (len(rows), 1, len(rows) - 1, 0)
    assert set(by_kleer_id(world, "line_items")) == set(rows) - {waiting}


def test_a_whole_portal_sync_runs_the_objects_of_one_stage_side_by_side_within_the_portal_cap(world_factory, settings):
    """Clients and products need nothing synced first; projects, invoices and agreements need the clients. So a
    whole-portal sync runs [clients, products] together, then [projects, invoices, agreements] together (each
    needing its stage's predecessors done), and one after the other when the portal cap allows only one run."""
    world = every_object_world(world_factory)
    runs = portal_sync_run(portal=world.portal)
    assert [(r.object_type, r.status) for r in runs] == [
        (t, "succeeded") for t in ("clients", "products", "projects", "invoices", "agreements")
    ]
    by_type = {r.object_type: r for r in runs}
    first, second = [by_type[t] for t in ("clients", "products")], [by_type[t] for t in ("projects", "invoices")]
    second.append(by_type["agreements"])
    assert max(r.started_at for r in first) < min(r.finished_at for r in first)  # side by side
    assert max(r.started_at for r in second) < min(r.finished_at for r in second)
    assert max(r.finished_at for r in first) <= min(r.started_at for r in second)  # stage after stage

    settings.SYNC_MAX_RUNS_PER_PORTAL = 1
    again = sorted(portal_sync_run(portal=world.portal), key=lambda r: r.started_at)
    assert [r.status for r in again] == ["succeeded"] * 5
    assert all(a.finished_at <= b.started_at for a, b in itertools.pairwise(again))


def test_a_schema_that_cannot_hold_one_objects_mappings_fails_that_object_only(world_factory):
    """The schemas are ensured together before a whole-portal sync; one object whose mapping names a HubSpot
    property that does not exist fails its own run with the reason (nothing of it written), and the others sync."""
    from integration.models import FieldMapping

    world = every_object_world(world_factory)
    products = ObjectSync.objects.get(portal=world.portal, object_type="products")
    FieldMapping.objects.create(object_sync=products, kleer_field="name", hubspot_property="hs_no_such_property")

    runs = {r.object_type: r for r in portal_sync_run(portal=world.portal)}

    assert {t: r.status for t, r in runs.items()} == {
        "clients": "succeeded",
        "products": "failed",
        "projects": "succeeded",
        "invoices": "succeeded",
        "agreements": "succeeded",
    }
    # The API error's service names HubSpot once ("HubSpot: …"); the message said it a second time.
    assert (
        runs["products"].error
        == "HubSpot: products have no property hs_no_such_property; fix or delete those mappings."
    )
    assert objects_for(world.hub_id, "products") == []
