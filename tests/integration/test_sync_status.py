"""The object tab's sync status tells the truth (issue 14 point 4): queued after Sync now, running with the
records read so far and a progress bar, finished with counts that add up (skipped included, with why), and the
next run as django-celery-beat will really fire it; a newly enabled object runs at beat's next tick."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from integration import tasks
from integration.models import ObjectSync, SyncRun
from integration.services.audit import Actor
from integration.services.object_syncs import object_sync_set_enabled
from integration.services.schedules import schedule_next_run
from integration.services.sync import object_sync_run
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db(transaction=True)


def _client(hub_id: int) -> Client:
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = hub_id
    session.save()
    return client


def _text(html: str) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return re.sub(r"\( ", "(", re.sub(r" ([.,:)])", r"\1", spaced))


def _task(portal, object_type: str) -> PeriodicTask:
    return ObjectSync.objects.select_related("periodic_task").get(portal=portal, object_type=object_type).periodic_task


def test_a_daily_object_switched_on_is_due_at_beats_next_tick_then_a_day_after_its_run(world_factory):
    world = world_factory(clients=1, products=2, invoices=0, agreements=0, projects=0)
    products = ObjectSync.objects.get(portal=world.portal, object_type="products")
    object_sync_set_enabled(object_sync=products, enabled=True, actor=Actor("t"))
    task = _task(world.portal, "products")

    # django-celery-beat's own entry says it is due now, not a day from now.
    is_due, _next = ModelEntry(task).is_due()
    assert is_due is True
    now = timezone.now()
    assert schedule_next_run(task=task, now=now) <= now
    page = _text(_client(world.hub_id).get(f"/portals/{world.hub_id}/settings/products/").content.decode())
    assert "Next run Now: the scheduler starts it within seconds" in page

    # Beat fired it at 18:24:52: the next run is a day after that, to the second (not after the run finished).
    fired = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    task.last_run_at = fired
    task.save()
    assert ModelEntry(task).is_due()[0] is False
    assert schedule_next_run(task=task) == fired + dt.timedelta(days=1)
    page = _client(world.hub_id).get(f"/portals/{world.hub_id}/settings/products/").content.decode()
    expected = timezone.localtime(fired + dt.timedelta(days=1))
    assert f'<time datetime="{expected.isoformat()}">{expected:%Y-%m-%d %H:%M %Z}</time>' in page


def test_an_entry_that_never_ran_fires_one_interval_after_it_was_saved_as_beat_counts_it(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    task = _task(world.portal, "clients")
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=None)
    task.refresh_from_db()
    assert schedule_next_run(task=task) == task.date_changed + dt.timedelta(minutes=15)


def test_a_crontab_schedule_ops_chose_is_followed(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    task = _task(world.portal, "clients")
    zone = timezone.get_current_timezone_name()
    task.crontab = CrontabSchedule.objects.create(minute="30", hour="18", timezone=zone)
    task.interval = None
    task.last_run_at = timezone.now()
    task.save()
    next_run = timezone.localtime(schedule_next_run(task=task))
    assert (next_run.hour, next_run.minute) == (18, 30)
    assert dt.timedelta(0) < next_run - timezone.now() <= dt.timedelta(days=1)


def test_sync_now_is_queued_then_running_with_progress_then_finished(world_factory, monkeypatch):
    world = world_factory(clients=3, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    client = _client(world.hub_id)
    base = f"/portals/{world.hub_id}/settings/clients/"
    queued = []
    # No worker has taken the task yet: it is recorded instead of run inline (and never reaches a broker).
    monkeypatch.setattr(tasks.object_sync_run, "delay_on_commit", lambda *args: queued.append(args))
    cache.clear()
    client.post(f"{base}sync")
    assert queued == [(ObjectSync.objects.get(portal=world.portal, object_type="clients").pk, "manual", False)]
    status = client.get(f"{base}sync/status").json()
    assert (status["state"], status["read"], status["expected"]) == ("queued", 0, 0)
    assert "Queued since" in _text(status["text"]) and "starts as soon as a worker is free." in _text(status["text"])
    page = client.get(base).content.decode()
    assert 'id="run-state" data-state="queued"' in page and "Never" not in _text(page).split("Next run")[0]

    previous = SyncRun.objects.create(portal=world.portal, object_type="clients", status="succeeded", read=400)
    running = SyncRun.objects.create(portal=world.portal, object_type="clients", status="running", read=150)
    SyncRun.objects.filter(pk=previous.pk).update(started_at=running.started_at - dt.timedelta(hours=1))
    status = client.get(f"{base}sync/status").json()
    assert (status["state"], status["read"], status["expected"], status["percent"]) == ("running", 150, 400, 37)
    when = timezone.localtime(running.started_at).strftime("%Y-%m-%d %H:%M %Z")
    assert f"Running since {when}: 150 records read so far of about 400." in _text(status["text"])
    assert '<progress class="run-progress" max="400" value="150"' in status["text"]

    SyncRun.objects.filter(pk=running.pk).update(status="succeeded", finished_at=timezone.now())
    assert client.get(f"{base}sync/status").json()["state"] == "finished"


def test_a_short_run_has_no_progress_bar(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    SyncRun.objects.create(portal=world.portal, object_type="clients", status="succeeded", read=12)
    SyncRun.objects.create(portal=world.portal, object_type="clients", status="running", read=5)
    status = _client(world.hub_id).get(f"/portals/{world.hub_id}/settings/clients/sync/status").json()
    assert (status["state"], status["expected"]) == ("running", 0) and "<progress" not in status["text"]


def test_counts_add_up_to_what_was_read_with_why_records_were_skipped(world_factory):
    world = world_factory(clients=4, products=1, invoices=30, agreements=0, projects=0, enable=("clients", "invoices"))
    object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type="clients").pk)
    run = object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type="invoices").pk)
    run.refresh_from_db()
    assert run.skipped > 0 and run.skipped_reasons == {"filtered": run.skipped}
    assert run.read == run.created + run.updated + run.unchanged + run.failed + run.skipped
    page = _text(_client(world.hub_id).get(f"/portals/{world.hub_id}/settings/invoices/").content.decode())
    assert (
        f"Counts {run.read} read: {run.created} created · {run.updated} updated · {run.unchanged} unchanged · "
        f"{run.failed} failed · {run.skipped} skipped (drafts and credit invoices, which are not synced: "
        f"{run.skipped})"
    ) in page
