"""The portal list: columns, search, filters, and a constant number of queries however many portals."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration import selectors
from integration.models import (
    HubSpotInstallation,
    KleerCredentials,
    ObjectSync,
    Portal,
    RateLimitWindow,
    RecordError,
    SyncRun,
)
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, listed

pytestmark = pytest.mark.django_db


def error(portal: Portal, kleer_id: str, status: str = "open", hours_ago: float = 1) -> RecordError:
    row = RecordError.objects.create(
        portal=portal, object_type="clients", kleer_id=kleer_id, status=status, message="x"
    )
    RecordError.objects.filter(pk=row.pk).update(last_seen_at=timezone.now() - dt.timedelta(hours=hours_ago))
    return row


def hub_ids(response) -> list[int]:
    return [p.hub_id for p in listed(response)]


def test_a_row_shows_connection_credentials_objects_outcome_errors_and_api_budget(admin_client_):
    portal = make_portal(plan="pro", enable=("clients", "invoices"))
    ObjectSync.objects.filter(portal=portal, object_type="clients").update(
        last_outcome="succeeded", last_run_at=timezone.now() - dt.timedelta(minutes=3)
    )
    ObjectSync.objects.filter(portal=portal, object_type="invoices").update(
        last_outcome="failed", last_run_at=timezone.now() - dt.timedelta(minutes=40)
    )
    error(portal, "1", "open")
    error(portal, "2", "parked")
    error(portal, "3", "open", hours_ago=30)  # older than 24 h
    error(portal, "4", "resolved")  # resolved: not counted
    now = time.time()
    RateLimitWindow.objects.create(key=f"hubspot:{portal.hub_id}", hits=[now - 1, now - 2, now - 3, now - 60])
    SyncRun.objects.create(
        portal=portal,
        object_type="clients",
        status="succeeded",
        hubspot_calls=40,
        hubspot_throttled=2,
        hubspot_errors=3,
    )

    response = admin_client_.get(PORTALS)
    row = listed(response)[0]
    html = response.content.decode()

    assert (row.hubspot_status, row.kleer_key_last4, row.errors_24h, row.api_usage) == (
        "connected",
        "4321",
        2,
        selectors.ApiUsage(calls_10s=3, calls_24h=40, throttled_24h=2, errors_24h=3),
    )
    assert '<span class="kh-badge kh-ok" title="">connected</span>' in html
    assert f"••••4321 · company {4800 + portal.pk}" in html
    assert '<span class="kh-badge kh-ok" title="succeeded">Clients</span>' in html
    assert '<span class="kh-badge kh-bad" title="failed">Invoices</span>' in html
    assert '<span class="kh-badge kh-bad" title="">failed</span> <span class="kh-muted">3\xa0minutes ago</span>' in html
    assert f"/admin/integration/recorderror/?portal={portal.hub_id}&amp;age=24h&amp;state=unresolved" in html
    assert '<span class="kh-badge kh-none" title="">3/100</span>' in html
    assert "24 h: 40 calls, 2 × 429, 3 failed" in html


def test_missing_credentials_and_never_installed_are_flagged(admin_client_):
    make_portal(connected=None, credentials=False)
    html = admin_client_.get(PORTALS).content.decode()
    assert '<span class="kh-badge kh-bad" title="">not installed</span>' in html
    assert '<span class="kh-badge kh-bad" title="">missing</span>' in html
    assert '<span class="kh-badge kh-off" title="">none</span>' in html


def test_search_by_portal_id_name_and_kleer_company_id(admin_client_):
    acme = make_portal(name="Acme Bygg AB")
    other = make_portal(name="Other AB")
    company_id = KleerCredentials.objects.get(portal=other).company_id
    assert hub_ids(admin_client_.get(PORTALS, {"q": str(acme.hub_id)})) == [acme.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"q": "bygg"})) == [acme.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"q": str(company_id)})) == [other.hub_id]


def test_filter_failing_and_healthy(admin_client_):
    failed = make_portal(enable=("clients",))
    ObjectSync.objects.filter(portal=failed, object_type="clients").update(last_outcome="failed")
    partial = make_portal(enable=("clients",))
    ObjectSync.objects.filter(portal=partial, object_type="clients").update(last_outcome="partial")
    with_errors = make_portal(enable=("clients",))
    error(with_errors, "7", "parked")
    switched_off = make_portal()  # a failed outcome of a switched-off object does not count
    ObjectSync.objects.filter(portal=switched_off, object_type="clients").update(last_outcome="failed")
    old_error = make_portal()
    error(old_error, "8", "open", hours_ago=25)

    failing = hub_ids(admin_client_.get(PORTALS, {"health": "failing"}))
    healthy = hub_ids(admin_client_.get(PORTALS, {"health": "healthy"}))

    assert failing == [failed.hub_id, partial.hub_id, with_errors.hub_id]
    assert healthy == [switched_off.hub_id, old_error.hub_id]


def test_filter_hubspot_connection(admin_client_):
    connected = make_portal()
    disconnected = make_portal(connected=False)
    never = make_portal(connected=None)
    assert hub_ids(admin_client_.get(PORTALS, {"hubspot": "disconnected"})) == [disconnected.hub_id, never.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"hubspot": "connected"})) == [connected.hub_id]


def test_filter_paused_plan_and_credentials(admin_client_):
    paused = make_portal(status="paused")
    pro = make_portal(plan="pro")
    missing = make_portal(credentials=False)
    assert hub_ids(admin_client_.get(PORTALS, {"status__exact": "paused"})) == [paused.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"plan__exact": "pro"})) == [pro.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"kleer": "missing"})) == [missing.hub_id]
    assert hub_ids(admin_client_.get(PORTALS, {"kleer": "configured"})) == [paused.hub_id, pro.hub_id]


def _bulk_portals(count: int, start: int) -> None:
    """`count` fully configured portals (installation, credentials, two synced objects, errors, API hits)."""
    now = timezone.now()
    portals = Portal.objects.bulk_create(
        Portal(hub_id=start + n, name=f"Bulk {n} AB", plan="pro" if n % 2 else "free") for n in range(count)
    )
    HubSpotInstallation.objects.bulk_create(
        HubSpotInstallation(portal=p, access_token="a", refresh_token="r", status="connected") for p in portals
    )
    KleerCredentials.objects.bulk_create(
        KleerCredentials(portal=p, company_id=p.hub_id, api_key="k-1234", api_key_last4="1234") for p in portals
    )
    ObjectSync.objects.bulk_create(
        ObjectSync(portal=p, object_type=t, hubspot_object=h, enabled=True, last_outcome="failed", last_run_at=now)
        for p in portals
        for t, h in (("clients", "companies"), ("invoices", "invoices"))
    )
    RecordError.objects.bulk_create(
        RecordError(portal=p, object_type="clients", kleer_id="1", message="boom", status="open") for p in portals
    )
    RateLimitWindow.objects.bulk_create(RateLimitWindow(key=f"hubspot:{p.hub_id}", hits=[time.time()]) for p in portals)


def _queries(client, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PORTALS, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"health": "failing"}, {"q": "Bulk"}, {"hubspot": "connected"}])
def test_the_list_costs_the_same_queries_for_20_and_200_portals(support_client, params):
    _bulk_portals(20, 91_000_000)
    support_client.get(PORTALS)  # the first form page stores the CSRF secret in the session (one write)
    with_20 = _queries(support_client, params)
    _bulk_portals(180, 92_000_000)
    with_200 = _queries(support_client, params)
    assert with_20 == with_200
    # session, user, permissions (user + groups), filtered and total count, page, object_syncs prefetch,
    # one read of the rate-limit windows and one sum of the last 24 h of runs for the whole page
    assert with_200 == 10
