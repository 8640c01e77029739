"""`manage.py bench --portals N` (issue 15, point 6): N portals' first syncs at once on real Celery workers.

Seeds N fresh Kleer companies and HubSpot portals (each of the sizes the other options give), starts W Celery
workers as deployed (`celery -A config.celery_app worker`, prefork pool, the product's settings) on a broker and
queues of their own, and queues every portal's "Sync all now" as the product sends it: `object_sync_run` for
each enabled object in dependency order, portal after portal, as N people clicking at the same moment. It then
waits for the runs and reports each portal's first-sync time from its SyncRun rows (first start to last finish),
the spread, the ratio of the slowest to the fastest and the order the portals finished in. Measured, never
asserted (tests/integration/test_benchmark_portals.py checks the structure at a tiny size).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from django.conf import settings
from django.db.models import Max, Min, Sum
from django.utils import timezone

from integration.benchmark import NO_QUERY_LOG, ROOT, Options, Sandbox, configure, sandbox_served, seed
from integration.models import ObjectSync, SyncRun
from integration.services.sync import RUN_ORDER

SYNC_TASK = "integration.tasks.object_sync_run"
READY_SECONDS = 60.0
DONE = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)  # a run that finished its records
POLL_SECONDS = 1.0
# The worker is started as `celery -A config.celery_app worker …`, with the bench's query-log switch first.
_WORKER = NO_QUERY_LOG + "from celery.__main__ import main\nsys.argv = ['celery', *sys.argv[1:]]\nmain()\n"


@dataclass
class Fleet:
    """How many portals, and the workers that sync them."""

    portals: int = 10
    workers: int = 2
    concurrency: int = 1  # processes per worker's prefork pool
    broker: str = ""
    timeout: float = 3600.0


@dataclass
class Workers:
    """The worker processes, their queues and a producer on their broker."""

    queue: str
    processes: list[subprocess.Popen]
    producer: Celery

    @property
    def interactive(self) -> str:
        return f"{self.queue}-interactive"

    @property
    def scheduled(self) -> str:
        return f"{self.queue}-scheduled"


def fleet_run(options: Options, fleet: Fleet, *, say: Any = print) -> dict[str, Any]:
    """Start the sandbox server, then `fleet_measure` on it."""
    with sandbox_served() as server:
        return fleet_measure(server, options, fleet, say=say)


def fleet_measure(server: Sandbox, options: Options, fleet: Fleet, *, say: Any = print) -> dict[str, Any]:
    """Seed `fleet.portals` portals, sync them all at once on `fleet.workers` workers; the report."""
    hub_ids, env = [], dict(server.env)
    for number in range(1, fleet.portals + 1):
        hub_id, company_id, seconds = seed(server, options)  # the same seed: N copies of one company
        say(f"seeded portal {number}/{fleet.portals}: {hub_id} (company {company_id}) in {seconds:.1f} s")
        hub_ids.append(hub_id)
        env = configure(server, hub_id, options)  # the fake's latency and limit per portal; the same env each
    with workers_running(env, fleet) as workers:
        say(f"{fleet.workers} workers × {fleet.concurrency} ready on {workers.queue}")
        queued_at = timezone.now()
        sent = portals_sync_queue(workers, hub_ids)
        say(f"queued {sent} runs for {len(hub_ids)} portals")
        runs_wait(hub_ids, queued_at, timeout=fleet.timeout, say=say)
        peak_rss = workers_peak_rss_mb(workers)
    return fleet_report(hub_ids, queued_at, fleet, peak_rss)


def worker_env(env: dict[str, str], broker: str, queue: str) -> dict[str, str]:
    """The product's settings for a worker on `broker`, its queues named after `queue` (so that a task the
    product puts back, a portal over its cap, comes back to these workers)."""
    return {
        **env,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE_INTERACTIVE": f"{queue}-interactive",
        "CELERY_QUEUE_SCHEDULED": f"{queue}-scheduled",
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def workers_running(env: dict[str, str], fleet: Fleet) -> Iterator[Workers]:
    """`fleet.workers` Celery workers (prefork, `fleet.concurrency` each) on fresh queues; stopped on the way out."""
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    producer = Celery("bench-producer", broker=fleet.broker, set_as_current=False)
    producer.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry=False)
    workers = Workers(queue, [], producer)
    log_dir = env.get("VAR_DIR") or str(settings.VAR_DIR)
    env = worker_env(env, fleet.broker, queue)
    try:
        for number in range(1, fleet.workers + 1):
            node = f"w{number}-{queue}@localhost"
            workers.processes.append(_worker_start(env, workers, node, log_dir, fleet.concurrency))
            _worker_wait(workers, node)
        yield workers
    finally:
        _workers_stop(workers)


def _worker_start(env: dict[str, str], workers: Workers, node: str, log_dir: str, concurrency: int) -> subprocess.Popen:
    args = ["-A", "config.celery_app", "worker", "-Q", f"{workers.interactive},{workers.scheduled}", "-n", node]
    args += ["--pool", "prefork", "--concurrency", str(concurrency)]
    args += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(os.path.join(log_dir, f"bench-{node.split('@')[0]}.log"), "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the pool's children too
        )


def _worker_wait(workers: Workers, node: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in workers.processes):
            raise RuntimeError(f"a bench worker exited before {node} was ready (see var/bench-*.log)")
        if workers.producer.control.ping(destination=[node], timeout=0.5):
            return
    raise RuntimeError(f"bench worker {node} not ready after {READY_SECONDS:g} s")


def _workers_stop(workers: Workers) -> None:
    """A warm shutdown (SIGTERM), then SIGKILL to whatever is left of each worker's group; drop the queues."""
    for process in workers.processes:
        if process.poll() is None:
            process.terminate()
    for process in workers.processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(Exception), workers.producer.connection_for_write() as conn:
        for name in (workers.interactive, workers.scheduled):
            conn.default_channel.queue_delete(name)
    workers.producer.close()


def portals_sync_queue(workers: Workers, hub_ids: list[int]) -> int:
    """Each portal's "Sync all now", portal after portal: `object_sync_run(id, "manual", False)` for every
    enabled object in dependency order, on the interactive queue, as `object_sync_request_run` sends it."""
    syncs = ObjectSync.objects.filter(portal__hub_id__in=hub_ids, enabled=True, object_type__in=RUN_ORDER)
    ordered = sorted(syncs.values_list("portal__hub_id", "object_type", "pk"), key=lambda s: _run_position(hub_ids, s))
    for _hub_id, _object_type, pk in ordered:
        workers.producer.send_task(SYNC_TASK, args=[pk, "manual", False], queue=workers.interactive)
    return len(ordered)


def _run_position(hub_ids: list[int], sync: tuple[int, str, int]) -> tuple[int, int]:
    return hub_ids.index(sync[0]), RUN_ORDER.index(sync[1])


def runs_wait(hub_ids: list[int], queued_at: datetime, *, timeout: float, say: Any = print) -> None:
    """Until every queued object of every portal has a run that succeeded (or partly: some records refused)
    since `queued_at`; a failed run the task retries is waited past."""
    syncs = ObjectSync.objects.filter(portal__hub_id__in=hub_ids, enabled=True, object_type__in=RUN_ORDER)
    expected = set(syncs.values_list("portal__hub_id", "object_type"))
    done_runs = SyncRun.objects.filter(
        portal__hub_id__in=hub_ids, parent=None, started_at__gte=queued_at, status__in=DONE
    )
    deadline, said = time.monotonic() + timeout, time.monotonic()
    while not expected <= (done := set(done_runs.values_list("portal__hub_id", "object_type"))):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(expected - done)} of {len(expected)} runs unfinished after {timeout:g} s")
        if time.monotonic() - said >= 30:
            say(f"{len(done & expected)} of {len(expected)} runs done")
            said = time.monotonic()
        time.sleep(POLL_SECONDS)


def workers_peak_rss_mb(workers: Workers) -> float:
    """The largest peak RSS (VmHWM) of any process of the workers' groups (the pool's children sync)."""
    groups = {p.pid for p in workers.processes}
    peak_kb = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            if os.getpgid(int(entry)) in groups:
                status = open(f"/proc/{entry}/status").read()  # noqa: SIM115
                peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
    return peak_kb / 1024


def portal_times(number: int, hub_id: int, queued_at: datetime) -> dict[str, Any]:
    """One portal's first sync from its SyncRun rows: when its first run started, how long from there to its
    last run's end, how long from the queueing to that end, and what its runs read (line items included)."""
    runs = SyncRun.objects.filter(portal__hub_id=hub_id, started_at__gte=queued_at)
    started = runs.filter(parent=None).aggregate(at=Min("started_at"))["at"]
    ended = runs.aggregate(at=Max("finished_at"))["at"]
    return {
        "portal": number,
        "hub_id": hub_id,
        "records": runs.filter(status__in=DONE).aggregate(n=Sum("read"))["n"] or 0,
        "failed_runs": runs.filter(status=SyncRun.Status.FAILED).count(),
        "waited_seconds": round((started - queued_at).total_seconds(), 1),
        "first_sync_seconds": round((ended - started).total_seconds(), 1),
        "done_after_seconds": round((ended - queued_at).total_seconds(), 1),
    }


def fleet_report(hub_ids: list[int], queued_at: datetime, fleet: Fleet, peak_rss_mb: float) -> dict[str, Any]:
    """Per portal, and over the portals: min, max, spread and max/min of the first-sync times (and of the
    times from queueing to done), the order they finished in (portal numbers, in seeding order)."""
    portals = [portal_times(number, hub_id, queued_at) for number, hub_id in enumerate(hub_ids, start=1)]
    times = [p["first_sync_seconds"] for p in portals]
    done = [p["done_after_seconds"] for p in portals]
    return {
        "portals": len(portals),
        "workers": fleet.workers,
        "worker_concurrency": fleet.concurrency,
        "records": sum(p["records"] for p in portals),
        "wall_seconds": max(done),
        "first_sync_seconds_min": min(times),
        "first_sync_seconds_max": max(times),
        "first_sync_spread_seconds": round(max(times) - min(times), 1),
        "first_sync_max_min_ratio": round(max(times) / max(min(times), 0.1), 2),
        "done_after_seconds_min": min(done),
        "done_after_seconds_max": max(done),
        "done_after_max_min_ratio": round(max(done) / max(min(done), 0.1), 2),
        "finish_order": [p["portal"] for p in sorted(portals, key=lambda p: p["done_after_seconds"])],
        "worker_peak_rss_mb": round(peak_rss_mb),
        "load_average": [round(n, 2) for n in os.getloadavg()],
        "per_portal": portals,
    }
