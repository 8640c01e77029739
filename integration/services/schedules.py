"""Per-portal sync schedules as django-celery-beat PeriodicTasks (DB-owned, editable by ops in admin).

Created and updated here, explicitly, never from signals or a deploy step (STYLE.md §2): beat re-reads the
table when `PeriodicTasks.last_update` changes, which saving a PeriodicTask bumps. An interval that ops
edited in admin is kept when the sync is switched off and on again; only the enabled flag follows the
toggle (and the portal's pause).
"""

from __future__ import annotations

import json

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.models import ObjectSync, Portal

SYNC_TASK = "integration.tasks.object_sync_run"


def schedule_name(object_sync: ObjectSync) -> str:
    return f"sync:{object_sync.portal.hub_id}:{object_sync.object_type}"


def interval_for(minutes: int) -> IntervalSchedule:
    """Shared schedule rows: every task with the same interval points at one IntervalSchedule."""
    schedule, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
    return schedule


@transaction.atomic
def schedule_apply(*, object_sync: ObjectSync) -> PeriodicTask | None:
    """Make the beat entry of `object_sync` match its toggle and the portal's state.

    Line items are synced with their parents, so they never get an entry of their own.
    """
    spec = object_sync.spec
    if spec.synced_with:
        return None
    should_run = object_sync.enabled and object_sync.portal.status == Portal.Status.ACTIVE
    task = object_sync.periodic_task
    if task is None:
        if not should_run:
            return None
        task, _ = PeriodicTask.objects.get_or_create(
            name=schedule_name(object_sync),
            defaults={
                "task": SYNC_TASK,
                "interval": interval_for(spec.interval_minutes),
                "kwargs": json.dumps({"object_sync_id": object_sync.pk}),
                "enabled": should_run,
                "description": f"{spec.label} for HubSpot portal {object_sync.portal.hub_id}",
            },
        )
        ObjectSync.objects.filter(pk=object_sync.pk).update(periodic_task=task)
        object_sync.periodic_task = task
    if task.enabled != should_run:
        task.enabled = should_run
        task.save(update_fields=["enabled"])  # save() bumps PeriodicTasks so beat reloads
    return task


def schedules_apply_for_portal(*, portal: Portal) -> None:
    """Re-apply every object's schedule (after pause/resume or a plan change)."""
    for object_sync in portal.object_syncs.select_related("periodic_task", "portal"):
        schedule_apply(object_sync=object_sync)
