"""Redis down (REDIS_URL and the broker pointed at a port nothing listens on): the back office still works.

The portal list and page render with the API budget "unavailable"; Sync now says the queue is unreachable and
writes nothing (no audit event, no run) instead of failing with a 500.
"""

from __future__ import annotations

import socket

import pytest

from config.celery_app import app as celery_app
from integration.models import AuditEvent, SyncRun
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, listed, messages_of, run_action

pytestmark = pytest.mark.django_db
UNAVAILABLE = '<span class="kh-badge kh-warn" title="">unavailable</span> <span class="kh-muted">/ 10 s</span>'


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings) -> str:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    return url


@pytest.fixture
def broker_down(redis_down, settings):
    """The Celery broker on the same dead Redis, tasks sent for real (not run inline as in the other tests)."""
    before = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_down, task_always_eager=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield redis_down
    celery_app.conf.update(before)


def test_the_portal_list_renders_with_the_api_budget_unavailable(admin_client_, redis_down):
    portals = [make_portal(), make_portal()]

    response = admin_client_.get(PORTALS)

    assert response.status_code == 200
    assert sorted(p.pk for p in listed(response)) == sorted(p.pk for p in portals)
    assert response.content.decode().count(UNAVAILABLE) == 2


def test_the_portal_page_renders_with_the_api_budget_unavailable(admin_client_, redis_down):
    portal = make_portal(enable=("clients",))

    response = admin_client_.get(f"{PORTALS}{portal.pk}/change/")

    assert response.status_code == 200
    assert response.content.decode().count(UNAVAILABLE) == 1


def test_sync_now_says_the_queue_is_unreachable_and_writes_nothing(admin_client_, broker_down):
    portal = make_portal(enable=("clients",))
    audit_before = AuditEvent.objects.count()

    response = run_action(admin_client_, PORTALS, "sync_now", [portal.pk])

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "warning",
            f"Not queued: {portal.hub_id} Clients — The task queue is unreachable (OperationalError): nothing was "
            "queued. Try again later.",
        )
    ]
    assert AuditEvent.objects.count() == audit_before
    assert not SyncRun.objects.exists()


def test_the_portal_page_sync_now_button_says_the_same(admin_client_, broker_down):
    portal = make_portal(enable=("clients",))

    response = admin_client_.post(f"{PORTALS}{portal.pk}/action/sync_now/")

    assert response.status_code == 302
    assert [level for level, _ in messages_of(response)] == ["warning"]
    assert "The task queue is unreachable (OperationalError)" in messages_of(response)[0][1]
    assert not SyncRun.objects.exists()
