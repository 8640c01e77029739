"""Retention: the daily housekeeping task prunes old sync runs, resolved record errors and processed inbound
events, in batches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import InboundEvent, RecordError, SyncRun
from integration.services.housekeeping import PruneResult, sync_history_prune
from integration.tasks import housekeeping_prune
from tests.factories import PortalFactory

pytestmark = pytest.mark.django_db


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def run(portal, days: float, status: str = "succeeded", parent: SyncRun | None = None) -> SyncRun:
    row = SyncRun.objects.create(portal=portal, object_type="clients", status=status, parent=parent)
    SyncRun.objects.filter(pk=row.pk).update(started_at=days_ago(days))
    return row


def error(portal, kleer_id: str, status: str, *, seen_days: float, resolved_days: float | None = None, run=None):
    row = RecordError.objects.create(
        portal=portal, object_type="clients", kleer_id=kleer_id, status=status, message="m", run=run
    )
    RecordError.objects.filter(pk=row.pk).update(
        last_seen_at=days_ago(seen_days), resolved_at=days_ago(resolved_days) if resolved_days is not None else None
    )
    return row


def event(portal, event_id: str, *, received_days: float, processed: bool = True) -> InboundEvent:
    row = InboundEvent.objects.create(portal=portal, source="webhook", event_id=event_id)
    InboundEvent.objects.filter(pk=row.pk).update(
        received_at=days_ago(received_days), processed_at=days_ago(received_days) if processed else None
    )
    return row


@pytest.fixture
def history():
    portal = PortalFactory()
    old = run(portal, 40)
    return {
        "old": old,
        "old_child": run(portal, 40, parent=old),
        "old_failed": run(portal, 31, "failed"),
        "old_running": run(portal, 40, "running"),
        "recent": run(portal, 29),
        "old_resolved": error(portal, "1", "resolved", seen_days=45, resolved_days=35),
        "resolved_long_ago_but_seen_recently": error(portal, "2", "resolved", seen_days=1, resolved_days=31),
        "old_resolved_without_date": error(portal, "3", "resolved", seen_days=60),
        "recent_resolved": error(portal, "4", "resolved", seen_days=40, resolved_days=2),
        "old_open": error(portal, "5", "open", seen_days=90, run=old),
        "old_parked": error(portal, "6", "parked", seen_days=90),
        "old_event": event(portal, "e1", received_days=31),
        "old_unprocessed_event": event(portal, "e2", received_days=60, processed=False),
        "recent_event": event(portal, "e3", received_days=29),
    }


def remaining(model, rows: dict) -> set[str]:
    ids = set(model.objects.values_list("pk", flat=True))
    return {name for name, row in rows.items() if isinstance(row, model) and row.pk in ids}


def test_prune_deletes_old_runs_and_old_resolved_errors_only(history):
    result = sync_history_prune(days=30, batch_size=2)

    assert result == PruneResult(sync_runs=3, record_errors=3, inbound_events=1)
    assert remaining(SyncRun, history) == {"old_running", "recent"}
    assert remaining(InboundEvent, history) == {"old_unprocessed_event", "recent_event"}
    assert remaining(RecordError, history) == {"recent_resolved", "old_open", "old_parked"}
    assert RecordError.objects.get(pk=history["old_open"].pk).run_id is None  # kept; its run is gone


def test_prune_twice_deletes_nothing_more(history):
    sync_history_prune(days=30)
    assert sync_history_prune(days=30) == PruneResult(sync_runs=0, record_errors=0, inbound_events=0)


def test_the_task_uses_the_retention_setting(history, settings):
    settings.SYNC_RUN_RETENTION_DAYS = 35
    housekeeping_prune()
    assert remaining(SyncRun, history) == {"old_failed", "old_running", "recent"}
    assert remaining(RecordError, history) == {
        "resolved_long_ago_but_seen_recently",
        "recent_resolved",
        "old_open",
        "old_parked",
    }


def test_a_zero_retention_is_refused_rather_than_deleting_everything(history):
    with pytest.raises(ValueError, match="at least 1"):
        sync_history_prune(days=0)
    assert SyncRun.objects.count() == 5
