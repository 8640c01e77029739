"""The load test behind `python manage.py load_bench` (issue 17, point 5; README "Load").

The command creates a scratch PostgreSQL database and runs `load_run` in a child process pointed at it (with
queue names of its own on the broker), so nothing here touches the configured database or queues. There:

1. The sandbox server starts (`runserver`, as for `bench`); N portals of mixed size (`portal_mix`) are seeded
   and connected (Pro, every object on). Webhooks are off (the outbound sync is measured); HubSpot's rate limits
   stay on (110 per 10 s per portal in the fake, our own 100).
2. Every portal × object schedule (the product's `PeriodicTask` rows) fires every `schedule_seconds`, the first
   runs spread evenly over one interval.
3. W real `celery worker` processes start (prefork, `concurrency` each), laid out as deployed: the first
   `interactive_workers` on the interactive queue, the others on the scheduled queue (one worker alone takes
   both). Then the product's beat (`FleetScheduler`), as deployed.
4. For the window, the bench clicks "Sync now" (the product's service) on a random portal × object every
   `sync_now_seconds`, and samples the workers' memory.
5. Beat stops and the clicks stop; the bench waits up to `drain_seconds` for the queues to empty and the runs to
   end, then stops the workers.

Counted at the end (`tally`): every message published and started, from the journal that beat, the workers and
the bench keep through Celery's signals (integration/load_journal.py); every run, from the `SyncRun` rows,
each of which names the message that asked for it; what is still waiting, from the broker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from integration.benchmark import Sandbox, seconds_text
from integration.queues import SYNC_TASK

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
RAN = ("succeeded", "partial", "failed", "abandoned")  # statuses of runs that held the run lock


@dataclass(frozen=True)
class Size:
    """What one portal's Kleer company holds."""

    clients: int
    products: int
    invoices: int
    agreements: int
    projects: int

    def seed_args(self) -> list[str]:
        return [f"--{name}={value}" for name, value in vars(self).items()]


SIZES = {
    "large": Size(clients=500, products=100, invoices=10_000, agreements=200, projects=100),  # `bench`'s portal
    "medium": Size(clients=80, products=20, invoices=300, agreements=10, projects=5),
    "small": Size(clients=15, products=5, invoices=40, agreements=2, projects=1),
}


def portal_mix(portals: int, *, large: int | None = None, medium: int | None = None) -> list[str]:
    """By default one portal in 25 large, one in 5 medium, the rest small (50: 2 large, 10 medium, 38 small)."""
    large = portals // 25 if large is None else large
    medium = portals // 5 if medium is None else medium
    return ["large"] * large + ["medium"] * medium + ["small"] * (portals - large - medium)


@dataclass
class LoadOptions:
    """What to run (the command's options)."""

    portals: int = 50
    large: int | None = None
    medium: int | None = None
    minutes: float = 10.0
    workers: int = 2
    interactive_workers: int = 1
    concurrency: int = 1
    latency_ms: int = 0
    schedule_seconds: int = 300
    sync_now_seconds: float = 10.0
    drain_seconds: int = 180
    seed: int = 1

    def worker_queues(self, interactive: str, scheduled: str) -> list[list[str]]:
        """The queues of each worker: as deployed, unless one worker must take both."""
        if self.workers == 1 or self.interactive_workers == 0:
            return [[interactive, scheduled] for _ in range(self.workers)]
        shares = [[interactive]] * self.interactive_workers
        return shares + [[scheduled]] * (self.workers - self.interactive_workers)


@dataclass(frozen=True)
class SeededPortal:
    hub_id: int
    company_id: int
    size: str


# -- setting up -------------------------------------------------------------------------------------------------


def portals_seed(server: Sandbox, options: LoadOptions) -> list[SeededPortal]:
    """Seed and connect the portals (`sandbox_seed --connect --pro`, in this process); webhooks off."""
    from django.core.management import call_command

    seeded = []
    for n, size in enumerate(portal_mix(options.portals, large=options.large, medium=options.medium)):
        out = io.StringIO()
        args = [*SIZES[size].seed_args(), f"--seed={options.seed + n}", "--connect", "--pro"]
        call_command("sandbox_seed", *args, stdout=out)
        values = dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)
        portal = SeededPortal(int(values["hubspot_portal_id"]), int(values["kleer_company_id"]), size)
        latency = {"latency_ms": options.latency_ms, "jitter_ms": options.latency_ms // 5}
        server.post(f"/sandbox/hubspot/_fake/portals/{portal.hub_id}/latency", latency, method="PUT")
        seeded.append(portal)
    # Each seed subscribes the app to HubSpot's webhooks again; the load measures the outbound sync.
    server.post("/sandbox/hubspot/_fake/apps/webhooks", {}, method="DELETE")
    return seeded


def schedules_compress(*, every: int, start: float, seed: int) -> int:
    """Make every sync schedule fire every `every` seconds, the first runs spread evenly over one interval from
    `start` (beat is not running yet: it reads the rows when it starts). Returns the number of schedules."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
    tasks = list(PeriodicTask.objects.filter(task=SYNC_TASK, enabled=True).order_by("name"))
    random.Random(seed).shuffle(tasks)
    for n, task in enumerate(tasks):
        task.interval = interval
        task.last_run_at = dt.datetime.fromtimestamp(start + every * n / len(tasks) - every, tz=dt.UTC)
    PeriodicTask.objects.bulk_update(tasks, ["interval", "last_run_at"])
    return len(tasks)


# -- processes ---------------------------------------------------------------------------------------------------


@dataclass
class CeleryProcess:
    """A worker or beat started through the journal (integration/load_journal.py)."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    node: str = ""


def celery_start(name: str, args: list[str], *, journal: Path, log_dir: Path, node: str = "") -> CeleryProcess:
    """`celery -A config.celery_app <args>` in its own session (so its pool children are stopped with it)."""
    log_path = log_dir / f"{name}.log"
    command = [sys.executable, "-m", "integration.load_journal", str(journal), name, "-A", "config.celery_app"]
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [*command, *args],
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return CeleryProcess(name, popen, log_path, node)


def workers_start(options: LoadOptions, *, journal: Path, log_dir: Path) -> list[CeleryProcess]:
    """Start the workers and return once each answers a ping."""
    workers = []
    queues = options.worker_queues(settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED)
    for n, consumed in enumerate(queues, start=1):
        node = f"worker{n}-{settings.CELERY_QUEUE_SCHEDULED}@localhost"
        args = ["worker", "-Q", ",".join(consumed), "-n", node, "--pool", "prefork"]
        args += ["--concurrency", str(options.concurrency), "--loglevel", "INFO"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        workers.append(celery_start(f"worker{n}", args, journal=journal, log_dir=log_dir, node=node))
    for worker in workers:
        _wait_ready(worker)
    return workers


def _wait_ready(worker: CeleryProcess) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"{worker.name} exited with {worker.popen.returncode}; see {worker.log_path}")
        if app.control.ping(destination=[worker.node], timeout=1.0):
            return
    raise RuntimeError(f"{worker.name} did not answer within {READY_TIMEOUT:g} s; see {worker.log_path}")


def beat_start(*, journal: Path, log_dir: Path) -> CeleryProcess:
    """The product's beat as deployed (CELERY_BEAT_SCHEDULER: FleetScheduler)."""
    args = ["beat", "--loglevel", "INFO", "--pidfile=", "--schedule", str(log_dir / "celerybeat-schedule")]
    return celery_start("beat", args, journal=journal, log_dir=log_dir)


def process_stop(process: CeleryProcess) -> None:
    """SIGTERM (a warm shutdown: running tasks end, messages held go back to the broker), then SIGKILL to the
    process group if it outlasts STOP_TIMEOUT."""
    if process.popen.poll() is None:
        process.popen.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.popen.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (a prefork worker and its pool), from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children[int(fields[1])].append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


# -- the window --------------------------------------------------------------------------------------------------


def sync_now_click(rng: random.Random) -> int | None:
    """Click "Sync now" (the product's service, which queues the run) on a random scheduled portal × object."""
    from integration.models import ObjectSync
    from integration.services.audit import Actor
    from integration.services.sync import SyncRequestError, object_sync_request_run

    candidates = ObjectSync.objects.filter(enabled=True, periodic_task__isnull=False).order_by("pk")
    ids = list(candidates.values_list("pk", flat=True))
    if not ids:
        return None
    object_sync = ObjectSync.objects.select_related("portal", "portal__installation").get(pk=rng.choice(ids))
    try:
        object_sync_request_run(object_sync=object_sync, actor=Actor(label="load_bench"))
    except SyncRequestError:
        return None
    return object_sync.pk


@dataclass
class Window:
    """What the window did: clicks, and each worker's memory at its start, end and peak (MB)."""

    clicks: int = 0
    rss_start: list[float] = field(default_factory=list)
    rss_end: list[float] = field(default_factory=list)
    rss_max: list[float] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)


def window_run(options: LoadOptions, workers: list[CeleryProcess], *, until: float) -> Window:
    """Click "Sync now" every `sync_now_seconds` and sample the workers' memory every second until `until`."""
    rng = random.Random(options.seed)
    window = Window(rss_start=[tree_rss_mb(w.popen.pid) for w in workers])
    window.rss_max = list(window.rss_start)
    next_click = time.time() + options.sync_now_seconds / 2
    while time.time() < until:
        if time.time() >= next_click:
            window.clicks += sync_now_click(rng) is not None
            next_click += options.sync_now_seconds
        for n, worker in enumerate(workers):
            window.rss_max[n] = max(window.rss_max[n], tree_rss_mb(worker.popen.pid))
        time.sleep(max(0.0, min(1.0, until - time.time(), next_click - time.time())))
    window.rss_end = [tree_rss_mb(w.popen.pid) for w in workers]
    window.exited = [w.name for w in workers if w.popen.poll() is not None]
    return window


def broker_message_ids(url: str, queues: Iterable[str]) -> Counter:
    """Ids of the messages waiting in `queues` or taken and not acknowledged (kombu's `unacked` hash), read
    from Redis."""
    import json

    import redis

    from integration.queues import _REDIS_PRIORITY_SUFFIXES

    names = set(queues)
    client = redis.Redis.from_url(url, socket_timeout=5)
    found: Counter = Counter()
    for name in names:
        for suffix in _REDIS_PRIORITY_SUFFIXES:
            for raw in client.lrange(name + suffix, 0, -1):
                found[json.loads(raw)["headers"].get("id")] += 1
    for raw in client.hvals("unacked"):
        message, _exchange, routing_key = json.loads(raw)
        if routing_key in names:
            found[message["headers"].get("id")] += 1
    return found


def drain(broker: str, queues: list[str], *, until: float) -> bool:
    """Wait until nothing waits in the broker and no run is running (seen twice in a row), or `until`."""
    from integration.models import SyncRun

    quiet = 0
    while time.time() < until:
        busy = broker_message_ids(broker, queues) or SyncRun.objects.filter(status="running").exists()
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return True
        time.sleep(1.0)
    return False


def queues_purge(broker: str, queues: list[str]) -> None:
    """Drop the bench's queues and its unacknowledged messages from the broker."""
    import json

    import redis

    from integration.queues import _REDIS_PRIORITY_SUFFIXES

    client = redis.Redis.from_url(broker)
    for name in queues:
        client.delete(*(name + suffix for suffix in _REDIS_PRIORITY_SUFFIXES))
        client.delete(f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
    for tag, raw in client.hgetall("unacked").items():
        if json.loads(raw)[2] in queues:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


# -- counting ----------------------------------------------------------------------------------------------------


@dataclass
class Message:
    """One task id: who sent it first and when (its publish stamp), how often it was published (retries and
    "portal busy" requeues keep the id) and started, from the journal."""

    origin: str = ""
    sent_at: float = float("inf")
    published: int = 0
    started: int = 0


def messages_from(events: Iterable[dict[str, Any]]) -> dict[str, Message]:
    """The sync messages of the journal, by task id."""
    messages: dict[str, Message] = {}
    for event in events:
        if event.get("task") != SYNC_TASK or not event.get("id"):
            continue
        message = messages.setdefault(event["id"], Message())
        if event["event"] == "started":
            message.started += 1
            continue
        message.published += 1
        if event["sent_at"] < message.sent_at:
            message.sent_at, message.origin = event["sent_at"], event["role"]
    return messages


def overlapping_runs(rows: list[dict[str, Any]]) -> int:
    """Runs that held the run lock while another run of the same portal × object held it (0 while it holds)."""
    by_pair: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] in RAN:
            by_pair[(row["portal_id"], row["object_type"])].append(row)
    overlaps = 0
    for runs in by_pair.values():
        runs.sort(key=lambda row: row["started_at"])
        for before, after in itertools.pairwise(runs):
            ended = before["finished_at"] or dt.datetime.max.replace(tzinfo=dt.UTC)
            overlaps += after["started_at"] < ended
    return overlaps


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))], 2)


def waits(messages: dict[str, Message], rows_by_id: dict[str, list], origin: str) -> list[float]:
    """Queue waits of the messages `origin` sent: publish stamp → the first run row's start (the worker took it)."""
    found = []
    for task_id, message in messages.items():
        rows = rows_by_id.get(task_id)
        if message.origin == origin and rows:
            found.append(max(0.0, min(row["started_at"] for row in rows).timestamp() - message.sent_at))
    return found


def tally(messages: dict[str, Message], rows: list[dict[str, Any]], pending: Counter) -> dict[str, Any]:
    """Runs, lost and duplicated messages, and queue waits (see the README's "Load" for each definition)."""
    rows_by_id: dict[str, list] = defaultdict(list)
    for row in rows:
        rows_by_id[row["task_id"]].append(row)
    lost = [
        task_id
        for task_id, message in messages.items()
        if not pending[task_id] and (not rows_by_id.get(task_id) or message.started < message.published)
    ]
    double_started = sum(message.started > message.published for message in messages.values())
    overlaps = overlapping_runs(rows)
    statuses = Counter(row["status"] for row in rows)
    interactive = waits(messages, rows_by_id, "bench")
    scheduled = waits(messages, rows_by_id, "beat")
    return {
        "sent_scheduled": sum(m.origin == "beat" for m in messages.values()),
        "sent_interactive": sum(m.origin == "bench" for m in messages.values()),
        "messages_published": sum(m.published for m in messages.values()),
        "messages_started": sum(m.started for m in messages.values()),
        "runs_recorded": len(rows),
        "runs_completed": statuses["succeeded"] + statuses["partial"],
        "runs_by_status": dict(sorted(statuses.items())),
        "skipped_because": dict(Counter(row["error"] for row in rows if row["status"] == "skipped")),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "duplicated": double_started + overlaps,
        "started_twice": double_started,
        "overlapping_runs": overlaps,
        "rows_without_message": sum(1 for row in rows if row["task_id"] not in messages),
        "pending_at_end": sum(pending[task_id] for task_id in messages),
        "interactive_waits": len(interactive),
        "interactive_wait_p50": _percentile(interactive, 0.5),
        "interactive_wait_p95": _percentile(interactive, 0.95),
        "interactive_wait_max": _percentile(interactive, 1.0),
        "scheduled_wait_p50": _percentile(scheduled, 0.5),
        "scheduled_wait_p95": _percentile(scheduled, 0.95),
        "scheduled_wait_max": _percentile(scheduled, 1.0),
    }


def run_rows() -> list[dict[str, Any]]:
    """Every run a message asked for (line items' child runs are part of their parent's)."""
    from integration.models import SyncRun

    fields = ("task_id", "status", "started_at", "finished_at", "portal_id", "object_type", "trigger", "error")
    return list(SyncRun.objects.filter(parent__isnull=True).values(*fields))


def consistency_check(portals: list[SeededPortal]) -> dict[str, Any]:
    """Fake Kleer against fake HubSpot: HubSpot records sharing a Kleer id (every portal × object), and Kleer
    records missing from HubSpot beyond those the last run skipped on purpose (a draft invoice, say), for each
    portal × object whose last run succeeded (a failed or partial run, or none yet, proves nothing)."""
    from django.db.models import Count
    from django.db.models.fields.json import KeyTextTransform

    from integration.catalog import KLEER_ID_PROPERTY, resolve_hubspot_object
    from integration.models import ObjectSync, SyncRun
    from integration.services.sync import clients_for
    from integration.sync import readers
    from sandbox.hubspot_crm.models import CrmObject

    hub_ids = [portal.hub_id for portal in portals]
    live = CrmObject.objects.filter(hub_id__in=hub_ids, archived=False)
    live = live.annotate(kid=KeyTextTransform(KLEER_ID_PROPERTY, "properties")).exclude(kid=None)
    shared = live.values("hub_id", "object_type_id", "kid").annotate(n=Count("id")).filter(n__gt=1)
    checked = missing = 0
    skipped: Counter = Counter()
    object_syncs = ObjectSync.objects.filter(portal__hub_id__in=hub_ids, periodic_task__isnull=False)
    for object_sync in object_syncs.select_related("portal", "portal__installation", "portal__kleer_credentials"):
        portal, object_type = object_sync.portal, object_sync.object_type
        runs = SyncRun.objects.filter(portal=portal, object_type=object_type, parent__isnull=True, status__in=RAN)
        last = runs.order_by("-started_at").first()
        if last is None or last.status != "succeeded":
            continue
        kleer, _ = clients_for(portal)
        in_kleer = {r.id for r in readers.READERS[object_type](kleer, portal) if not readers.is_gone(object_type, r)}
        type_id = resolve_hubspot_object(object_sync.hubspot_object).object_type_id
        in_hubspot = set(live.filter(hub_id=portal.hub_id, object_type_id=type_id).values_list("kid", flat=True))
        missing += max(0, len(in_kleer - in_hubspot) - last.skipped)
        skipped.update(last.skipped_reasons or {})
        checked += 1
    return {
        "consistency_checked": checked,
        "records_missing": missing,
        "records_duplicated": sum(row["n"] - 1 for row in shared),
        "records_skipped_by_reason": dict(sorted(skipped.items())),
    }


def beat_run_count() -> int:
    """Sends of the sync schedules as beat wrote them back to its rows (`total_run_count`, written in bulk and on
    beat's shutdown): a count of beat's sends from the database, beside the journal's."""
    from django.db.models import Sum
    from django_celery_beat.models import PeriodicTask

    rows = PeriodicTask.objects.filter(task=SYNC_TASK)
    return rows.aggregate(total=Sum("total_run_count"))["total"] or 0


def hubspot_calls(portals: list[SeededPortal]) -> dict[str, int]:
    """Calls the fake HubSpot logged for the bench's portals, and how many it refused with a 429."""
    from sandbox.hubspot.models import RequestLog

    logged = RequestLog.objects.filter(hub_id__in=[portal.hub_id for portal in portals])
    return {"hubspot_calls": logged.count(), "hubspot_429s": logged.filter(status=429).count()}


# -- the whole run -----------------------------------------------------------------------------------------------


def load_run(options: LoadOptions, *, broker: str, port: int, log_dir: Path, say: Any = print) -> dict[str, Any]:
    """Seed, start the workers and beat, click, drain, stop, count; returns the report (README "Load")."""
    from integration.benchmark import sandbox_served
    from integration.load_journal import journal_install, journal_read

    journal = log_dir / "journal"
    journal_install(journal, "bench")
    queues = [settings.CELERY_QUEUE_INTERACTIVE, settings.CELERY_QUEUE_SCHEDULED]
    try:
        with sandbox_served(port, log_dir / "sandbox.log") as server:
            seeding = time.monotonic()
            portals = portals_seed(server, options)
            say(f"seeded {len(portals)} portals in {time.monotonic() - seeding:.0f} s")
            workers = workers_start(options, journal=journal, log_dir=log_dir)
            schedules = schedules_compress(every=options.schedule_seconds, start=time.time(), seed=options.seed)
            window, drained = _window_and_drain(options, workers, broker=broker, queues=queues, log_dir=log_dir)
            say(f"window over, {'drained' if drained else 'NOT drained'}; counting")
            pending = broker_message_ids(broker, queues)
            result = tally(messages_from(journal_read(journal)), run_rows(), pending)
            result.update(consistency_check(portals), **hubspot_calls(portals), beat_run_count=beat_run_count())
    finally:
        queues_purge(broker, queues)
    return _report(options, portals, schedules, window, drained, result)


def _window_and_drain(
    options: LoadOptions, workers: list[CeleryProcess], *, broker: str, queues: list[str], log_dir: Path
) -> tuple[Window, bool]:
    """Beat and the clicks for the window, then the drain; every process is stopped on the way out."""
    beat = None
    try:
        beat = beat_start(journal=log_dir / "journal", log_dir=log_dir)
        window = window_run(options, workers, until=time.time() + options.minutes * 60)
        process_stop(beat)
        drained = drain(broker, queues, until=time.time() + options.drain_seconds)
    finally:
        for process in [beat, *workers]:
            if process is not None:
                process_stop(process)
    return window, drained


def _report(
    options: LoadOptions,
    portals: list[SeededPortal],
    schedules: int,
    window: Window,
    drained: bool,
    result: dict[str, Any],
) -> dict[str, Any]:
    return {
        "portals": len(portals),
        "mix": dict(Counter(portal.size for portal in portals)),
        "workers": options.workers,
        "worker_queues": [",".join(q) for q in options.worker_queues("interactive", "scheduled")],
        "concurrency": options.concurrency,
        "window_seconds": round(options.minutes * 60),
        "schedules": schedules,
        "schedule_seconds": options.schedule_seconds,
        "clicks": window.clicks,
        "drained": drained,
        **result,
        "worker_rss_start_mb": round(sum(window.rss_start)),
        "worker_rss_end_mb": round(sum(window.rss_end)),
        "worker_rss_max_mb": round(sum(window.rss_max)),
        "worker_rss_mb": [[round(a), round(b)] for a, b in zip(window.rss_start, window.rss_end, strict=True)],
        "workers_exited": window.exited,
    }


def summary_line(report: dict[str, Any]) -> str:
    """One line for a person."""

    return (
        f"portals={report['portals']} {report['mix']} workers={report['workers']} window={report['window_seconds']}s "
        f"sent={report['sent_scheduled']}+{report['sent_interactive']} completed={report['runs_completed']} "
        f"by status={report['runs_by_status']} lost={report['lost']} duplicated={report['duplicated']} "
        f"pending={report['pending_at_end']} worker rss={report['worker_rss_start_mb']}→"
        f"{report['worker_rss_end_mb']}MB interactive wait p95/max={seconds_text(report['interactive_wait_p95'])}/"
        f"{seconds_text(report['interactive_wait_max'])}s missing={report['records_missing']} "
        f"duplicated records={report['records_duplicated']} 429s={report['hubspot_429s']}"
    )
