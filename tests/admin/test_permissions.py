"""Who may do what: Support runs portals but not schedules nor staff audit rows; Ops owns schedules, reads the rest.

Each rule is checked by logging in as a member of the group and looking at status codes, offered actions and
querysets, the way the admin enforces them (has_*_permission, action permissions, AuditEvent queryset).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts.groups import OPS, SUPPORT
from integration.models import (
    AuditEvent,
    InboundEvent,
    ObjectSync,
    Portal,
    RecordError,
    SyncedRecord,
    SyncRun,
    WorkflowExecution,
)
from integration.services.audit import Actor, audit_record
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, action_names, form_data, listed, run_action

pytestmark = pytest.mark.django_db
TASKS = "/admin/django_celery_beat/periodictask/"
AUDIT = "/admin/integration/auditevent/"
PORTAL_ACTIONS = {
    "sync_now",
    "full_resync",
    "retry_parked",
    "pause",
    "resume",
    "switch_to_pro",
    "switch_to_free",
    "detach_synced_records",
    "disconnect",
}
BEAT_ACTIONS = {"enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks"}


def group_perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.fixture
def portal() -> Portal:
    return make_portal(enable=("clients",))


@pytest.fixture
def task(portal) -> PeriodicTask:
    return PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:clients")


@pytest.fixture
def audit_rows(portal, django_user_model):
    staff = django_user_model.objects.create_user(email="colleague@example.com", password="x", is_staff=True)
    return {
        "staff": audit_record(portal=portal, actor=Actor.staff(staff), action="portal.paused"),
        "customer": audit_record(
            portal=portal, actor=Actor.portal_user(hub_id=portal.hub_id), action="mapping.created"
        ),
        "system": audit_record(portal=portal, actor=Actor.system(), action="hubspot.disconnected"),
    }


# -- the groups themselves --------------------------------------------------------------------------------


def test_group_permissions_for_audit_and_schedules():
    support, ops = group_perms(SUPPORT), group_perms(OPS)
    assert "integration.view_auditevent" in support
    assert "integration.view_staff_auditevent" not in support
    assert "integration.view_staff_auditevent" in ops
    assert "django_celery_beat.change_periodictask" not in support
    assert "django_celery_beat.change_periodictask" in ops
    assert "integration.change_portal" in support and "integration.change_portal" not in ops


# -- Support ----------------------------------------------------------------------------------------------


def test_support_manages_portals_with_every_portal_action(support_client, portal):
    response = support_client.get(PORTALS)
    assert response.status_code == 200
    assert action_names(response) == PORTAL_ACTIONS
    page = support_client.get(f"{PORTALS}{portal.pk}/change/")
    assert 'name="kleer_api_key"' in page.content.decode()
    assert [b["name"] for b in page.context["portal_buttons"]] == [
        "sync_now",
        "full_resync",
        "retry_parked",
        "pause",
        "switch_to_pro",
        "disconnect",
    ]
    data = form_data(page)
    data["name"] = "Support renamed"
    assert support_client.post(f"{PORTALS}{portal.pk}/change/", data).status_code == 302
    assert Portal.objects.get(pk=portal.pk).name == "Support renamed"
    run_action(support_client, PORTALS, "pause", [portal.pk])
    assert Portal.objects.get(pk=portal.pk).status == "paused"


def test_support_edits_mappings_and_retries_errors(support_client, portal):
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    page = support_client.get(f"/admin/integration/objectsync/{clients.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' in page.content.decode()
    error = RecordError.objects.create(portal=portal, object_type="clients", kleer_id="1", status="parked", message="m")
    assert action_names(support_client.get("/admin/integration/recorderror/")) == {"retry"}
    run_action(support_client, "/admin/integration/recorderror/", "retry", [error.pk])
    assert RecordError.objects.get(pk=error.pk).status == "open"


def test_support_cannot_edit_schedules(support_client, task):
    listing = support_client.get(TASKS)
    assert listing.status_code == 200
    assert action_names(listing) == set()  # django-celery-beat's bulk actions are gated here
    page = support_client.get(f"{TASKS}{task.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert support_client.post(f"{TASKS}{task.pk}/change/", {"name": task.name}).status_code == 403
    run_action(support_client, TASKS, "disable_tasks", [task.pk])
    assert PeriodicTask.objects.get(pk=task.pk).enabled is True
    assert support_client.get("/admin/django_celery_beat/intervalschedule/add/").status_code == 403


def test_support_cannot_read_audit_events_of_staff(support_client, audit_rows):
    listing = support_client.get(AUDIT)
    assert listing.status_code == 200
    visible = {e.pk for e in listed(listing)}
    assert {audit_rows["customer"].pk, audit_rows["system"].pk} <= visible
    assert visible == set(AuditEvent.objects.exclude(actor__is_staff=True).values_list("pk", flat=True))
    assert audit_rows["staff"].pk not in visible
    assert listed(support_client.get(AUDIT, {"actor": "staff"})) == []
    hidden = support_client.get(f"{AUDIT}{audit_rows['staff'].pk}/change/")
    assert (hidden.status_code, hidden["Location"]) == (302, "/admin/")
    assert support_client.get(f"{AUDIT}{audit_rows['customer'].pk}/change/").status_code == 200


def test_support_actions_write_staff_audit_rows_they_then_cannot_see(support_client, portal):
    run_action(support_client, PORTALS, "pause", [portal.pk])
    event = AuditEvent.objects.get(action="portal.paused")
    assert event.actor_label == "staff:support@example.com"
    assert event.pk not in {e.pk for e in listed(support_client.get(AUDIT))}


# -- Ops --------------------------------------------------------------------------------------------------


def test_ops_sees_portals_read_only_without_actions_or_credentials(ops_client, portal):
    listing = ops_client.get(PORTALS)
    assert listing.status_code == 200
    assert action_names(listing) == set()
    page = ops_client.get(f"{PORTALS}{portal.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html and 'name="kleer_api_key"' not in html
    assert page.context["portal_buttons"] == []
    assert ops_client.post(f"{PORTALS}{portal.pk}/change/", {"name": "x"}).status_code == 403
    assert ops_client.post(f"{PORTALS}{portal.pk}/action/pause/").status_code == 403
    run_action(ops_client, PORTALS, "pause", [portal.pk])
    assert Portal.objects.get(pk=portal.pk).status == "active"


def test_ops_reads_runs_errors_and_object_syncs_but_cannot_retry_or_toggle(ops_client, portal):
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="failed")
    assert ops_client.get(f"/admin/integration/syncrun/{run.pk}/change/").status_code == 200
    assert action_names(ops_client.get("/admin/integration/recorderror/")) == set()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    page = ops_client.get(f"/admin/integration/objectsync/{clients.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert ops_client.post(f"/admin/integration/objectsync/{clients.pk}/change/", {}).status_code == 403


def integration_admin_pages() -> list[tuple[str, str]]:
    """(changelist, change page of its first row) of every integration model in the admin."""
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label != "integration":
            continue
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        assert pk is not None, f"no {opts.model_name} row to look at"
        base = f"admin:{opts.app_label}_{opts.model_name}"
        pages.append((reverse(f"{base}_changelist"), reverse(f"{base}_change", args=[pk])))
    return pages


@pytest.fixture
def one_of_everything(portal, audit_rows):
    """A row of every integration model, so every change page can be opened."""
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="failed")
    RecordError.objects.create(portal=portal, object_type="clients", kleer_id="1", message="m", run=run)
    SyncedRecord.objects.create(portal=portal, object_type="clients", kleer_id="1", hubspot_object="companies")
    InboundEvent.objects.create(source="webhook", event_id="e-1", portal=portal)
    WorkflowExecution.objects.create(
        portal=portal,
        hub_id=portal.hub_id,
        callback_id="cb-1",
        action="create-invoice",
        object_type="DEAL",
        object_id="1",
    )
    return portal


def test_ops_sees_every_integration_page_and_changes_none(ops_client, one_of_everything):
    pages = integration_admin_pages()
    assert len(pages) == 10
    for changelist, change in pages:
        listing = ops_client.get(changelist)
        assert listing.status_code == 200, changelist
        assert listing.context["has_add_permission"] is False, changelist
        page = ops_client.get(change)
        assert page.status_code == 200, change
        assert 'name="_save"' not in page.content.decode(), change
        assert ops_client.post(change, {}).status_code == 403, change


def test_ops_reads_mappings_without_editing_them(ops_client, portal):
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    page = ops_client.get(f"/admin/integration/objectsync/{clients.pk}/change/")
    (inline,) = page.context["inline_admin_formsets"]
    assert (inline.has_view_permission, inline.has_change_permission, inline.has_add_permission) == (True, False, False)
    html = page.content.decode()
    shown = sorted(form.instance.hubspot_property for form in inline.formset.forms)
    assert shown == sorted(clients.mappings.values_list("hubspot_property", flat=True))
    assert "<p>name</p>" in html  # the values, as text
    assert f'name="{inline.formset.prefix}-0-hubspot_property"' not in html  # no inputs


def test_support_reads_runs_synced_records_and_inbound_events(support_client, one_of_everything):
    for model in ("syncrun", "syncedrecord", "inboundevent", "hubspotinstallation", "kleercredentials"):
        row = apps.get_model("integration", model).objects.first()
        assert support_client.get(f"/admin/integration/{model}/").status_code == 200, model
        page = support_client.get(f"/admin/integration/{model}/{row.pk}/change/")
        assert (page.status_code, 'name="_save"' in page.content.decode()) == (200, False), model


def test_support_cannot_edit_schedule_objects(support_client):
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    interval = IntervalSchedule.objects.create(every=9, period="minutes")
    for url in (
        "/admin/django_celery_beat/crontabschedule/",
        f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/change/",
        f"/admin/django_celery_beat/intervalschedule/{interval.pk}/change/",
        "/admin/django_celery_beat/periodictask/add/",
    ):
        assert support_client.get(url).status_code == 403, url
    assert support_client.post(f"/admin/django_celery_beat/intervalschedule/{interval.pk}/delete/").status_code == 403
    assert IntervalSchedule.objects.get(pk=interval.pk).every == 9


def test_ops_cannot_retry_a_record_error_from_its_page(ops_client, portal):
    parked = RecordError.objects.create(
        portal=portal, object_type="clients", kleer_id="1", status="parked", attempts=5, message="m"
    )
    page = ops_client.get(f"/admin/integration/recorderror/{parked.pk}/change/")
    assert (page.status_code, page.context["record_error_buttons"]) == (200, [])
    assert ops_client.post(f"/admin/integration/recorderror/{parked.pk}/retry/").status_code == 403
    assert (RecordError.objects.get(pk=parked.pk).status, RecordError.objects.get(pk=parked.pk).attempts) == (
        "parked",
        5,
    )


def test_ops_edits_a_schedule_in_the_beat_admin(ops_client, task):
    assert action_names(ops_client.get(TASKS)) == {*BEAT_ACTIONS, "delete_selected"}
    page = ops_client.get(f"{TASKS}{task.pk}/change/")
    five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    data = form_data(page)
    data["interval"] = str(five.pk)

    saved = ops_client.post(f"{TASKS}{task.pk}/change/", data)

    assert saved.status_code == 302
    assert PeriodicTask.objects.get(pk=task.pk).interval_id == five.pk


def test_ops_reads_every_audit_event(ops_client, audit_rows):
    assert {e.pk for e in listed(ops_client.get(AUDIT))} == set(AuditEvent.objects.values_list("pk", flat=True))
    assert audit_rows["staff"].pk in {e.pk for e in listed(ops_client.get(AUDIT, {"actor": "staff"}))}
    assert ops_client.get(f"{AUDIT}{audit_rows['staff'].pk}/change/").status_code == 200


# -- everyone else ----------------------------------------------------------------------------------------


def test_non_staff_users_and_strangers_are_sent_to_the_login(client, django_user_model, portal):
    assert client.get(PORTALS).status_code == 302
    customer = django_user_model.objects.create_user(email="customer@example.com", password="x")
    client.force_login(customer)
    response = client.get(f"{PORTALS}{portal.pk}/change/")
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/admin/login/")
    assert client.post(f"{PORTALS}{portal.pk}/action/sync_now/").status_code == 302
