"""schedule_apply: one DB-owned beat entry per portal × synced object (integration/services/schedules.py).

That ops' interval edits survive toggles, pause/resume and beat restarts is in tests/admin/test_schedules.py;
that beat really fires these entries into a worker is in tests/integration/test_worker.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.beat import spread_fraction
from integration.models import ObjectSync, Portal
from integration.services.audit import Actor
from integration.services.object_syncs import object_sync_set_enabled
from integration.services.schedules import schedule_apply, schedule_next_run, schedules_apply_for_portal
from tests.admin.conftest import make_portal

pytestmark = pytest.mark.django_db


def object_sync(portal: Portal, object_type: str) -> ObjectSync:
    return ObjectSync.objects.select_related("portal", "periodic_task").get(portal=portal, object_type=object_type)


def entries(portal: Portal) -> list[PeriodicTask]:
    return list(PeriodicTask.objects.filter(name__startswith=f"sync:{portal.hub_id}:").order_by("name"))


@pytest.mark.parametrize(
    ("object_type", "minutes"),
    [("clients", 15), ("invoices", 30), ("agreements", 30), ("products", 1440), ("projects", 15)],
)
def test_switching_an_object_on_creates_its_entry_with_the_catalog_interval(object_type, minutes):
    portal = make_portal(plan="pro", enable=(object_type,))
    sync = object_sync(portal, object_type)

    [task] = entries(portal)
    assert (task.name, task.task, json.loads(task.args), json.loads(task.kwargs)) == (
        f"sync:{portal.hub_id}:{object_type}",
        "integration.tasks.object_sync_run",
        [],
        {"object_sync_id": sync.pk},
    )
    assert (task.enabled, task.one_off, task.interval.every, task.interval.period, task.crontab_id) == (
        True,
        False,
        minutes,
        IntervalSchedule.MINUTES,
        None,
    )
    assert sync.periodic_task_id == task.pk


def test_line_items_never_get_an_entry_of_their_own():
    portal = make_portal(plan="pro", enable=("invoices",))
    line_items = object_sync(portal, "line_items")
    ObjectSync.objects.filter(pk=line_items.pk).update(enabled=True)
    line_items.refresh_from_db()

    assert schedule_apply(object_sync=line_items) is None
    assert [task.name for task in entries(portal)] == [f"sync:{portal.hub_id}:invoices"]


def test_an_object_that_was_never_on_gets_no_entry():
    portal = make_portal()
    assert schedule_apply(object_sync=object_sync(portal, "clients")) is None
    assert entries(portal) == []


def test_switching_off_disables_the_entry_and_keeps_it():
    portal = make_portal(enable=("clients",))
    sync = object_sync(portal, "clients")
    object_sync_set_enabled(object_sync=sync, enabled=False, actor=Actor.system())

    [task] = entries(portal)
    assert (task.name, task.enabled, task.interval.every) == (f"sync:{portal.hub_id}:clients", False, 15)
    assert object_sync(portal, "clients").periodic_task_id == task.pk


def test_applying_again_changes_nothing_and_portals_share_interval_rows():
    first, second = make_portal(enable=("clients",)), make_portal(enable=("clients",))
    sync = object_sync(first, "clients")
    before = entries(first)

    assert schedule_apply(object_sync=sync).pk == before[0].pk
    assert [(t.pk, t.enabled, t.interval_id) for t in entries(first)] == [
        (t.pk, t.enabled, t.interval_id) for t in before
    ]
    assert entries(first)[0].interval_id == entries(second)[0].interval_id
    assert IntervalSchedule.objects.filter(every=15, period=IntervalSchedule.MINUTES).count() == 1


def test_a_paused_portal_keeps_its_entries_disabled_until_it_is_resumed():
    portal = make_portal(enable=("clients",), status=Portal.Status.PAUSED)
    sync = object_sync(portal, "clients")
    schedule_apply(object_sync=sync)
    assert [(t.name, t.enabled) for t in entries(portal)] == [(f"sync:{portal.hub_id}:clients", False)]

    Portal.objects.filter(pk=portal.pk).update(status=Portal.Status.ACTIVE)
    portal.refresh_from_db()
    schedules_apply_for_portal(portal=portal)
    assert [(t.name, t.enabled) for t in entries(portal)] == [(f"sync:{portal.hub_id}:clients", True)]


def test_switching_on_under_a_paused_portal_creates_no_entry_until_resume():
    portal = make_portal(status=Portal.Status.PAUSED)
    sync = object_sync(portal, "clients")
    sync.enabled = True
    sync.save(update_fields=["enabled"])
    assert schedule_apply(object_sync=sync) is None
    assert entries(portal) == []

    Portal.objects.filter(pk=portal.pk).update(status=Portal.Status.ACTIVE)
    portal.refresh_from_db()
    schedules_apply_for_portal(portal=portal)
    [task] = entries(portal)
    assert (task.enabled, json.loads(task.kwargs)) == (True, {"object_sync_id": sync.pk})


def test_a_leftover_entry_of_the_same_name_is_pointed_at_this_object():
    """An entry whose ObjectSync is gone (portal removed from a shell, database restored) keeps its name; a new
    portal with the same hub id must not inherit its stale object_sync_id, or beat would fire a task that fails."""
    portal = make_portal(enable=("clients",))
    [task] = entries(portal)
    stale = {"object_sync_id": 999_999}
    PeriodicTask.objects.filter(pk=task.pk).update(kwargs=json.dumps(stale), task="old.name", enabled=False)
    ObjectSync.objects.filter(portal=portal).update(periodic_task=None)
    sync = object_sync(portal, "clients")

    assert schedule_apply(object_sync=sync).pk == task.pk
    task.refresh_from_db()
    assert (task.task, json.loads(task.kwargs), task.enabled, task.interval.every) == (
        "integration.tasks.object_sync_run",
        {"object_sync_id": sync.pk},
        True,
        15,
    )
    assert object_sync(portal, "clients").periodic_task_id == task.pk


def test_a_task_for_an_object_sync_that_is_gone_is_dropped_with_a_warning(caplog):
    from integration import tasks

    portal = make_portal(plan="pro", enable=("clients",))
    gone = object_sync(portal, "clients").pk
    Portal.objects.filter(pk=portal.pk).delete()
    result = tasks.object_sync_run.apply(args=(gone,))
    assert (result.state, result.result) == ("SUCCESS", None)
    assert f"object sync {gone} no longer exists; task dropped" in caplog.text


def test_an_entry_created_without_run_soon_first_runs_at_a_point_of_its_interval_given_by_its_name():
    """Portals resumed or installed together must not all fire one interval later in the same minute."""
    portal = make_portal(status=Portal.Status.PAUSED)
    for object_type in ("clients", "invoices", "products"):
        ObjectSync.objects.filter(portal=portal, object_type=object_type).update(enabled=True)
    Portal.objects.filter(pk=portal.pk).update(status=Portal.Status.ACTIVE)
    portal.refresh_from_db()
    schedules_apply_for_portal(portal=portal)

    tasks = entries(portal)
    assert [(t.name, t.total_run_count) for t in tasks] == [
        (f"sync:{portal.hub_id}:{object_type}", 0) for object_type in ("clients", "invoices", "products")
    ]
    for task, minutes in zip(tasks, (15, 30, 1440), strict=True):
        # Created at date_changed: the first run is that fraction of one interval later, never later than upstream.
        offset = schedule_next_run(task=task) - task.date_changed
        expected = dt.timedelta(minutes=minutes) * spread_fraction(task.name)
        assert abs(offset - expected) < dt.timedelta(seconds=1), (task.name, offset, expected)


def test_switching_on_still_makes_a_new_entry_due_at_once():
    portal = make_portal(enable=("products",))
    [task] = entries(portal)
    assert task.last_run_at + dt.timedelta(days=1) <= timezone.now()  # run soon: beat's next tick
