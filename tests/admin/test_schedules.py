"""Schedules are DB-owned: ops' edits survive toggles, pause/resume and beat restarts (deploys)."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery_app import app as celery_app
from integration.beat import FleetScheduler
from integration.models import ObjectSync, Portal
from integration.services.audit import Actor
from integration.services.object_syncs import object_sync_set_enabled
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, form_data, run_action

pytestmark = pytest.mark.django_db


def edit_interval(portal: Portal, object_type: str, minutes: int) -> PeriodicTask:
    """What ops do in the beat admin: point the task at another interval."""
    task = PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:{object_type}")
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
    task.save()
    return task


def interval_of(task: PeriodicTask) -> tuple[bool, int, str]:
    task.refresh_from_db()
    return task.enabled, task.interval.every, task.interval.period


def test_an_edited_interval_survives_switching_the_object_off_and_on():
    portal = make_portal(enable=("clients",))
    task = edit_interval(portal, "clients", 5)
    clients = ObjectSync.objects.select_related("portal", "periodic_task").get(portal=portal, object_type="clients")

    object_sync_set_enabled(object_sync=clients, enabled=False, actor=Actor.system())
    assert interval_of(task) == (False, 5, "minutes")
    object_sync_set_enabled(object_sync=clients, enabled=True, actor=Actor.system())
    assert interval_of(task) == (True, 5, "minutes")
    assert PeriodicTask.objects.filter(name__startswith=f"sync:{portal.hub_id}:").count() == 1


def test_an_edited_interval_survives_pause_and_resume_from_the_admin(admin_client_):
    portal = make_portal(enable=("clients",))
    task = edit_interval(portal, "clients", 7)

    run_action(admin_client_, PORTALS, "pause", [portal.pk])
    assert interval_of(task) == (False, 7, "minutes")
    run_action(admin_client_, PORTALS, "resume", [portal.pk])
    assert interval_of(task) == (True, 7, "minutes")
    assert ">every 7 minutes</a>" in admin_client_.get(f"{PORTALS}{portal.pk}/change/").content.decode()


def test_a_beat_restart_keeps_edited_sync_schedules_and_installs_housekeeping(monkeypatch):
    portal = make_portal(enable=("clients",))
    task = edit_interval(portal, "clients", 3)
    # beat drops "old" connections between ticks; inside the test's transaction that would drop ours
    monkeypatch.setattr("integration.beat.close_old_connections", lambda: None)
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)

    FleetScheduler(app=celery_app)._finalize.cancel()  # what `celery beat` does at start: upserts CELERY_BEAT_SCHEDULE

    assert interval_of(task) == (True, 3, "minutes")
    housekeeping = PeriodicTask.objects.get(name="housekeeping-prune")
    assert (housekeeping.task, housekeeping.crontab.minute, housekeeping.crontab.hour) == (
        "integration.tasks.housekeeping_prune",
        "17",
        "3",
    )


def test_code_owned_beat_entries_are_housekeeping_only():
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {
        "integration.tasks.housekeeping_prune"
    }
    assert not [name for name in settings.CELERY_BEAT_SCHEDULE if name.startswith("sync:")]


def test_an_ops_crontab_edit_in_the_beat_admin_is_the_portal_pages_schedule_and_survives_a_deploy(
    ops_client, monkeypatch
):
    portal = make_portal(enable=("clients",))
    task = PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:clients")
    nightly = CrontabSchedule.objects.create(minute="0", hour="3", timezone="Europe/Stockholm")
    url = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    data = form_data(ops_client.get(url))
    data.update(interval="", crontab=str(nightly.pk))

    assert ops_client.post(url, data).status_code == 302

    shown = f'title="{task.name}">At 03:00 AM Europe/Stockholm</a>'
    assert shown in ops_client.get(f"{PORTALS}{portal.pk}/change/").content.decode()
    # a deploy: migrations, the groups' permissions re-applied, beat restarted (upserts CELERY_BEAT_SCHEDULE)
    monkeypatch.setattr("integration.beat.close_old_connections", lambda: None)
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    call_command("migrate", verbosity=0)
    call_command("setup_groups", stdout=io.StringIO())
    FleetScheduler(app=celery_app)._finalize.cancel()
    task.refresh_from_db()
    assert (task.enabled, task.crontab_id, task.interval_id) == (True, nightly.pk, None)
    assert shown in ops_client.get(f"{PORTALS}{portal.pk}/change/").content.decode()
