"""Per-portal sync schedules as django-celery-beat PeriodicTasks (DB-owned, editable by ops in admin).

Created and updated here, explicitly, never from signals or a deploy step (STYLE.md §2): beat re-reads the
table when `PeriodicTasks.last_update` changes, which saving a PeriodicTask bumps. An interval that ops
edited in admin is kept when the sync is switched off and on again; only the enabled flag follows the
toggle (and the portal's pause).
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.beat import spread_fraction
from integration.models import HubSpotInstallation, ObjectSync, Portal

SYNC_TASK = "integration.tasks.object_sync_run"


def schedule_name(object_sync: ObjectSync) -> str:
    return f"sync:{object_sync.portal.hub_id}:{object_sync.object_type}"


def interval_for(minutes: int) -> IntervalSchedule:
    """Shared schedule rows: every task with the same interval points at one IntervalSchedule."""
    schedule, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
    return schedule


@transaction.atomic
def schedule_apply(*, object_sync: ObjectSync, run_soon: bool = False) -> PeriodicTask | None:
    """Make the beat entry of `object_sync` match its toggle and the portal's state.

    Line items are synced with their parents, so they never get an entry of their own. `run_soon` (an object
    just switched on) makes beat fire the entry at its next tick, whatever its interval: beat counts an
    interval from `last_run_at`, or from `date_changed` when it never ran, so a daily object switched on
    would otherwise first run a day later.
    """
    spec = object_sync.spec
    if spec.synced_with:
        return None
    installation = getattr(object_sync.portal, "installation", None)
    uninstalled = installation is not None and installation.status == HubSpotInstallation.Status.UNINSTALLED
    should_run = object_sync.enabled and object_sync.portal.status == Portal.Status.ACTIVE and not uninstalled
    task = object_sync.periodic_task
    if task is None:
        if not should_run:
            return None
        task = _entry_claim(object_sync=object_sync)
    fields = []
    if task.enabled != should_run:
        task.enabled = should_run
        fields.append("enabled")
    if run_soon and should_run:
        task.last_run_at = timezone.now() - _period(task)
        fields.append("last_run_at")
    if fields:
        # save() bumps PeriodicTasks; date_changed tells beat which row to re-read (integration/beat.py).
        task.save(update_fields=[*fields, "date_changed"])
    return task


def _period(task: PeriodicTask) -> dt.timedelta:
    """How far back `last_run_at` must be for beat to find the entry due now."""
    if task.interval is not None:
        return dt.timedelta(**{task.interval.period: task.interval.every})
    return dt.timedelta(days=366)  # a crontab (or other schedule an ops edit chose): due after any past run


def schedule_next_run(*, task: PeriodicTask | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """When beat will fire `task` next, computed as django-celery-beat does (schedulers.ModelEntry).

    From `last_run_at` (set on the entries this module creates, see `_entry_claim`), or `date_changed` when it
    is empty (an entry added in the admin first fires one interval after it was saved), through the entry's own
    schedule (interval or crontab). A time in the past means "at beat's next tick" (it checks every few
    seconds); None when the entry is off or has no schedule we can compute. Beat may hold an entry that fell
    due while it was down a little longer (integration/beat.py spreads such catch-ups).
    """
    if task is None or not task.enabled:
        return None
    schedule = task.interval or task.crontab
    base = task.last_run_at or task.date_changed
    if schedule is None or base is None:
        return None
    if task.interval is not None:
        return base + _period(task)
    remaining = schedule.schedule.remaining_estimate(timezone.localtime(base))
    return (now or timezone.now()) + remaining


def _entry_claim(*, object_sync: ObjectSync) -> PeriodicTask:
    """Create the (enabled) entry of `object_sync` and link it.

    A new entry's first run falls at a point within its first interval given by a stable hash of its name (its
    `last_run_at` is set that far back), not exactly one interval after it was saved: portals created together
    (an import, a release that enables an object for everyone) then do not all fire in the same minute, and
    stay spread, as each run counts from the one before. `run_soon` overrides this when a person switched it on.

    An unlinked entry of the same name is taken over: its ObjectSync is gone (a portal removed outside the
    services, a restored backup) and its kwargs name a row that no longer exists, so the task would fail at
    every tick. Its target is re-pointed; its schedule is kept, as it may be an ops edit.
    """
    spec = object_sync.spec
    kwargs = json.dumps({"object_sync_id": object_sync.pk})
    name = schedule_name(object_sync)
    period = dt.timedelta(minutes=spec.interval_minutes)
    task, created = PeriodicTask.objects.get_or_create(
        name=name,
        defaults={
            "task": SYNC_TASK,
            "interval": interval_for(spec.interval_minutes),
            "kwargs": kwargs,
            "enabled": True,
            "description": f"{spec.label} for HubSpot portal {object_sync.portal.hub_id}",
            "last_run_at": timezone.now() - period * (1 - spread_fraction(name)),
        },
    )
    if not created and (task.task, task.kwargs, task.args) != (SYNC_TASK, kwargs, "[]"):
        task.task, task.kwargs, task.args = SYNC_TASK, kwargs, "[]"
        task.save(update_fields=["task", "kwargs", "args", "date_changed"])
    ObjectSync.objects.filter(pk=object_sync.pk).update(periodic_task=task)
    object_sync.periodic_task = task
    return task


def schedules_apply_for_portal(*, portal: Portal) -> None:
    """Re-apply every object's schedule (after pause/resume or a plan change)."""
    for object_sync in portal.object_syncs.select_related("periodic_task", "portal"):
        schedule_apply(object_sync=object_sync)
