"""FleetScheduler (integration/beat.py): the same PeriodicTask rows, without whole-table reloads.

The scheduler is driven tick by tick here with dispatch recorded instead of sent, so each test states exactly
which entries went out and how many queries a change cost. Real beat + worker runs are in test_worker.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from config.celery_app import app as celery_app
from integration.beat import FleetScheduler, spread_fraction

# The scheduler manages its own connection (close_old_connections, commits): no test-wide transaction.
pytestmark = pytest.mark.django_db(transaction=True)


class RecordingScheduler(FleetScheduler):
    """Records what it would send; looks at the change marker on every tick."""

    change_check_seconds = 0.0
    unexplained_change_grace_seconds = 0.0  # compare every row at once when a signal has no row
    producer = None

    def __init__(self, *args, **kwargs) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)
        self._finalize.cancel()  # the exit-time sync would run after the test database is gone

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)


def make_tasks(count: int, *, due: set[int], every: int = 15) -> IntervalSchedule:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.MINUTES)
    now = timezone.now()
    for index in range(count):
        PeriodicTask.objects.create(
            name=f"sync:{index}",
            task="integration.tasks.object_sync_run",
            interval=interval,
            last_run_at=now - timedelta(minutes=every + 5) if index in due else now,
        )
    return interval


def drain(scheduler: RecordingScheduler) -> list[str]:
    """Tick until nothing is due; return the portal schedules sent in this drain (code-owned entries such as the
    beat heartbeat fire too, but are not what these tests are about)."""
    before = len(scheduler.sent)
    for _ in range(1000):
        if scheduler.tick() > 0:
            break
    return [name for name in scheduler.sent[before:] if name.startswith("sync:")]


def start() -> RecordingScheduler:
    return RecordingScheduler(app=celery_app, lazy=False)


def test_each_due_entry_is_sent_once_and_its_run_written_back_in_bulk_without_a_change_signal():
    make_tasks(30, due={1, 4, 9, 16, 25})
    scheduler = start()
    marker = PeriodicTasks.last_change()

    assert sorted(drain(scheduler)) == ["sync:1", "sync:16", "sync:25", "sync:4", "sync:9"]
    assert drain(scheduler) == []

    with CaptureQueriesContext(connection) as queries:
        scheduler.sync()
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 1 and statements[0].startswith("5 times: UPDATE")  # one executemany
    ran = PeriodicTask.objects.filter(total_run_count=1).values_list("name", flat=True)
    assert sorted(ran) == ["sync:1", "sync:16", "sync:25", "sync:4", "sync:9"]
    assert PeriodicTasks.last_change() == marker  # beat's own writes never look like an edit


def test_an_admin_edit_reads_only_the_edited_row_and_keeps_every_other_entry():
    make_tasks(50, due=set())
    scheduler = start()
    assert drain(scheduler) == []
    untouched = dict(scheduler.schedule)

    task = PeriodicTask.objects.get(name="sync:7")
    task.last_run_at = timezone.now() - timedelta(hours=1)
    task.save()  # as the admin's change form does: bumps date_changed and the change marker

    with CaptureQueriesContext(connection) as queries:
        assert drain(scheduler) == ["sync:7"]
    rows_read = [q["sql"] for q in queries.captured_queries if 'FROM "django_celery_beat_periodictask"' in q["sql"]]
    assert len(rows_read) == 2  # the names saved lately, then the one row whose stamp moved
    assert '"date_changed" >' in rows_read[0] and rows_read[1].endswith("IN ('sync:7')")
    assert all(scheduler.schedule[name] is entry for name, entry in untouched.items() if name != "sync:7")


def test_the_admin_disable_action_which_updates_without_saving_is_still_seen():
    make_tasks(5, due={0, 1, 2})
    scheduler = start()
    # django-celery-beat's admin "disable" action: queryset.update() + the change marker, date_changed untouched.
    PeriodicTask.objects.filter(name__in=["sync:1", "sync:2"]).update(enabled=False)
    PeriodicTasks.update_changed()

    assert drain(scheduler) == ["sync:0"]

    PeriodicTask.objects.filter(name="sync:2").update(enabled=True, last_run_at=timezone.now() - timedelta(hours=1))
    PeriodicTasks.update_changed()
    assert drain(scheduler) == ["sync:2"]


def test_a_deleted_row_is_dropped_and_an_edited_interval_reaches_every_task_using_it():
    interval = make_tasks(4, due=set(), every=15)
    scheduler = start()
    PeriodicTask.objects.get(name="sync:3").delete()
    interval.every = 1  # ops shorten the shared interval; the tasks' rows do not change
    interval.save()
    PeriodicTask.objects.update(last_run_at=timezone.now() - timedelta(minutes=2))
    PeriodicTasks.update_changed()

    assert sorted(drain(scheduler)) == ["sync:0", "sync:1", "sync:2"]
    assert "sync:3" not in scheduler.schedule


def test_editing_an_entry_sent_but_not_yet_written_back_does_not_send_it_again():
    make_tasks(3, due={0})
    scheduler = start()
    assert drain(scheduler) == ["sync:0"]

    task = PeriodicTask.objects.get(name="sync:0")  # still the old last_run_at: beat has not synced yet
    task.description = "edited by ops"
    task.save()

    assert drain(scheduler) == []
    assert scheduler.schedule["sync:0"].model.description == "edited by ops"


def test_a_new_row_is_picked_up_without_reloading_the_others():
    make_tasks(3, due=set())
    scheduler = start()
    untouched = dict(scheduler.schedule)
    interval = IntervalSchedule.objects.get(every=15)
    PeriodicTask.objects.create(
        name="sync:new", task="integration.tasks.object_sync_run", interval=interval,
        last_run_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip

    assert drain(scheduler) == ["sync:new"]
    assert all(scheduler.schedule[name] is entry for name, entry in untouched.items())


def test_a_stale_save_after_the_write_back_does_not_send_the_entry_again():
    """The doubled send beat_bench counted: a save from an object read before beat wrote its run back (the admin's
    POST, the bench's editor, whose UPDATE waits on beat's write-back and then commits the old last_run_at)."""
    make_tasks(3, due={0})
    scheduler = start()
    stale = PeriodicTask.objects.get(name="sync:0")
    assert drain(scheduler) == ["sync:0"]
    scheduler.sync()
    sent_at = PeriodicTask.objects.get(name="sync:0").last_run_at

    stale.description = "edited by ops"
    stale.save()  # writes the pre-dispatch last_run_at and run count back

    assert drain(scheduler) == []
    assert scheduler.schedule["sync:0"].model.description == "edited by ops"
    scheduler.sync()  # and beat repairs the row, so a restart does not find it due either
    row = PeriodicTask.objects.get(name="sync:0")
    assert (row.last_run_at, row.total_run_count) == (sent_at, 1)


def test_a_last_run_set_after_the_write_back_is_taken():
    """Only values the row held before beat's send are stale; a new one is run soon, or ops forcing a run from a
    shell (the admin shows last_run_at read-only)."""
    make_tasks(3, due={0})
    scheduler = start()
    assert drain(scheduler) == ["sync:0"]
    scheduler.sync()

    task = PeriodicTask.objects.get(name="sync:0")
    task.last_run_at = timezone.now() - timedelta(days=30)
    task.save()

    assert drain(scheduler) == ["sync:0"]
    assert drain(scheduler) == []


def test_an_entry_disabled_and_enabled_again_before_the_write_back_is_not_sent_again():
    make_tasks(3, due={0})
    scheduler = start()
    assert drain(scheduler) == ["sync:0"]
    # The admin's disable and enable actions (update() + the change marker; disabling clears last_run_at).
    PeriodicTask.objects.filter(name="sync:0").update(enabled=False, last_run_at=None)
    PeriodicTasks.update_changed()
    assert drain(scheduler) == []
    PeriodicTask.objects.filter(name="sync:0").update(enabled=True)
    PeriodicTasks.update_changed()

    assert drain(scheduler) == []
    scheduler.sync()
    row = PeriodicTask.objects.get(name="sync:0")
    assert (row.last_run_at, row.total_run_count) == (scheduler.schedule["sync:0"].last_run_at, 1)


def heap_offsets(scheduler: RecordingScheduler) -> dict[str, float]:
    """Each live entry's dispatch time, in seconds after beat started dispatching."""
    live = {name: at for at, version, name in scheduler._heap if scheduler._versions.get(name) == version}
    return {name: at - scheduler._resumed_at for name, at in live.items() if name.startswith("sync:")}


@pytest.mark.parametrize(
    ("every", "late_minutes", "window"),
    [(15, 60, 900), (1, 60, 60), (1440, 600, 900)],  # the interval bounds it, then the cap
)
def test_runs_missed_while_beat_was_away_are_spread_over_the_interval_by_name(every, late_minutes, window):
    make_tasks(20, due=set(), every=every)
    long_ago = timezone.now() - timedelta(minutes=every + late_minutes)
    PeriodicTask.objects.update(last_run_at=long_ago, date_changed=long_ago)  # saved before, missed since

    offsets = heap_offsets(start())

    assert sorted(offsets) == sorted(f"sync:{index}" for index in range(20))
    for name, offset in offsets.items():
        assert offset == pytest.approx(spread_fraction(name) * window, abs=0.05), name


def test_a_short_catch_up_is_spread_over_as_long_as_it_piled_up_and_a_requested_run_is_not_held():
    make_tasks(10, due=set())
    now = timezone.now()
    PeriodicTask.objects.update(last_run_at=now - timedelta(minutes=15, seconds=8), date_changed=now - timedelta(1))
    soon = PeriodicTask.objects.get(name="sync:9")
    soon.last_run_at = now - timedelta(minutes=15)  # schedule_apply(run_soon=True): saved to be due now
    soon.save()

    scheduler = start()
    offsets = heap_offsets(scheduler)
    late = scheduler._resumed_at - (now - timedelta(seconds=8)).timestamp()  # 8 s and the start-up's own time

    assert offsets.pop("sync:9") == pytest.approx(0.0, abs=0.05)
    for name, offset in offsets.items():
        assert offset == pytest.approx(spread_fraction(name) * late, abs=0.05), name
    sent = []
    for _ in range(300):  # poll: the spread runs over about 8 s
        sent += drain(scheduler)
        if len(sent) == 10:
            break
        time.sleep(0.05)
    assert sent == ["sync:9", *sorted(offsets, key=spread_fraction)]


class CountingScheduler(RecordingScheduler):
    unexplained_change_grace_seconds = 60.0

    def _reconcile(self) -> None:
        self.reconciles = getattr(self, "reconciles", 0) + 1
        super()._reconcile()


def test_a_change_signal_seen_before_its_row_commits_waits_for_the_row_instead_of_comparing_every_row():
    """A save bumps the marker in pre_save, committed before its row (autocommit): beat may see it first."""
    interval = make_tasks(3, due=set())
    scheduler = CountingScheduler(app=celery_app, lazy=False)
    PeriodicTasks.update_changed()  # the signal of a save whose row has not committed yet
    assert drain(scheduler) == []

    late = PeriodicTask(name="sync:late", task="integration.tasks.object_sync_run", interval=interval)
    late.last_run_at = timezone.now() - timedelta(hours=1)
    PeriodicTask.objects.bulk_create([late])  # the row commits (no signal of its own)

    assert drain(scheduler) == ["sync:late"]
    assert getattr(scheduler, "reconciles", 0) == 0
