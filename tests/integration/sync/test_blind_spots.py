"""Behaviour no earlier test pinned: bugs planted here passed the whole related suite (issue 16, item 8)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from integration.models import SyncedRecord
from sandbox.hubspot.models import RequestLog
from sandbox.kleer.testing import KleerApi
from tests.integration.sync.test_engine import run
from tests.integration.sync.test_objects import by_kleer_id, kleer, last_log_id, linked, writes_since

pytestmark = pytest.mark.django_db(transaction=True)
UPSERT = "POST /crm/objects/2026-03/companies/batch/upsert"


def upserted_ids(world, after_id: int) -> list[str]:
    """Every record id sent in a companies batch upsert since `after_id`, from the fake HubSpot's request log."""
    ids: list[str] = []
    for row in writes_since(world, after_id):
        assert row.endpoint == UPSERT, row.endpoint
        body = row.request_body if isinstance(row.request_body, dict) else json.loads(row.request_body)
        ids += [item["id"] for item in body["inputs"]]
    return ids


def test_a_full_run_after_a_no_op_run_updates_every_record_once(world_factory):
    world = world_factory(clients=7, invoices=0, agreements=0, projects=0, enable=("clients",))
    run(world, "clients")
    mark = last_log_id()
    assert run(world, "clients").hubspot_calls == 0  # nothing changed: the no-op run sends nothing
    assert upserted_ids(world, mark) == []

    out = io.StringIO()
    call_command("sync_portal", str(world.hub_id), "--object", "clients", "--full", "--json", stdout=out)

    kleer_ids = sorted(r.id for r in kleer(world).iter_clients())
    sent = upserted_ids(world, mark)
    assert sorted(sent) == kleer_ids  # every record, each exactly once
    report = json.loads(out.getvalue())
    assert report["objects"]["clients"]["updated"] == len(kleer_ids)
    assert report["objects"]["clients"]["created"] == 0
    assert sorted(by_kleer_id(world, "companies")) == kleer_ids  # no duplicate company in HubSpot
    assert SyncedRecord.objects.filter(portal=world.portal, object_type="clients").count() == len(kleer_ids)


def test_an_invoice_moved_to_another_client_is_linked_to_exactly_the_new_company(world_factory, live_server):
    world = world_factory(
        clients=4, products=2, invoices=12, agreements=0, projects=0, enable=("clients", "invoices", "line_items")
    )
    run(world, "clients")
    run(world, "invoices")
    invoice = next(iter(SyncedRecord.objects.filter(portal=world.portal, object_type="invoices").order_by("kleer_id")))
    data = next(r.data for r in kleer(world).iter_invoices() if r.id == invoice.kleer_id)
    old_client = str(data["client-ref"]["id"])
    companies = {r.kleer_id: r.hubspot_id for r in SyncedRecord.objects.filter(object_type="clients")}
    new_client = next(k for k in sorted(companies) if k != old_client)
    assert linked(world, "invoices", invoice.hubspot_id, "companies") == {companies[old_client]}

    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.control(
        "PATCH", f"/record/invoice/{invoice.kleer_id}", {"client-ref": {"id": int(new_client)}}
    ).raise_for_status()
    mark = last_log_id()
    result = run(world, "invoices")

    assert linked(world, "invoices", invoice.hubspot_id, "companies") == {companies[new_client]}
    assert result.status == "succeeded"
    assert RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark).exclude(method="GET").exists()
