"""Matching within the search API's own rate limit, and after a run that died before it stored its links."""

from __future__ import annotations

import logging

import pytest

from integration.models import RecordError, SyncedRecord
from integration.sync import matching
from sandbox.hubspot import state as hubspot_state
from sandbox.hubspot.models import Portal as FakePortal
from sandbox.hubspot.models import RequestLog
from sandbox.kleer import store
from tests.integration.matching.support import (
    crm,
    crm_create,
    kleer_ids,
    kleer_set,
    last_log_id,
    orgno,
    prepare_schema,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _dashed(n: int) -> str:
    return f"{orgno(n)[:6]}-{orgno(n)[6:]}"


def test_batched_searches_stay_inside_the_search_limit(world_factory, settings, monkeypatch):
    """HubSpot allows 5 searches/s per portal, counted apart from the 110/10 s (hubspot-api.md §2.3), and the
    client's own search bucket keeps below it (4/s by default). Scaled down to 2/s against the fake's 3/s, a first
    sync of 150 clients makes all its searches without one 429 (sent back to back they would pass 3/s). The CRM's
    50 companies are more than the census reads (lowered to 10), so the run searches batch by batch."""
    monkeypatch.setattr(matching, "CENSUS_MAX", 10)
    world = world_factory(clients=150, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    hubspot_state.portal_set_rate_limits(portal=FakePortal.objects.get(hub_id=world.hub_id), search_limit=3)
    settings.HUBSPOT_SEARCH_RATE_LIMIT = 2
    prepare_schema(world, "clients")
    ids = kleer_ids(world, "client")
    for k, kleer_id in enumerate(ids):
        kleer_set(world, "client", kleer_id, orgno=_dashed(k), email=f"info@firma{k}.se")
    crm_create(world, "companies", [{"name": f"Firma {k}", "domain": f"firma{k}.se"} for k in range(0, 150, 3)])
    mark = last_log_id()

    result = run(world, "clients")

    assert (result.matched, result.created, result.failed, result.hubspot_throttled) == (50, 100, 0, 0)
    searches = list(
        RequestLog.objects.filter(hub_id=world.hub_id, id__gt=mark, path__endswith="/search").order_by("at")
    )
    assert len(searches) >= 6
    assert {s.status for s in searches} == {200}
    first, last = searches[0].at, searches[-1].at
    assert (last - first).total_seconds() >= (len(searches) - 1) // 2 - 1  # paced at 2/s, not back to back


def test_a_run_that_died_after_hubspot_acknowledged_does_not_match_its_own_records(world_factory):
    """The links of the last batch were lost (the worker died after HubSpot wrote it): HubSpot holds those
    kleer_ids, and a company with the same org number was added since. The next run updates the records it wrote
    (a batch read finds them; search might lag) instead of calling the match ambiguous or creating one."""
    world = world_factory(clients=4, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    ids = kleer_ids(world, "client")
    for k, kleer_id in enumerate(ids):
        kleer_set(world, "client", kleer_id, orgno=_dashed(k), email="")
    assert run(world, "clients").created == 4
    SyncedRecord.objects.filter(portal=world.portal).delete()
    crm_create(world, "companies", [{"name": "Added by a user", "kleer_orgno": _dashed(0)}])

    again = run(world, "clients")

    assert (again.created, again.updated, again.matched, again.failed) == (0, 4, 0, 0)
    assert len(crm(world, "companies")) == 5
    assert not RecordError.objects.filter(portal=world.portal).exists()


def test_a_first_sync_with_calls_in_flight_takes_the_census_beside_its_first_kleer_page(
    world_factory, settings, caplog
):
    """With a pool (HUBSPOT_CONCURRENCY > 1), an object's first sync asks for the census from a pool thread as it
    starts, while its own thread reads Kleer; the records still match it. A later run with a new client (its
    records are linked, so most will not ask) takes the census only when that client needs it, in its own thread."""
    settings.HUBSPOT_CONCURRENCY = 4
    world = world_factory(clients=4, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    prepare_schema(world, "clients")
    ids = kleer_ids(world, "client")
    for k, kleer_id in enumerate(ids):
        kleer_set(world, "client", kleer_id, orgno=_dashed(k), email="")
    crm_create(world, "companies", [{"name": "In the CRM already", "kleer_orgno": _dashed(0)}])

    with caplog.at_level(logging.INFO, logger="integration.http"):
        first = run(world, "clients")
    assert (first.matched, first.created, first.failed) == (1, 3, 0)
    assert [r.threadName.startswith("hubspot-") for r in caplog.records if "/search" in r.getMessage()] == [True]

    caplog.clear()
    store.resource_create(world.company_id, "client", {"name": "New client AB", "orgno": _dashed(9), "email": ""})
    with caplog.at_level(logging.INFO, logger="integration.http"):
        again = run(world, "clients")
    assert (again.created, again.matched, again.unchanged) == (1, 0, 4)
    assert [r.threadName.startswith("hubspot-") for r in caplog.records if "/search" in r.getMessage()] == [False]
