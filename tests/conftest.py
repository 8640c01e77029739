"""Shared fixtures: users, portals, and a whole fake world (Kleer company + HubSpot portal) over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Collect every page and log line of this test process for the secret scan (tests/leaks.py)."""
    import django

    django.setup()
    from tests import leaks

    leaks.install()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The secret scan runs last (it checks what every earlier test rendered and logged).

    Skip `concurrent_db` tests on SQLite: Django's in-memory SQLite test database locks whole tables, so
    a live-server thread writing while the test holds a transaction fails with "table is locked" instead of
    waiting. Those tests prove behaviour under concurrent writers, which production runs on PostgreSQL."""
    from django.conf import settings

    items.sort(key=lambda item: item.nodeid.startswith("tests/test_zz_no_secret_leaked.py"))

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    skip = pytest.mark.skip(reason="concurrent writers need PostgreSQL (SQLite's test database locks tables)")
    for item in items:
        if "concurrent_db" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test databases, with one more step before they are dropped: end the sessions that
    outlived the tests (a live-server thread's or a killed Celery worker's), which would otherwise make
    PostgreSQL refuse the drop ("being accessed by other users") and leave `test_*` databases behind."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _close_pooled_http() -> Iterator[None]:
    """A kept-alive socket to the live server pins one of its threads and that thread's database connection,
    which would stop the test database from being flushed or dropped."""
    yield
    from integration.clients.http import sessions_close

    sessions_close()


def redis_forget_rate_limits(url: str) -> None:
    """Delete the rate limiter's keys only: a flushdb would also wipe the queue of a worker test running in
    another xdist process on the same Redis."""
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("LIMITS*", "kh:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture(autouse=True)
def _celery_as_configured() -> Iterator[None]:
    """Every test starts with the product's Celery app as the test settings configure it: tasks run inline, and no
    closed broker pool is left to hand out. Even inline, `apply_async` takes a producer from the app's pool, and
    kombu keeps pools in a process-wide registry by broker URL: one test that closed a pool (a broker restart)
    made every later test of its process fail with "Acquire on closed pool" until this was reset."""
    import kombu.pools
    from django.conf import settings

    from config.celery_app import app

    closed = any(getattr(pool, "_closed", False) for pool in kombu.pools._all_pools())
    if closed or (settings.CELERY_TASK_ALWAYS_EAGER and not app.conf.task_always_eager):
        app._pool, app.amqp._producer_pool = None, None
        kombu.pools.reset()
        app.conf.update(task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER)
    yield


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Every test starts with empty per-portal windows. The tests' databases recycle hub ids (10000001, …), and
    the product's limiter lives in Redis, outside the database: calls and 429 penalties of earlier tests on the
    same hub id would otherwise shrink this test's budget and make settings-page calls fail at random."""
    from django.conf import settings

    if getattr(settings, "REDIS_URL", ""):
        redis_forget_rate_limits(settings.REDIS_URL)


def zone_at_noon() -> str:
    """An Etc/GMT zone whose local time is between 11:00 and 13:00 now (POSIX signs: Etc/GMT-2 is UTC+2): a
    portal there is half a day from its midnight, when HubSpot's daily limit resets."""
    from django.utils import timezone

    offset = (12 - timezone.now().hour + 12) % 24 - 12
    return f"Etc/GMT{-offset:+d}"


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(email="support@example.com", password="pw-123456789", is_staff=True)


@pytest.fixture
def sandbox_urls(live_server, settings):
    """Point the product's API clients at the sandbox served by this test's live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.KLEER_API_BASE = f"{live_server.url}/sandbox/kleer/v1"
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/hubspot"
    settings.HUBSPOT_AUTHORIZE_URL = f"{live_server.url}/sandbox/hubspot/oauth/authorize"
    return live_server.url


@dataclass
class World:
    """A seeded fake Kleer company, a fake HubSpot portal, and the product's Portal connected to both."""

    portal: object
    company_id: int
    token: str
    hub_id: int


def install_sandbox_portal(*, installed_by: str = "admin@example.com"):
    """A fake HubSpot portal with the product installed in it, as the OAuth callback would leave it."""
    from integration.services.installations import portal_install
    from sandbox.hubspot import state as hubspot_state

    fake = hubspot_state.portal_create()
    token = hubspot_state.token_issue(portal=fake)
    return portal_install(
        hub_id=fake.hub_id,
        access_token=token.token,
        refresh_token=token.refresh_token,
        expires_in=hubspot_state.ACCESS_TOKEN_SECONDS,
        scopes=token.scopes,
        installed_by=installed_by,
    )


def build_world(*, clients=8, products=4, invoices=20, agreements=5, projects=3, seed=1, pro=True, enable=()):
    from integration.catalog import Plan
    from integration.services.audit import Actor
    from integration.services.credentials import credentials_save
    from integration.services.object_syncs import object_sync_set_enabled
    from sandbox.kleer.seed import company_seed

    company = company_seed(
        clients=clients, products=products, invoices=invoices, agreements=agreements, projects=projects, seed=seed
    )
    portal = install_sandbox_portal()
    if pro:
        portal.plan = Plan.PRO
        portal.save(update_fields=["plan"])
    actor = Actor(label="test")
    credentials_save(portal=portal, company_id=company.company_id, api_key=company.token, actor=actor, verify=False)
    portal.refresh_from_db()
    for object_sync in portal.object_syncs.all():
        if object_sync.object_type in enable:
            object_sync_set_enabled(object_sync=object_sync, enabled=True, actor=actor)
    return World(portal=portal, company_id=company.company_id, token=company.token, hub_id=portal.hub_id)


@pytest.fixture
def world_factory(sandbox_urls, transactional_db):
    """Build worlds on demand (see build_world for the knobs)."""
    return build_world


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Debian Chromium per test process (Playwright's sync API allows one per thread)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.support import CHROMIUM, LAUNCH_ARGS

    # Playwright's sync API runs an event loop in this thread; Django would then refuse ORM calls made by the
    # test itself ("You cannot call this from an async context"). The test is not async code, so allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def portal_session(client: Any) -> Any:
    """The settings page's session of a test client (its own cookie, accounts/sessions.py), created if missing.

    `client.session` is the staff (admin) session; this is the one the launch and the OAuth callback bind.
    """
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    cookie = client.cookies.get(settings.PORTAL_SESSION_COOKIE_NAME)
    if cookie and cookie.value:
        return store(cookie.value)
    session = store()
    session.save()
    client.cookies[settings.PORTAL_SESSION_COOKIE_NAME] = session.session_key
    return session


@pytest.fixture(autouse=True)
def _no_secret_leaked() -> Iterator[None]:
    """The test that rendered or logged a seeded secret fails (tests/leaks.py checks as pages and logs occur)."""
    from tests.leaks import COLLECTOR

    before = len(COLLECTOR.leaks)
    yield
    leaked = COLLECTOR.leaks[before:]
    assert not leaked, f"seeded secrets shown: {leaked}"
