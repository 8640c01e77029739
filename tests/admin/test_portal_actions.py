"""Portal actions from the list and from the portal page: exact database effects, messages and audit rows."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from integration.models import AuditEvent, HubSpotInstallation, ObjectSync, Portal, RecordError, SyncedRecord
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, messages_of, run_action

pytestmark = pytest.mark.django_db


def sync_id(portal: Portal, object_type: str) -> int:
    return ObjectSync.objects.get(portal=portal, object_type=object_type).pk


def audit(portal: Portal, action: str) -> list[tuple[str, dict]]:
    return [(e.actor_label, e.after) for e in AuditEvent.objects.filter(portal=portal, action=action)]


def task_enabled(portal: Portal, object_type: str) -> bool:
    return PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:{object_type}").enabled


STAFF = "staff:root@example.com"


# -- sync now ---------------------------------------------------------------------------------------------


def test_sync_now_queues_every_enabled_object_after_commit(admin_client_, enqueued, django_capture_on_commit_callbacks):
    portal = make_portal(plan="pro", enable=("clients", "invoices", "line_items"))
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client_, PORTALS, "sync_now", [portal.pk])

    assert response.status_code == 302
    # line items ride along with invoices: no run of their own
    assert enqueued.calls == [
        (sync_id(portal, "clients"), "manual", False),
        (sync_id(portal, "invoices"), "manual", False),
    ]
    assert messages_of(response) == [("success", f"Sync queued for {portal.hub_id} (Clients, Invoices).")]
    assert audit(portal, "portal.sync_requested") == [(STAFF, {"objects": ["Clients", "Invoices"]})]


def test_sync_now_reports_what_could_not_be_queued(admin_client_, enqueued, django_capture_on_commit_callbacks):
    paused = make_portal(enable=("clients",), status="paused")
    disconnected = make_portal(enable=("clients",))
    HubSpotInstallation.objects.filter(portal=disconnected).update(status="disconnected")
    idle = make_portal()
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client_, PORTALS, "sync_now", [paused.pk, disconnected.pk, idle.pk])

    assert enqueued.calls == []
    assert messages_of(response) == [
        (
            "warning",
            f"Not queued: {paused.hub_id} Clients — The portal is paused.; "
            f"{disconnected.hub_id} Clients — HubSpot is disconnected; reconnect the app.",
        ),
        ("warning", f"No object is switched on in {idle.hub_id}; nothing queued."),
    ]
    assert AuditEvent.objects.filter(action="portal.sync_requested").count() == 0


# -- full resync ------------------------------------------------------------------------------------------


def synced(portal: Portal, kleer_id: str) -> SyncedRecord:
    return SyncedRecord.objects.create(
        portal=portal,
        object_type="clients",
        kleer_id=kleer_id,
        hubspot_object="companies",
        hubspot_id=f"h{kleer_id}",
        fingerprint="f" * 64,
        associations_fingerprint="a" * 64,
    )


def test_full_resync_forgets_fingerprints_and_queues_full_runs(
    admin_client_, enqueued, django_capture_on_commit_callbacks
):
    portal = make_portal(enable=("clients", "products"))
    other = make_portal(enable=("clients",))
    synced(portal, "1"), synced(portal, "2"), synced(other, "1")
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client_, PORTALS, "full_resync", [portal.pk])

    mine = SyncedRecord.objects.filter(portal=portal)
    assert set(mine.values_list("fingerprint", "associations_fingerprint", "hubspot_id")) == {
        ("", "", "h1"),
        ("", "", "h2"),
    }
    assert SyncedRecord.objects.get(portal=other).fingerprint == "f" * 64
    assert enqueued.calls == [(sync_id(portal, "clients"), "full", True), (sync_id(portal, "products"), "full", True)]
    assert messages_of(response) == [
        ("success", f"Full resync queued for {portal.hub_id} (Clients, Products; 2 records to resend).")
    ]
    assert audit(portal, "portal.full_resync") == [(STAFF, {"objects": ["Clients", "Products"], "records_reset": 2})]


def test_full_resync_of_a_paused_portal_changes_nothing(admin_client_, enqueued, django_capture_on_commit_callbacks):
    portal = make_portal(enable=("clients",), status="paused")
    synced(portal, "1")
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client_, PORTALS, "full_resync", [portal.pk])

    assert SyncedRecord.objects.get(portal=portal).fingerprint == "f" * 64
    assert enqueued.calls == []
    assert messages_of(response) == [
        ("warning", f"Nothing to resync for portal {portal.hub_id} (Clients: The portal is paused.)")
    ]
    assert audit(portal, "portal.full_resync") == []


# -- pause / resume ---------------------------------------------------------------------------------------


def test_pause_disables_the_schedules_and_keeps_the_configuration(admin_client_):
    portal = make_portal(enable=("clients", "products"))
    response = run_action(admin_client_, PORTALS, "pause", [portal.pk])

    portal.refresh_from_db()
    assert portal.status == "paused"
    assert (task_enabled(portal, "clients"), task_enabled(portal, "products")) == (False, False)
    assert set(ObjectSync.objects.filter(portal=portal, enabled=True).values_list("object_type", flat=True)) == {
        "clients",
        "products",
    }
    assert messages_of(response) == [("info", f"Paused {portal.hub_id}: schedules disabled, configuration kept.")]
    assert [e.before for e in AuditEvent.objects.filter(portal=portal, action="portal.paused")] == [
        {"status": "active"}
    ]

    again = run_action(admin_client_, PORTALS, "pause", [portal.pk])
    assert messages_of(again) == [("warning", f"Already paused: {portal.hub_id}.")]


def test_resume_re_enables_the_schedules_of_enabled_objects_only(admin_client_):
    portal = make_portal(enable=("clients",))
    run_action(admin_client_, PORTALS, "pause", [portal.pk])
    response = run_action(admin_client_, PORTALS, "resume", [portal.pk])

    portal.refresh_from_db()
    assert portal.status == "active"
    assert task_enabled(portal, "clients") is True
    assert not PeriodicTask.objects.filter(name=f"sync:{portal.hub_id}:products").exists()
    assert messages_of(response) == [("info", f"Resumed {portal.hub_id}: schedules of enabled objects re-enabled.")]
    assert audit(portal, "portal.resumed") == [(STAFF, {"status": "active"})]


# -- retry parked -----------------------------------------------------------------------------------------


def test_retry_parked_unparks_only_parked_errors(admin_client_):
    portal = make_portal()
    parked = [
        RecordError.objects.create(
            portal=portal, object_type="clients", kleer_id=k, status="parked", attempts=5, message="m"
        )
        for k in ("1", "2")
    ]
    still_open = RecordError.objects.create(portal=portal, object_type="clients", kleer_id="3", attempts=2, message="m")
    response = run_action(admin_client_, PORTALS, "retry_parked", [portal.pk])

    assert [
        (e.status, e.attempts, e.next_retry_at) for e in RecordError.objects.filter(pk__in=[p.pk for p in parked])
    ] == [
        ("open", 0, None),
        ("open", 0, None),
    ]
    assert RecordError.objects.get(pk=still_open.pk).attempts == 2
    assert messages_of(response) == [
        ("info", f"2 parked record errors will be retried on the next run: {portal.hub_id} (2).")
    ]
    assert audit(portal, "record_errors.retried") == [(STAFF, {"count": 2})]

    again = run_action(admin_client_, PORTALS, "retry_parked", [portal.pk])
    assert messages_of(again) == [("warning", "No parked record errors in the selected portals.")]


# -- disconnect -------------------------------------------------------------------------------------------


def test_disconnect_marks_the_installation_and_is_audited_as_staff(admin_client_):
    portal = make_portal()
    response = run_action(admin_client_, PORTALS, "disconnect", [portal.pk])

    installation = HubSpotInstallation.objects.get(portal=portal)
    reason = f"disconnected in admin by {STAFF}"
    assert (installation.status, installation.disconnected_reason) == ("disconnected", reason)
    assert messages_of(response) == [
        ("info", f"Disconnected from HubSpot: {portal.hub_id}. Syncs are skipped until the customer reconnects.")
    ]
    assert audit(portal, "portal.disconnected") == [(STAFF, {"hubspot": "disconnected", "reason": reason})]
    assert audit(portal, "hubspot.disconnected") == [("system", {"reason": reason})]

    again = run_action(admin_client_, PORTALS, "disconnect", [portal.pk])
    assert messages_of(again) == [("warning", f"Not connected to HubSpot: {portal.hub_id}.")]


# -- detach synced records ---------------------------------------------------------------------------------


def test_detach_forgets_only_that_portals_links_and_errors_and_is_audited(admin_client_):
    portal, other = make_portal(), make_portal()
    for kleer_id in ("1", "2", "3"):
        synced(portal, kleer_id)
    synced(other, "1")
    RecordError.objects.create(portal=portal, object_type="clients", kleer_id="4", message="m")
    response = run_action(admin_client_, PORTALS, "detach_synced_records", [portal.pk])

    assert messages_of(response) == [
        ("info", f"Portal {portal.hub_id}: forgot 3 synced records. Another Kleer company can now be connected.")
    ]
    assert (SyncedRecord.objects.filter(portal=portal).count(), RecordError.objects.filter(portal=portal).count()) == (
        0,
        0,
    )
    assert SyncedRecord.objects.filter(portal=other).count() == 1
    assert audit(portal, "portal.detach_synced_records") == [(STAFF, {"synced_records": 3, "record_errors": 1})]


def test_detach_is_refused_while_a_run_is_in_progress(admin_client_):
    from integration.models import SyncRun

    portal = make_portal()
    synced(portal, "1")
    SyncRun.objects.create(portal=portal, object_type="clients")
    response = run_action(admin_client_, PORTALS, "detach_synced_records", [portal.pk])

    assert messages_of(response) == [
        ("warning", f"Portal {portal.hub_id} has a sync in progress; detach after it has finished.")
    ]
    assert SyncedRecord.objects.filter(portal=portal).count() == 1
    assert audit(portal, "portal.detach_synced_records") == []


# -- plan -------------------------------------------------------------------------------------------------


def test_switch_to_free_switches_off_pro_objects_and_their_schedules(admin_client_):
    portal = make_portal(plan="pro", enable=("clients", "invoices", "projects"))
    response = run_action(admin_client_, PORTALS, "switch_to_free", [portal.pk])

    portal.refresh_from_db()
    assert portal.plan == "free"
    assert list(ObjectSync.objects.filter(portal=portal, enabled=True).values_list("object_type", flat=True)) == [
        "clients"
    ]
    assert (task_enabled(portal, "clients"), task_enabled(portal, "invoices"), task_enabled(portal, "projects")) == (
        True,
        False,
        False,
    )
    assert messages_of(response) == [("info", f"Switched to Free: {portal.hub_id} (switched off Invoices, Projects).")]
    assert audit(portal, "portal.plan_changed") == [(STAFF, {"plan": "free", "switched_off": ["Invoices", "Projects"]})]
    assert len(audit(portal, "object_sync.disabled")) == 2


def test_switch_to_pro_changes_only_the_plan(admin_client_):
    portal = make_portal(enable=("clients",))
    response = run_action(admin_client_, PORTALS, "switch_to_pro", [portal.pk])

    portal.refresh_from_db()
    assert portal.plan == "pro"
    assert list(ObjectSync.objects.filter(portal=portal, enabled=True).values_list("object_type", flat=True)) == [
        "clients"
    ]
    assert messages_of(response) == [("info", f"Switched to Pro: {portal.hub_id}.")]
    again = run_action(admin_client_, PORTALS, "switch_to_pro", [portal.pk])
    assert messages_of(again) == [("warning", f"Already on Pro: {portal.hub_id}.")]


# -- the portal page's buttons ----------------------------------------------------------------------------


def test_a_portal_page_button_runs_the_action_for_that_portal_and_returns_to_it(
    admin_client_, enqueued, django_capture_on_commit_callbacks
):
    portal = make_portal(enable=("clients",))
    other = make_portal(enable=("clients",))
    url = f"{PORTALS}{portal.pk}/action/sync_now/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(url)

    assert (response.status_code, response["Location"]) == (302, f"{PORTALS}{portal.pk}/change/")
    assert enqueued.calls == [(sync_id(portal, "clients"), "manual", False)]
    assert sync_id(other, "clients") not in {c[0] for c in enqueued.calls}
    assert admin_client_.get(url).status_code == 405
    assert admin_client_.post(f"{PORTALS}{portal.pk}/action/delete_selected/").status_code == 403
    assert admin_client_.post(f"{PORTALS}999999/action/sync_now/").status_code == 404


def test_the_page_offers_the_buttons_that_fit_the_portal_state(admin_client_):
    active_pro = make_portal(plan="pro")
    paused_free = make_portal(status="paused", connected=False)

    def buttons(portal: Portal) -> list[str]:
        return [b["name"] for b in admin_client_.get(f"{PORTALS}{portal.pk}/change/").context["portal_buttons"]]

    assert buttons(active_pro) == ["sync_now", "full_resync", "retry_parked", "pause", "switch_to_free", "disconnect"]
    synced(active_pro, "1")
    assert "detach_synced_records" in buttons(active_pro)
    assert buttons(paused_free) == ["sync_now", "full_resync", "retry_parked", "resume", "switch_to_pro"]
