"""`beat_bench`: its arithmetic and its refusals (the measurement itself is run by hand; README "Beat at scale")."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from integration.beat_bench import Received, results


def test_lag_missed_and_doubled_are_counted_per_schedule():
    due = {0: 100.0, 1: 110.0, 2: 120.0, 3: 130.0}
    received = Received(times={0: [100.5], 1: [112.0, 112.4], 2: [119.0]})  # 2 sent early counts as no lag
    assert results(portals=1, rate=0.0, window=30, due=due, received=received) == {
        "portals": 1,
        "entries": 4,
        "edits_per_second": 0.0,
        "window_seconds": 30,
        "due": 4,
        "sent": 3,
        "missed": 1,
        "doubled": 1,
        "redelivered": 0,
        "lag_p50": 0.5,
        "lag_p95": 2.0,
        "lag_max": 2.0,
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--portals", "10", "--broker", "filesystem://"], "needs a Redis or RabbitMQ broker"),
        (["--portals", "10", "--broker", "redis://x", "--window-seconds", "900"], "between 1 and 869"),
        (["--portals", "0", "--broker", "redis://x"], "at least 1"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("beat_bench", *argv)


def test_a_redelivered_message_is_not_a_doubled_send():
    received = Received()
    received.add(0, "id-a", 100.0)
    received.add(0, "id-a", 100.0)  # the broker delivered the same message again
    received.add(1, "id-b", 101.0)
    received.add(1, "id-c", 101.4)  # beat sent schedule 1 twice
    counted = results(portals=1, rate=0.0, window=30, due={0: 100.0, 1: 101.0}, received=received)
    assert (counted["sent"], counted["doubled"], counted["redelivered"]) == (2, 1, 1)
