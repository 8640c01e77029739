"""Fewer HubSpot calls (issue 15): changed records queued across Kleer pages into full batches of 100, association
pairs sent up to HubSpot's per-call limit, links never sent again while their fingerprint holds. Call counts are
read from the fake HubSpot's request log."""

from __future__ import annotations

import logging
import math
from collections import Counter

import pytest

from integration.models import ObjectSync, SyncedRecord
from integration.services.sync import portal_sync_run
from integration.sync import writer as writer_module
from sandbox.kleer.testing import KleerApi
from tests.integration.sync.test_objects import last_log_id, writes_since

pytestmark = pytest.mark.django_db(transaction=True)

KLEER_PAGE = 7  # the fake Kleer serves 7 invoices a page, whatever is asked


def calls_by_kind(world, after_id: int) -> Counter:
    """Record and association writes since `after_id`: ("upsert", object) and ("associate", from, to)."""
    kinds: Counter = Counter()
    for row in writes_since(world, after_id):
        if row.path.startswith("/crm/properties/"):
            continue  # the schema, made once per portal
        parts = row.path.strip("/").split("/")
        if row.path.endswith("/batch/upsert"):
            kinds[("upsert", parts[-3])] += 1
        elif row.path.endswith("/batch/create") and "associations" in parts:
            kinds[("associate", parts[-4], parts[-3])] += 1
        else:
            kinds[("other", row.method, row.path)] += 1
    return kinds


def target(world, object_type: str) -> str:
    return ObjectSync.objects.get(portal=world.portal, object_type=object_type).hubspot_object


def invoice_world(world_factory, live_server):
    world = world_factory(
        clients=12, products=3, invoices=700, agreements=0, projects=0, enable=("clients", "invoices", "line_items")
    )
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.set_options(default_limit=KLEER_PAGE, max_limit=KLEER_PAGE)
    return world, api


def test_changed_records_go_in_full_batches_across_kleer_pages_and_links_in_one_call_per_type(
    world_factory, live_server
):
    world, _ = invoice_world(world_factory, live_server)
    portal_sync_run(portal=world.portal, object_types=["clients"])
    mark = last_log_id()
    [invoices] = portal_sync_run(portal=world.portal, object_types=["invoices"])
    line_items = invoices.children.get()
    assert invoices.created > 100 and line_items.created > 200  # several batches, each filled from many pages
    assert (invoices.failed, line_items.failed) == (0, 0)
    invoice_target, item_target = target(world, "invoices"), target(world, "line_items")
    assert calls_by_kind(world, mark) == {
        ("upsert", invoice_target): math.ceil(invoices.created / 100),
        ("upsert", item_target): math.ceil(line_items.created / 100),
        ("associate", invoice_target, "companies"): 1,
        ("associate", item_target, invoice_target): 1,
    }
    assert invoices.read > 10 * KLEER_PAGE
    assert invoices.read == invoices.created + invoices.skipped


def test_a_one_percent_delta_is_one_upsert_and_sends_no_link_again(world_factory, live_server):
    world, api = invoice_world(world_factory, live_server)
    portal_sync_run(portal=world.portal, object_types=["clients", "invoices"])
    synced = sorted(
        SyncedRecord.objects.filter(portal=world.portal, object_type="invoices").values_list("kleer_id", flat=True),
        key=int,
    )
    paid: list[str] = []
    for kleer_id in [*synced[:: len(synced) // 3], *synced]:  # spread over different Kleer pages
        if len(paid) < 3 and kleer_id not in paid:
            answer = api.control("POST", f"/client/invoice/{kleer_id}/pay", {})
            if answer.status_code != 409:  # 409: nothing left to pay
                answer.raise_for_status()
                paid.append(kleer_id)
    mark = last_log_id()
    [invoices] = portal_sync_run(portal=world.portal, object_types=["invoices"])
    assert (invoices.updated, invoices.created, invoices.failed) == (3, 0, 0)
    assert calls_by_kind(world, mark) == {("upsert", target(world, "invoices")): 1}
    [upsert] = writes_since(world, mark)
    assert sorted(i["id"].removeprefix("invoice-") for i in _inputs(upsert)) == sorted(paid)


def test_links_whose_fingerprint_holds_are_not_sent_again_after_an_update(world_factory):
    world = world_factory(clients=4, products=0, invoices=0, agreements=0, projects=2, enable=("clients", "projects"))
    portal_sync_run(portal=world.portal)
    before = dict(
        SyncedRecord.objects.filter(portal=world.portal, object_type="projects").values_list(
            "kleer_id", "associations_fingerprint"
        )
    )
    assert all(before.values())
    SyncedRecord.objects.filter(portal=world.portal, object_type="projects").update(fingerprint="stale")
    mark = last_log_id()
    [projects] = portal_sync_run(portal=world.portal, object_types=["projects"])
    assert projects.updated == len(before)
    assert calls_by_kind(world, mark) == {("upsert", target(world, "projects")): 1}
    after = dict(
        SyncedRecord.objects.filter(portal=world.portal, object_type="projects").values_list(
            "kleer_id", "associations_fingerprint"
        )
    )
    assert after == before


def _inputs(row) -> list[dict]:
    import json

    return json.loads(row.request_body)["inputs"]


def test_gone_records_are_found_page_by_page_without_a_not_in_of_every_id(world_factory, live_server, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integration.sync import engine
    from tests.integration.sync.test_objects import by_kleer_id, kleer

    monkeypatch.setattr(engine, "GONE_PAGE", 3)  # 12 live records: four pages
    world = world_factory(clients=12, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    portal_sync_run(portal=world.portal)
    ids = sorted((r.id for r in kleer(world).iter_clients()), key=int)
    gone = ids[1::3]  # spread over the pages
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    for kleer_id in gone:
        api.control("DELETE", f"/record/client/{kleer_id}").raise_for_status()
    mark = last_log_id()
    with CaptureQueriesContext(connection) as queries:
        [clients] = portal_sync_run(portal=world.portal, object_types=["clients"])
    assert (clients.deleted, clients.unchanged, clients.read) == (len(gone), len(ids) - len(gone), len(ids) - len(gone))
    flagged = {k for k, c in by_kleer_id(world, "companies").items() if c["properties"]["kleer_deleted"] == "true"}
    assert flagged == set(gone)
    assert calls_by_kind(world, mark) == {("upsert", "companies"): 1}
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if 'NOT ("integration_syncedrecord"."kleer_id" IN' in q]
    assert len([q for q in sql if q.endswith("ORDER BY 1 ASC LIMIT 3")]) == 5  # four pages and the empty one


def test_with_four_calls_in_flight_the_same_batches_land_and_every_count_adds_up(world_factory, live_server, settings):
    from sandbox.hubspot import state as hubspot_state
    from sandbox.hubspot.models import Portal as FakePortal
    from sandbox.hubspot.models import RequestLog

    settings.HUBSPOT_CONCURRENCY = 4
    world, _ = invoice_world(world_factory, live_server)
    hubspot_state.portal_set_latency(portal=FakePortal.objects.get(hub_id=world.hub_id), latency_ms=300)
    portal_sync_run(portal=world.portal, object_types=["clients"])
    mark = last_log_id()
    [invoices] = portal_sync_run(portal=world.portal, object_types=["invoices"])
    line_items = invoices.children.get()
    assert (invoices.status, invoices.failed, line_items.failed) == ("succeeded", 0, 0)
    assert invoices.read == invoices.created + invoices.skipped
    assert line_items.read == line_items.created
    invoice_target, item_target = target(world, "invoices"), target(world, "line_items")
    assert calls_by_kind(world, mark) == {
        ("upsert", invoice_target): math.ceil(invoices.created / 100),
        ("upsert", item_target): math.ceil(line_items.created / 100),
        ("associate", invoice_target, "companies"): 1,
        ("associate", item_target, invoice_target): 1,
    }
    assert (
        SyncedRecord.objects.filter(portal=world.portal, object_type="line_items")
        .exclude(associations_fingerprint="")
        .count()
        == line_items.created
    )
    # The fake logged upserts that overlapped in time: several were in flight at once, never more than four.
    spans = [
        (row.at.timestamp() - row.duration_ms / 1000, row.at.timestamp())
        for row in RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark, path__endswith="/batch/upsert")
    ]
    overlap = max(
        sum(1 for start, end in spans if start < moment < end) for moment, _ in ((s + 0.001, e) for s, e in spans)
    )
    assert 2 <= overlap <= 4


def test_links_sent_during_a_run_travel_beside_the_upserts_in_flight(
    world_factory, live_server, settings, monkeypatch, caplog
):
    """A link type whose queue fills mid-run is sent from the pool like an upsert, while the writer goes on
    reading and preparing (here the queue is full at 100 pairs): every association call is made in a pool
    thread, none from the run's own thread, and every record's links' fingerprint is stored once its pairs were
    accepted."""
    from sandbox.hubspot import state as hubspot_state
    from sandbox.hubspot.models import Portal as FakePortal

    settings.HUBSPOT_CONCURRENCY = 4
    monkeypatch.setattr(writer_module, "ASSOCIATION_BATCH_LIMIT", 100)
    world, _ = invoice_world(world_factory, live_server)
    hubspot_state.portal_set_latency(portal=FakePortal.objects.get(hub_id=world.hub_id), latency_ms=100)
    portal_sync_run(portal=world.portal, object_types=["clients"])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="integration.http"):
        [invoices] = portal_sync_run(portal=world.portal, object_types=["invoices"])
    line_items = invoices.children.get()
    assert (invoices.status, invoices.failed, line_items.failed) == ("succeeded", 0, 0)
    links = [r for r in caplog.records if "/associations/" in r.getMessage() and "batch/create" in r.getMessage()]
    assert len(links) >= 4
    assert {r.threadName.startswith("hubspot-") for r in links} == {True}
    for object_type, run in (("invoices", invoices), ("line_items", line_items)):
        records = SyncedRecord.objects.filter(portal=world.portal, object_type=object_type)
        assert (object_type, records.filter(associations_fingerprint="").count()) == (object_type, 0)
        assert run.created == records.count()


def test_calls_made_from_the_pool_are_logged_with_the_runs_ids(world_factory, settings):
    """Log lines carry the portal, object and run ids from contextvars (integration.logs), which a pool thread
    does not inherit: the calls it makes for the run are logged with them all the same."""
    from integration.logs import ContextFilter

    settings.HUBSPOT_CONCURRENCY = 4
    world = world_factory(clients=150, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(ContextFilter())
    handler.emit = records.append  # type: ignore[method-assign]
    http = logging.getLogger("integration.http")
    http.addHandler(handler)
    previous, http.level = http.level, logging.INFO
    try:
        [run] = portal_sync_run(portal=world.portal, object_types=["clients"])
    finally:
        http.removeHandler(handler)
        http.level = previous
    upserts = [r for r in records if "/batch/upsert" in r.getMessage()]
    assert [(r.threadName.startswith("hubspot-"), getattr(r, "run", None)) for r in upserts] == [(True, run.pk)] * 2
    assert {(getattr(r, "portal", None), getattr(r, "object_type", None)) for r in records} == {
        (world.hub_id, "clients")
    }
