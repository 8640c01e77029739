"""The "Done when" story end to end: find a failing portal, see why, fix it and re-run it, only in the admin.

Unlike test_walkthrough.py (which stops at the enqueue), the runs here really happen: Celery is eager in
tests, so "Sync now" runs the engine inside the request against the sandbox fakes served by the live server,
and the outcome is read back from the admin pages and from the fake HubSpot.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils.html import escape

from accounts.groups import SUPPORT, apply_group_permissions
from integration.clients.kleer import KleerClient
from integration.models import AuditEvent, KleerCredentials, ObjectSync, RecordError, SyncRun
from integration.services.audit import Actor
from integration.services.credentials import credentials_save
from integration.services.sync import object_sync_run
from sandbox.hubspot_crm.selectors import objects_for
from tests.admin.conftest import PASSWORD
from tests.admin.helpers import PORTALS, form_data, inline_prefix, listed, messages_of

pytestmark = pytest.mark.django_db(transaction=True)
REVOKED_KEY = "kleer-revoked-key-0000"
RUNS = "/admin/integration/syncrun/"
ERRORS = "/admin/integration/recorderror/"


@pytest.fixture
def support_user(transactional_db, django_user_model):
    """A Support member. The groups come from a data migration, which an earlier transactional test's flush
    has emptied, so they are re-applied here (idempotent) rather than assumed."""
    apply_group_permissions(Group, Permission, ContentType)
    user = django_user_model.objects.create_user(email="support@example.com", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    return user


def kleer_ids(world) -> set[str]:
    return {r.id for r in KleerClient(company_id=world.company_id, token=world.token).iter_clients()}


def companies(world) -> dict[str, dict]:
    """The fake HubSpot's companies by kleer_id."""
    return {c["properties"]["kleer_id"]: c["properties"] for c in objects_for(world.hub_id, "companies")}


def scheduled_run(world) -> SyncRun:
    """What beat does between the customer's mistake and support noticing it."""
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    return object_sync_run(object_sync_id=clients.pk)


def sync_now(client, portal) -> list[tuple[str, str]]:
    """Press "Sync now" on the portal page; returns the messages it reported."""
    response = client.post(f"{PORTALS}{portal.pk}/action/sync_now/")
    assert (response.status_code, response["Location"]) == (302, f"{PORTALS}{portal.pk}/change/")
    return messages_of(response)


def test_a_revoked_kleer_key_is_found_explained_replaced_and_synced(world_factory, support_client):
    world = world_factory(clients=6, enable=("clients",))
    portal = world.portal
    credentials_save(
        portal=portal, company_id=world.company_id, api_key=REVOKED_KEY, actor=Actor.system(), verify=False
    )
    failed = scheduled_run(world)
    assert (failed.status, failed.read) == ("failed", 0)
    page_url = f"{PORTALS}{portal.pk}/change/"

    # 1. find: the failing filter lists the portal
    assert [p.hub_id for p in listed(support_client.get(PORTALS, {"health": "failing"}))] == [world.hub_id]

    # 2. see why: Kleer's refusal on the object's row and the failed run linked from the page
    html = support_client.get(page_url).content.decode()
    assert f'<div class="kh-muted">{failed.error}</div>' in html
    assert f'<a href="{RUNS}{failed.pk}/change/">run {failed.pk}</a>' in html
    assert "••••0000" in html and REVOKED_KEY not in html

    # 3. fix: the customer's valid key, checked with (fake) Kleer before it is saved
    data = form_data(support_client.get(page_url))
    data["kleer_api_key"] = world.token
    saved = support_client.post(page_url, data)
    assert saved.status_code == 302
    key = KleerCredentials.objects.get(portal=portal)
    assert (key.api_key_last4, key.verified_at is not None) == (world.token[-4:], True)

    # 4. re-run: Sync now runs the engine (eager Celery) and reports
    assert sync_now(support_client, portal) == [("success", f"Sync queued for {world.hub_id} (Clients).")]

    # 5. outcome: every client in HubSpot, the run succeeded, and the portal has left the failing list
    expected = kleer_ids(world)
    assert set(companies(world)) == expected
    latest = SyncRun.objects.filter(portal=portal).latest("started_at")
    assert (latest.status, latest.trigger, latest.created, latest.failed) == ("succeeded", "manual", len(expected), 0)
    assert listed(support_client.get(PORTALS, {"health": "failing"})) == []
    page = support_client.get(page_url).content.decode()
    assert '<span class="kh-badge kh-ok" title="">succeeded</span>' in page
    runs = listed(support_client.get(RUNS, {"portal": world.hub_id}))
    assert [(r.status, r.trigger) for r in runs] == [("succeeded", "manual"), ("failed", "schedule")]
    assert list(
        AuditEvent.objects.filter(portal=portal, actor_label="staff:support@example.com")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["credentials.saved", "portal.sync_requested"]


def _break_phone_mapping(world) -> set[str]:
    """A mapping that HubSpot refuses per record: phone numbers into a number property (207 per record).

    Returns the Kleer ids of the clients that have a phone number (the ones that will fail).
    """
    clients = ObjectSync.objects.get(portal=world.portal, object_type="clients")
    clients.mappings.filter(hubspot_property="phone").update(hubspot_property="numberofemployees")
    client = KleerClient(company_id=world.company_id, token=world.token)
    bad = {r.id for r in client.iter_clients() if r.data.get("phone")}
    assert bad, "the seed must contain clients with phone numbers"
    return bad


def _fix_mapping_in_the_admin(client, object_sync: ObjectSync) -> None:
    """Map the phone number back to HubSpot's phone property, on the object's page (mapping_save, audited)."""
    url = f"/admin/integration/objectsync/{object_sync.pk}/change/"
    page = client.get(url)
    prefix, forms = inline_prefix(page, "fieldmapping")
    row = next(n for n, f in enumerate(forms) if f.instance.hubspot_property == "numberofemployees")
    data = form_data(page)
    data[f"{prefix}-{row}-hubspot_property"] = "phone"
    assert client.post(url, data).status_code == 302


def test_parked_record_errors_are_found_explained_fixed_retried_and_resolved(world_factory, support_client):
    world = world_factory(clients=10, enable=("clients",))
    portal = world.portal
    bad = _break_phone_mapping(world)
    partial = scheduled_run(world)
    assert (partial.status, partial.failed) == ("partial", len(bad))
    # Five failed attempts park an error; the backoff between them is hours, so jump to the parked state.
    RecordError.objects.filter(portal=portal).update(status="parked", attempts=5, next_retry_at=None)
    error = RecordError.objects.filter(portal=portal).order_by("-last_seen_at").first()  # the page lists the newest

    # 1. find: failing (partial outcome and errors in 24 h)
    assert [p.hub_id for p in listed(support_client.get(PORTALS, {"health": "failing"}))] == [world.hub_id]

    # 2. see why: the portal page lists the parked errors; the error page has the ids and HubSpot's message
    page_url = f"{PORTALS}{portal.pk}/change/"
    html = support_client.get(page_url).content.decode()
    assert f'<a href="{ERRORS}{error.pk}/change/">record {error.kleer_id}</a>' in html
    detail = support_client.get(f"{ERRORS}{error.pk}/change/").content.decode()
    assert f'<div class="readonly">{error.kleer_id}</div>' in detail
    assert escape(error.message) in detail
    assert '"error":"INVALID_INTEGER","name":"numberofemployees"' in error.message

    # 3. fix the mapping, then un-park the errors from the portal page
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    _fix_mapping_in_the_admin(support_client, clients)
    retried = support_client.post(f"{PORTALS}{portal.pk}/action/retry_parked/")
    assert messages_of(retried) == [
        ("info", f"{len(bad)} parked record errors will be retried on the next run: {world.hub_id} ({len(bad)}).")
    ]

    # 4. re-run, 5. outcome: the refused records land with their phone numbers, every error is resolved
    assert sync_now(support_client, portal) == [("success", f"Sync queued for {world.hub_id} (Clients).")]
    latest = SyncRun.objects.filter(portal=portal).latest("started_at")
    assert (latest.status, latest.created, latest.failed) == ("succeeded", len(bad), 0)
    landed = companies(world)
    assert set(landed) == kleer_ids(world)
    assert all(landed[k]["phone"] for k in bad)
    assert set(RecordError.objects.filter(portal=portal).values_list("status", flat=True)) == {"resolved"}
    assert listed(support_client.get(PORTALS, {"health": "failing"})) == []
    assert listed(support_client.get(ERRORS, {"portal": world.hub_id, "state": "unresolved"})) == []
