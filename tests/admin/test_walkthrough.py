"""Support's everyday loop through the admin: find a failing portal, see why, fix it, re-run it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integration.models import AuditEvent, KleerCredentials, ObjectSync, SyncRun
from tests.admin.conftest import GOOD_NEW_KEY, make_portal
from tests.admin.helpers import PORTALS, form_data, listed, messages_of

pytestmark = pytest.mark.django_db


def test_find_a_failing_portal_see_why_replace_credentials_and_sync_now(
    support_client, kleer_check, enqueued, django_capture_on_commit_callbacks
):
    make_portal(enable=("clients",))  # healthy neighbour
    portal = make_portal(name="Failing Bygg AB", enable=("clients",))
    company_id = KleerCredentials.objects.get(portal=portal).company_id
    why = f"Kleer: Kleer rejected the API key for company {company_id} (HTTP 401)"
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="failed", error=why)
    ObjectSync.objects.filter(portal=portal, object_type="clients").update(
        last_outcome="failed", last_error=why, last_run_at=timezone.now()
    )

    # 1. the failing filter finds it, and only it
    failing = support_client.get(PORTALS, {"health": "failing"})
    assert [p.hub_id for p in listed(failing)] == [portal.hub_id]
    page_url = f"{PORTALS}{portal.pk}/change/"
    assert f'href="{page_url}?_changelist_filters=health%3Dfailing"' in failing.content.decode()

    # 2. the portal page says why: on the object's row and in the recent problems
    page = support_client.get(page_url)
    html = page.content.decode()
    assert f'<div class="kh-muted">{why}</div>' in html
    assert f'<a href="/admin/integration/syncrun/{run.pk}/change/">run {run.pk}</a>' in html

    # 3. replace the key (checked with Kleer; the old one is never shown)
    data = form_data(page)
    data["kleer_api_key"] = GOOD_NEW_KEY
    saved = support_client.post(page_url, data)
    assert saved.status_code == 302
    assert KleerCredentials.objects.get(portal=portal).api_key_last4 == GOOD_NEW_KEY[-4:]

    # 4. sync now from the portal page: queued after commit, reported, audited
    with django_capture_on_commit_callbacks(execute=True):
        queued = support_client.post(f"{PORTALS}{portal.pk}/action/sync_now/")
    clients_id = ObjectSync.objects.get(portal=portal, object_type="clients").pk
    assert enqueued.calls == [(clients_id, "manual", False)]
    assert messages_of(queued) == [("success", f"Sync queued for {portal.hub_id} (Clients).")]
    assert queued["Location"] == page_url
    trail = AuditEvent.objects.filter(portal=portal, actor_label="staff:support@example.com").order_by("pk")
    assert list(trail.values_list("action", flat=True)) == ["credentials.saved", "portal.sync_requested"]
