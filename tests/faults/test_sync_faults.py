"""Faults during a sync (issue 16, item 6): each run ends in a recorded state with its cause, the next run
completes, and the fake Kleer and the fake HubSpot then hold the same records: none missing, none twice.

Faults come from the fakes' own injection (sandbox/hubspot/faults.py, sandbox/kleer/faults.py), served over
real HTTP; retries back off from 20 ms in tests (config/settings/test.py). 120 clients make two HubSpot
batches, so a fault on the second batch strikes mid-run with the first one committed. A worker killed
mid-run is tests/integration/test_worker.py (a real Celery worker, SIGKILL, redelivery); the broker restarted
mid-run is tests/faults/test_broker_restart.py (a real worker on a Redis server of the test's own).
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connection

from integration.models import HubSpotInstallation, ObjectSync, SyncRun
from integration.services.installations import portal_install
from integration.services.sync import object_sync_run
from sandbox.hubspot import faults
from sandbox.hubspot import state as hubspot_state
from sandbox.hubspot.selectors import portal_get
from sandbox.kleer.testing import KleerApi
from tests.faults.records import assert_every_kleer_client_once_in_hubspot

pytestmark = pytest.mark.django_db(transaction=True)
UPSERT = r"^/crm/objects/2026-03/companies/batch/upsert$"
CLIENTS = 120


@pytest.fixture
def world(world_factory):
    return world_factory(clients=CLIENTS, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))


def sync(world) -> SyncRun:
    """One run as a task would start it; an exception it raises is the task's to retry, the run is recorded."""
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    with contextlib.suppress(Exception):  # the run records its outcome before the error reaches the task
        object_sync_run(object_sync_id=object_sync.pk)
    return SyncRun.objects.filter(portal=world.portal, object_type="clients").latest("started_at")


def assert_recorded_with_cause(run: SyncRun, *cause: str) -> None:
    """Failed and finished, with one of the exact causes (more than one only where timing picks the call)."""
    assert run.status == SyncRun.Status.FAILED, run.status
    assert run.finished_at is not None
    assert run.error in cause, run.error


def assert_recovers_with_no_gap_and_no_duplicate(world) -> None:
    """The next run completes; every Kleer client is in HubSpot exactly once."""
    run = sync(world)
    assert (run.status, run.error) == (SyncRun.Status.SUCCEEDED, "")
    assert_every_kleer_client_once_in_hubspot(world)


def hubspot_fault(world, **spec) -> None:
    faults.fault_add(portal=portal_get(world.hub_id), spec={"method": "POST", "path": UPSERT, **spec})


def second_batch_fault(world, **spec) -> None:
    """The first upsert answers normally (a passthrough with no delay is not allowed: 1 ms), then `spec`."""
    hubspot_fault(world, delay_seconds=0.001, count=1)
    hubspot_fault(world, **spec)


# -- HubSpot ----------------------------------------------------------------------------------------------


def test_a_429_storm(world):
    second_batch_fault(world, status=429, retry_after=0, count=20)
    assert_recorded_with_cause(sync(world), "HubSpot: You have reached your ten_secondly_rolling limit. (HTTP 429)")
    faults.faults_clear(portal=portal_get(world.hub_id))
    assert_recovers_with_no_gap_and_no_duplicate(world)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_answers_with_html_bodies(world, status):
    second_batch_fault(world, status=status, count=20)  # the fake's default body for 5xx is an HTML page
    assert_recorded_with_cause(sync(world), f"HubSpot: HubSpot answered HTTP {status} (HTTP {status})")
    faults.faults_clear(portal=portal_get(world.hub_id))
    assert_recovers_with_no_gap_and_no_duplicate(world)


def test_timeouts_mid_batch(world, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    second_batch_fault(world, delay_seconds=1.0, count=20)  # each answer comes after the client gave up
    assert_recorded_with_cause(sync(world), "HubSpot: timed out: ReadTimeout")
    faults.faults_clear(portal=portal_get(world.hub_id))
    settings.HTTP_TIMEOUT_SECONDS = 30
    assert_recovers_with_no_gap_and_no_duplicate(world)


def test_dropped_connections_mid_batch(world):
    second_batch_fault(world, drop_connection=True, count=20)
    assert_recorded_with_cause(sync(world), "HubSpot: connection failed: ConnectionError")
    faults.faults_clear(portal=portal_get(world.hub_id))
    assert_recovers_with_no_gap_and_no_duplicate(world)


def test_a_token_revoked_mid_run(world_factory):
    """The customer uninstalls while the second of three batches is in flight: the third call gets 401, the
    refresh is refused, the portal shows Reconnect; after reconnecting, the next run completes."""
    world = world_factory(clients=250, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    fake = portal_get(world.hub_id)
    hubspot_fault(world, delay_seconds=0.001, count=1)
    hubspot_fault(world, delay_seconds=1.0, count=1)
    timer = threading.Timer(0.5, lambda: hubspot_state.tokens_revoke(portal=fake))
    timer.start()
    run = sync(world)
    timer.join()
    # Which call meets the revocation depends on timing: the refresh is refused, or a call finds the portal
    # already marked for reconnection.
    assert_recorded_with_cause(
        run,
        "HubSpot: HubSpot refused the refresh token; the portal must reconnect the app (HTTP 400)",
        "HubSpot: the HubSpot connection needs to be re-authorised",
    )
    assert HubSpotInstallation.objects.get(portal=world.portal).status == HubSpotInstallation.Status.DISCONNECTED
    token = hubspot_state.token_issue(portal=fake)  # the customer reconnects (OAuth again)
    portal_install(
        hub_id=world.hub_id,
        access_token=token.token,
        refresh_token=token.refresh_token,
        expires_in=hubspot_state.ACCESS_TOKEN_SECONDS,
        scopes=token.scopes,
        installed_by="admin@example.com",
    )
    assert_recovers_with_no_gap_and_no_duplicate(world)


# -- Kleer ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "cause"),
    [
        ({"status": 500}, "Kleer: Tekniskt fel (HTTP 500)"),
        (
            {"status": 200, "body": "<?xml version='1.0'?><clients/>", "content_type": "application/xml"},
            "Kleer: Kleer answered GET /client with a non-JSON body (application/xml)",
        ),
        (
            {"status": 200, "body": '{"client": [{"id": 1, "na', "content_type": "application/json"},
            "Kleer: Kleer answered GET /client with a non-JSON body (application/json)",
        ),
    ],
    ids=["500-tekniskt-fel", "xml", "truncated-json"],
)
def test_kleer_errors_and_bodies_that_are_not_its_json(world, live_server, spec, cause):
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.add_fault(method="GET", path="^/client", count=20, **spec)
    assert_recorded_with_cause(sync(world), cause)
    api.control("DELETE", "/faults").raise_for_status()
    assert_recovers_with_no_gap_and_no_duplicate(world)


# -- infrastructure ---------------------------------------------------------------------------------------


def test_redis_stopped(world, settings):
    good = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert_recorded_with_cause(
        sync(world),
        "Redis (the shared rate limiter) is unreachable: ConnectionError: Error 111 connecting to 127.0.0.1:1. "
        "Connection refused.. The run will be retried.",
    )
    settings.REDIS_URL = good
    assert_recovers_with_no_gap_and_no_duplicate(world)


def test_the_database_connection_dropped_mid_run(world):
    """PostgreSQL ends the run's connection while the second batch is in flight (a restart, a failover)."""
    hubspot_fault(world, delay_seconds=0.001, count=1)
    hubspot_fault(world, delay_seconds=1.0, count=1)  # the second upsert answers late: the window to cut in
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def cut() -> None:
        import psycopg
        from django.conf import settings as django_settings

        db = django_settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
        ) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    timer = threading.Timer(0.5, cut)
    timer.start()
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    with contextlib.suppress(Exception):
        object_sync_run(object_sync_id=object_sync.pk)
    timer.join()
    connection.close()  # this test's connection is the one that was cut
    run = SyncRun.objects.filter(portal=world.portal, object_type="clients").latest("started_at")
    assert (run.status, run.error) == (
        SyncRun.Status.FAILED,
        "the database failed: OperationalError: terminating connection due to administrator command. "
        "The run will be retried.",
    )
    assert_recovers_with_no_gap_and_no_duplicate(world)
