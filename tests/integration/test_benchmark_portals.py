"""`manage.py bench --portals N` (integration/benchmark_portals.py) at a tiny size: two portals seeded and synced
at once by two real Celery workers on Redis, on this test's database and live server. Times are measured, never
asserted; what is asserted is that every portal got all its records and the report's structure.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from integration import catalog
from integration.benchmark import Options, Sandbox
from integration.benchmark_portals import Fleet, fleet_measure
from integration.clients.http import sessions_close
from integration.models import Portal, SyncRun
from integration.services.sync import RUN_ORDER, clients_for
from integration.sync import readers
from integration.sync.writer import kleer_id_of
from sandbox.hubspot_crm.selectors import objects_for
from tests.integration.celery_processes import database_url, redis_url_or_skip

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SIZES = Options(clients=6, products=3, invoices=12, agreements=2, projects=2, rate_limit=False)
REPORT_KEYS = {
    "portals",
    "workers",
    "worker_concurrency",
    "records",
    "wall_seconds",
    "first_sync_seconds_min",
    "first_sync_seconds_max",
    "first_sync_spread_seconds",
    "first_sync_max_min_ratio",
    "done_after_seconds_min",
    "done_after_seconds_max",
    "done_after_max_min_ratio",
    "finish_order",
    "worker_peak_rss_mb",
    "load_average",
    "per_portal",
}
PORTAL_KEYS = {
    "portal",
    "hub_id",
    "records",
    "failed_runs",
    "waited_seconds",
    "first_sync_seconds",
    "done_after_seconds",
}


@pytest.fixture
def server(live_server, sandbox_urls, tmp_path) -> Iterator[Sandbox]:
    """The live server as the bench's sandbox; children (seeds, workers) on this test's database."""
    base = live_server.url
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "PUBLIC_BASE_URL": base,
        "KLEER_API_BASE": f"{base}/sandbox/kleer/v1",
        "HUBSPOT_API_BASE": f"{base}/sandbox/hubspot",
        # Rate-limit windows in this test's database: hub ids repeat across xdist databases.
        "TEST_REDIS_URL": "",
        "VAR_DIR": str(tmp_path),
    }
    yield Sandbox(urlsplit(base).port or 80, env)
    sessions_close()


def kleer_ids(portal: Portal, object_type: str) -> set[str]:
    """The ids the sync must write: what Kleer lists for the type, less what the catalog filters out."""
    kleer, _ = clients_for(portal)
    spec = catalog.get(object_type)
    records = readers.READERS[object_type](kleer, portal)
    return {r.id for r in records if spec.includes(r.data) and not readers.is_gone(object_type, r)}


def hubspot_ids(portal: Portal, object_type: str) -> Counter[str]:
    """Kleer ids of the type's records in the fake HubSpot, counted (a duplicate would count 2)."""
    target = portal.object_syncs.get(object_type=object_type).hubspot_object
    keys = (o["properties"].get(catalog.KLEER_ID_PROPERTY) or "" for o in objects_for(portal.hub_id, target))
    return Counter(k for k in (kleer_id_of(object_type, target, key) for key in keys) if k)


def test_two_portals_sync_at_once_on_two_workers_and_each_gets_every_record(server, settings):
    broker = redis_url_or_skip()
    report = fleet_measure(server, SIZES, Fleet(portals=2, workers=2, concurrency=1, broker=broker, timeout=300))

    assert set(report) == REPORT_KEYS
    assert (report["portals"], report["workers"], report["worker_concurrency"]) == (2, 2, 1)
    assert sorted(report["finish_order"]) == [1, 2]
    assert [set(p) for p in report["per_portal"]] == [PORTAL_KEYS, PORTAL_KEYS]
    assert [p["portal"] for p in report["per_portal"]] == [1, 2]
    assert [p["failed_runs"] for p in report["per_portal"]] == [0, 0]
    assert report["records"] == sum(p["records"] for p in report["per_portal"])
    for entry in report["per_portal"]:
        portal = Portal.objects.get(hub_id=entry["hub_id"])
        runs = SyncRun.objects.filter(portal=portal, parent=None)
        assert sorted(runs.values_list("object_type", flat=True)) == sorted(RUN_ORDER)
        assert set(runs.values_list("status", flat=True)) == {SyncRun.Status.SUCCEEDED}
        for object_type in RUN_ORDER:
            wanted = kleer_ids(portal, object_type)
            assert len(wanted) > 0, object_type
            assert hubspot_ids(portal, object_type) == Counter(wanted), object_type
        line_items = SyncRun.objects.filter(portal=portal, object_type="line_items")
        assert len(objects_for(portal.hub_id, "line_items")) == sum(line_items.values_list("created", flat=True))
        assert entry["records"] == sum(SyncRun.objects.filter(portal=portal).values_list("read", flat=True))
    first, second = report["per_portal"]
    assert first["records"] == second["records"]  # the same seed: the same company twice
