"""`load_bench` (README "Load"): its counting, its refusals, and one tiny real run (real workers, beat, sandbox).

The figures of a full run are measured by hand and recorded in the README, never asserted here; the tiny run
proves the command works end to end and counts from the database and the broker.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integration.load_bench import Message, messages_from, portal_mix, tally
from integration.queues import SYNC_TASK
from tests.integration.celery_processes import redis_url_or_skip

T0 = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)


def _row(task_id: str, status: str, start: float, end: float | None, *, object_type: str = "clients") -> dict:
    return {
        "task_id": task_id,
        "status": status,
        "started_at": T0 + dt.timedelta(seconds=start),
        "finished_at": None if end is None else T0 + dt.timedelta(seconds=end),
        "portal_id": 1,
        "object_type": object_type,
        "trigger": "schedule",
        "error": "another run of this object was in progress" if status == "skipped" else "",
    }


def test_the_journal_counts_publishes_and_starts_per_message_and_keeps_the_first_sender():
    events = [
        {"event": "published", "id": "a", "task": SYNC_TASK, "sent_at": 5.0, "role": "worker1"},  # its retry
        {"event": "published", "id": "a", "task": SYNC_TASK, "sent_at": 1.0, "role": "beat"},
        {"event": "started", "id": "a", "task": SYNC_TASK},
        {"event": "published", "id": "h", "task": "integration.tasks.beat_heartbeat", "sent_at": 1.0, "role": "beat"},
    ]
    assert messages_from(events) == {"a": Message(origin="beat", sent_at=1.0, published=2, started=1)}


def test_lost_duplicated_and_waits_are_counted_per_message():
    t0 = T0.timestamp()
    messages = {
        "ok": Message("beat", t0, 1, 1),
        "retried": Message("beat", t0, 2, 2),  # failed, retried, succeeded: two rows, nothing lost
        "never-ran": Message("beat", t0, 1, 0),  # lost
        "requeue-lost": Message("beat", t0, 2, 1),  # ran once (portal busy, no row), its requeue vanished: lost
        "waiting": Message("beat", t0, 1, 0),  # still in the broker at the end: pending, not lost
        "twice": Message("bench", t0, 1, 2),  # delivered twice: duplicated
    }
    rows = [
        _row("ok", "succeeded", 1.0, 2.0),
        _row("retried", "failed", 3.0, 4.0, object_type="invoices"),
        _row("retried", "succeeded", 70.0, 71.0, object_type="invoices"),
        _row("twice", "succeeded", 0.5, 3.5, object_type="products"),
        _row("twice", "skipped", 1.5, 1.5, object_type="products"),  # the run lock turned the second one away
        _row("", "succeeded", 1.5, 2.5),  # a run no journalled message asked for, overlapping "ok"
    ]
    result = tally(messages, rows, Counter({"waiting": 1}))
    assert result["lost"] == 2 and sorted(result["lost_ids"]) == ["never-ran", "requeue-lost"]
    assert (result["started_twice"], result["overlapping_runs"], result["duplicated"]) == (1, 1, 2)
    assert (result["rows_without_message"], result["pending_at_end"]) == (1, 1)
    assert result["runs_by_status"] == {"failed": 1, "skipped": 1, "succeeded": 4}
    assert result["runs_completed"] == 4
    assert result["skipped_because"] == {"another run of this object was in progress": 1}
    assert (result["sent_scheduled"], result["sent_interactive"]) == (5, 1)
    assert (result["interactive_waits"], result["interactive_wait_max"]) == (1, 0.5)
    assert (result["scheduled_wait_p50"], result["scheduled_wait_max"]) == (1.0, 3.0)


def test_the_portal_mix_is_one_in_25_large_one_in_5_medium():
    assert Counter(portal_mix(50)) == {"large": 2, "medium": 10, "small": 38}
    assert Counter(portal_mix(2)) == {"small": 2}
    assert Counter(portal_mix(5, large=1, medium=1)) == {"large": 1, "medium": 1, "small": 3}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--broker", "filesystem://"], "needs a Redis broker"),
        (["--broker", "redis://x", "--workers", "2", "--interactive-workers", "2"], "at least one worker"),
        (["--broker", "redis://x", "--portals", "0"], "at least 1"),
        (["--broker", "redis://x", "--schedule-seconds", "1"], "at least 5"),
        (["--broker", "redis://x", "--portals", "3", "--large", "2", "--medium", "2"], "at most --portals"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("load_bench", *argv)


@pytest.mark.worker
def test_a_tiny_load_run_loses_and_doubles_nothing_and_measures_the_interactive_wait(tmp_path):
    """2 small portals, one worker taking both queues, 18 s of beat every 8 s and a click every 4 s."""
    broker = redis_url_or_skip()
    out = StringIO()
    argv = ["--portals=2", "--workers=1", "--minutes=0.3", "--schedule-seconds=8", "--sync-now-seconds=4"]
    argv += ["--drain-seconds=60", f"--broker={broker}", f"--log-dir={tmp_path}", "--json"]
    call_command("load_bench", *argv, stdout=out)
    report = json.loads(out.getvalue())
    assert report["portals"] == 2 and report["schedules"] == 10  # 5 scheduled object types each
    assert report["drained"] is True
    assert (report["lost"], report["duplicated"], report["pending_at_end"]) == (0, 0, 0)
    assert report["rows_without_message"] == 0
    assert report["sent_interactive"] == report["clicks"] >= 4
    assert report["sent_scheduled"] >= 10  # every schedule fired at least once
    assert report["beat_run_count"] == report["sent_scheduled"]  # beat's own count, written to its rows
    assert report["messages_started"] == report["messages_published"]
    assert report["runs_recorded"] >= report["sent_scheduled"] + report["sent_interactive"]
    assert report["runs_completed"] >= 1 and sum(report["runs_by_status"].values()) == report["runs_recorded"]
    assert report["interactive_waits"] == report["sent_interactive"]
    assert 0 <= report["interactive_wait_p95"] <= report["interactive_wait_max"]
    assert report["worker_rss_start_mb"] > 0 and report["worker_rss_end_mb"] > 0 and report["workers_exited"] == []
    assert report["records_duplicated"] == 0 and report["records_missing"] == 0
    assert report["consistency_checked"] >= 1
