"""Measure the real beat (the configured scheduler, `CELERY_BEAT_SCHEDULER`) with N portals' schedules (`beat_bench`).

Runs in a scratch PostgreSQL database (the command creates it, runs this module in a child process pointed at
it, and drops it), so the measured beat sees only the bench's rows and no save here reaches the real schedule
table. The hardest case is measured: every schedule falls due once within the window, as after a beat outage.

- Seeding: N portals × the five scheduled object types, each a `PeriodicTask` on the catalog's interval (15 or
  30 minutes, daily), with `last_run_at` set so it falls due at a point spread evenly over the window. After its
  one dispatch the next is at least 15 minutes away, so each schedule is due exactly once while measured.
- Beat: the product's beat command, started once the rows exist, publishing to a queue of the bench's own.
- Edits: R saves per second through the ORM (so django-celery-beat's signals tell beat, as admin saves do):
  alternately an interval change (15 ↔ 30 minutes) on a schedule already dispatched, which does not move a due
  time inside the window, and an unchanged save of a schedule still waiting (an admin pressing Save).
- Consumer: takes every message from the queue; a dispatch's time is the publish time beat stamped on it
  (config/celery_app.py), so a slow consumer does not count as beat lag. A dispatch is one task id: a message
  the broker delivers again (same id) is counted as `redelivered`, not as a doubled send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from integration.benchmark import seconds_text
from integration.queues import SENT_AT_HEADER

OBJECT_INTERVALS = {"clients": 15, "projects": 15, "invoices": 30, "agreements": 30, "products": 1440}
GRACE_SECONDS = 30  # a schedule not dispatched by this long after the window is "missed"
BENCH_TASK = "integration.tasks.object_sync_run"


@dataclass
class BenchResult:
    """What one bench run measured (the `--json` output)."""

    portals: int
    entries: int
    edits_per_second: float
    window_seconds: int
    startup_seconds: float | None
    due: int
    sent: int
    missed: int
    doubled: int
    redelivered: int
    lag_p50: float | None
    lag_p95: float | None
    lag_max: float | None
    beat_cpu_percent: float
    beat_rss_mb: float
    beat_rss_start_mb: float
    edits_done: int

    def line(self) -> str:
        return (
            f"portals={self.portals} entries={self.entries} edits/s={self.edits_per_second:g} "
            f"window={self.window_seconds}s startup={seconds_text(self.startup_seconds)}s sent={self.sent}/{self.due} "
            f"missed={self.missed} doubled={self.doubled} redelivered={self.redelivered} "
            f"lag p50/p95/max={seconds_text(self.lag_p50)}/{seconds_text(self.lag_p95)}/{seconds_text(self.lag_max)}s "
            f"beat cpu={self.beat_cpu_percent:.0f}% "
            f"rss={self.beat_rss_start_mb:.0f}→{self.beat_rss_mb:.0f}MB edits={self.edits_done}"
        )


def schedules_seed(*, portals: int, window: int, start: float, queue: str) -> dict[int, float]:
    """Create the schedules; return each one's id (its `object_sync_id` kwarg) → due time (epoch seconds)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    intervals = {
        minutes: IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)[0]
        for minutes in set(OBJECT_INTERVALS.values())
    }
    total = portals * len(OBJECT_INTERVALS)
    offsets = [window * i / max(1, total - 1) for i in range(total)]
    random.Random(total).shuffle(offsets)
    due: dict[int, float] = {}
    rows = []
    for n, offset in enumerate(offsets):
        object_type = list(OBJECT_INTERVALS)[n % len(OBJECT_INTERVALS)]
        minutes = OBJECT_INTERVALS[object_type]
        due[n] = start + offset
        rows.append(
            PeriodicTask(
                name=f"bench:{10_000_000 + n // len(OBJECT_INTERVALS)}:{object_type}",
                task=BENCH_TASK,
                interval=intervals[minutes],
                kwargs=json.dumps({"object_sync_id": n}),
                queue=queue,
                enabled=True,
                last_run_at=dt.datetime.fromtimestamp(due[n] - minutes * 60, tz=dt.UTC),
            )
        )
    PeriodicTask.objects.bulk_create(rows, batch_size=5000)
    return due


def schedules_shift(due: dict[int, float], *, start: float) -> dict[int, float]:
    """Move every due time so the first falls at `start`: seeding thousands of rows takes a while, and a window
    that began during it would count the seeding as beat's lag."""
    from django.db.models import F
    from django_celery_beat.models import PeriodicTask

    delta = start - min(due.values())
    PeriodicTask.objects.filter(name__startswith="bench:").update(
        last_run_at=F("last_run_at") + dt.timedelta(seconds=delta)
    )
    return {ident: at + delta for ident, at in due.items()}


@dataclass
class Received:
    """Dispatches seen by the consumer: schedule id → publish times."""

    times: dict[int, list[float]] = field(default_factory=dict)
    first_at: float | None = None
    task_ids: set[str] = field(default_factory=set)
    redelivered: int = 0

    def add(self, ident: int, task_id: str | None, sent_at: float) -> None:
        """One dispatch per task id: beat sending twice makes two ids, a broker redelivery repeats one."""
        if task_id is not None:
            if task_id in self.task_ids:
                self.redelivered += 1
                return
            self.task_ids.add(task_id)
        self.times.setdefault(ident, []).append(sent_at)


def consume(
    broker: str, queue: str, until: float, received: Received, stop: threading.Event, on_first=lambda: None
) -> None:
    """Take every message from `queue` until `until` (or `stop`), recording each schedule's dispatch times."""
    from kombu import Connection

    with Connection(broker) as conn, conn.SimpleQueue(queue) as simple:
        while time.time() < until and not stop.is_set():
            try:
                message = simple.get(block=True, timeout=0.5)
            except simple.Empty:
                continue
            now = time.time()
            message.ack()
            sent_at = float(message.headers.get(SENT_AT_HEADER) or now)
            kwargs = message.decode()[1] if isinstance(message.decode(), list) else {}
            ident = kwargs.get("object_sync_id")
            if ident is None:
                continue  # the code-owned entries (heartbeat) share nothing with the bench's rows
            received.add(int(ident), message.headers.get("id"), sent_at)
            if received.first_at is None:
                received.first_at = now
                on_first()


def edit_loop(rate: float, until: float, received: Received, stop: threading.Event, done: list[int]) -> None:
    """R saves per second through the ORM, as admin saves arrive (see the module docstring)."""
    from django.db import close_old_connections
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if rate <= 0:
        return
    rng = random.Random(7)
    by_minutes = {s.every: s for s in IntervalSchedule.objects.filter(period=IntervalSchedule.MINUTES)}
    rows = PeriodicTask.objects.filter(name__startswith="bench:").values_list("kwargs", "pk")
    pk_of = {json.loads(kwargs)["object_sync_id"]: pk for kwargs, pk in rows}
    pks = list(pk_of.values())
    next_at = time.time()
    while time.time() < until and not stop.is_set():
        dispatched = [ident for ident in list(received.times) if ident in pk_of]
        if done[0] % 2 == 0 and dispatched:
            task = PeriodicTask.objects.select_related("interval").get(pk=pk_of[rng.choice(dispatched)])
            if task.interval and task.interval.every in (15, 30):
                task.interval = by_minutes[45 - task.interval.every]  # 15 ↔ 30 minutes
        else:
            task = PeriodicTask.objects.get(pk=rng.choice(pks))  # an admin pressing Save
        task.save()
        done[0] += 1
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.time()))
    close_old_connections()


class ProcessSampler:
    """CPU time and resident memory of one process, from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.start_cpu, self.start_wall = self.cpu(), time.time()
        self.rss_start = self.rss_mb()
        self.rss_max = self.rss_start

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def started(self) -> None:
        self.rss_start = self.rss_mb()

    def sample(self) -> None:
        self.rss_max = max(self.rss_max, self.rss_mb())

    def cpu_percent(self) -> float:
        return 100 * (self.cpu() - self.start_cpu) / max(1e-6, time.time() - self.start_wall)


def beat_start(*, broker: str, queue: str, log_path: Path) -> subprocess.Popen:
    """The product's beat, exactly as deployed (DatabaseScheduler, default loop interval), on the scratch DB."""
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE_INTERACTIVE": f"{queue}-interactive",
        "CELERY_QUEUE_SCHEDULED": queue,
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat", "--loglevel", "INFO", "--pidfile="],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def results(*, portals: int, rate: float, window: int, due: dict[int, float], received: Received, **extra) -> dict:
    lags = [max(0.0, times[0] - due[ident]) for ident, times in received.times.items() if ident in due]
    return {
        "portals": portals,
        "entries": len(due),
        "edits_per_second": rate,
        "window_seconds": window,
        "due": len(due),
        "sent": len(lags),
        "missed": len(due) - len(lags),
        "doubled": sum(len(times) > 1 for times in received.times.values()),
        "redelivered": received.redelivered,
        "lag_p50": statistics.median(lags) if lags else None,
        "lag_p95": _percentile(lags, 0.95),
        "lag_max": max(lags) if lags else None,
        **extra,
    }


def bench_run(*, portals: int, rate: float, window: int, broker: str, log_dir: Path) -> BenchResult:
    """Seed, start beat, edit and consume until the window plus the grace period has passed; stop beat."""
    queue = f"beat-bench-{uuid.uuid4().hex[:8]}"
    due = schedules_seed(portals=portals, window=window, start=time.time(), queue=queue)
    start = time.time() + 2.0  # the first schedule falls due as beat starts
    due = schedules_shift(due, start=start)
    until = start + window + GRACE_SECONDS
    received, stop, done = Received(), threading.Event(), [0]
    samplers: list[ProcessSampler] = []
    consumer = threading.Thread(
        target=consume,
        args=(broker, queue, until, received, stop),
        kwargs={"on_first": lambda: samplers and samplers[0].started()},  # beat's RSS once it dispatches
    )
    consumer.start()  # first: the queue exists before beat publishes to it
    spawned = time.time()
    beat = beat_start(broker=broker, queue=queue, log_path=log_dir / f"{queue}.log")
    samplers.append(ProcessSampler(beat.pid))
    editor = threading.Thread(target=edit_loop, args=(rate, until, received, stop, done))
    editor.start()
    try:
        cpu = _watch(beat, samplers[0], until)
        consumer.join()
    finally:
        stop.set()
        _stop(beat)
        consumer.join()
        editor.join()
        _purge(broker, [queue, f"{queue}-interactive"])
    return BenchResult(
        **results(portals=portals, rate=rate, window=window, due=due, received=received),
        startup_seconds=(received.first_at - spawned) if received.first_at else None,
        beat_cpu_percent=cpu,
        beat_rss_mb=samplers[0].rss_max,
        beat_rss_start_mb=samplers[0].rss_start,
        edits_done=done[0],
    )


def _stop(beat: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to beat's process group: with thousands of entries beat's shutdown (it writes every
    entry's last_run_at back) can outlast the bench's patience."""
    beat.terminate()
    try:
        beat.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(beat.pid, signal.SIGKILL)
        beat.wait(timeout=10)


def _watch(beat: subprocess.Popen, sampler: ProcessSampler, until: float) -> float:
    """Sample beat's memory every second until `until`; return its CPU use over the run (percent of a core)."""
    while time.time() < until and beat.poll() is None:
        sampler.sample()
        time.sleep(1.0)
    return sampler.cpu_percent() if beat.poll() is None else 0.0


def _purge(broker: str, queues: list[str]) -> None:
    from kombu import Connection

    with Connection(broker) as conn:
        for name in queues:
            with contextlib.suppress(Exception):  # a queue never declared has nothing to purge
                conn.SimpleQueue(name).clear()


def result_json(result: BenchResult) -> str:
    return json.dumps(asdict(result), sort_keys=True)
