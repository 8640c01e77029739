"""The benchmark behind `python manage.py bench` and `make benchmark` (issue 15).

It starts the sandbox in a `runserver` child on a free port (on the configured database), seeds a fresh Kleer
company and HubSpot portal, sets the fake HubSpot's latency and rate limit, and runs in child processes (so
that their peak memory is the sync's own): a first sync of every object type, a sync with nothing changed, and
a sync after 1 % of the synced invoices were paid in the fake Kleer. HubSpot calls are counted from the fake's
request log. Then, in this process, it measures the engine alone (`engine.py`). Speed and memory are measured
here, never asserted in tests.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
HUBSPOT_WINDOW_SECONDS = 10
HUBSPOT_LIMIT = 110  # requests per 10 s per portal for a public app (hubspot-api.md §6.1)
UNLIMITED = 1_000_000
ENGINE_REPEATS = 3
# Runs a manage.py command and reports its own peak RSS on stderr. The sandbox needs DEBUG on (its development
# keys and fakes), but under DEBUG Django keeps the SQL of each connection's last 9,000 queries: ~20 MB of upsert
# statements at 100,000 invoices that a production worker (DEBUG off) never holds. The child logs no queries, as there.
NO_QUERY_LOG = (
    "import sys\n"
    "from django.db.backends.base.base import BaseDatabaseWrapper\n"
    "BaseDatabaseWrapper.queries_logged = property(lambda self: self.force_debug_cursor)\n"
)
_MEASURED = NO_QUERY_LOG + (
    "import atexit, resource, runpy\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['manage.py', *sys.argv[1:]]\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)


@dataclass
class Options:
    """What to seed and how the fake HubSpot behaves."""

    clients: int = 500
    products: int = 100
    invoices: int = 10_000
    agreements: int = 200
    projects: int = 100
    latency_ms: int = 0
    rate_limit: bool = True

    def seed_args(self) -> list[str]:
        return [
            f"--{name}={getattr(self, name)}" for name in ("clients", "products", "invoices", "agreements", "projects")
        ]


@dataclass
class Phase:
    """One sync: wall seconds, the child's peak RSS, its per-object summary and the calls the fake logged."""

    seconds: float
    peak_rss_mb: float
    objects: dict[str, dict[str, Any]]
    calls: list[tuple[str, float, float]] = field(default_factory=list)  # (endpoint, started, ended) epoch s

    @property
    def write_calls(self) -> int:
        return sum(1 for endpoint, _, _ in self.calls if is_write(endpoint))

    def count(self, name: str) -> int:
        return sum(o[name] for o in self.objects.values())


def is_write(endpoint: str) -> bool:
    """A call that writes records or associations (reads, searches and batch reads are not writes)."""
    method, _, path = endpoint.partition(" ")
    return method != "GET" and not path.endswith("/search") and not path.endswith("/batch/read")


def seconds_text(value: float | None) -> str:
    """Seconds with one decimal for a summary line; "—" when there is no value."""
    return "—" if value is None else f"{value:.1f}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sandbox:
    """The `runserver` child serving both fakes, and the environment that points children at it."""

    port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: dict[str, Any], method: str = "POST") -> Any:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")


@contextlib.contextmanager
def sandbox_served(port: int | None = None, log_path: Path | None = None) -> Iterator[Sandbox]:
    """Start the sandbox server (on a free port unless given); stop it on the way out."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEBUG": "true",
        "SANDBOX_ENABLED": "true",
        "PUBLIC_BASE_URL": base,
        "KLEER_API_BASE": f"{base}/sandbox/kleer/v1",
        "HUBSPOT_API_BASE": f"{base}/sandbox/hubspot",
    }
    server = Sandbox(port, env)
    var = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    log = open(log_path or var / "bench-server.log", "w")  # noqa: SIM115
    server.process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(base)
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
        log.close()


def _wait_for(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the sandbox server at {base} did not answer")


def manage(server: Sandbox, *args: str, env: dict[str, str] | None = None) -> tuple[str, float, float]:
    """Run a manage.py command in a child; return its stdout, wall seconds and peak RSS in MB."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], cwd=ROOT, capture_output=True, text=True, env=env or server.env
    )
    if done.returncode not in (0, 1) or "PEAK_RSS_KB=" not in done.stderr:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak_kb = next(int(line.split("=")[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB="))
    return done.stdout, time.monotonic() - started, peak_kb / 1024


# -- the phases ------------------------------------------------------------------------------------------


def seed(server: Sandbox, options: Options) -> tuple[int, int, float]:
    """A fresh Kleer company and HubSpot portal, connected (Pro, every object on): (hub id, company id, s)."""
    out, seconds, _ = manage(server, "sandbox_seed", *options.seed_args(), "--connect", "--pro")
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(values["hubspot_portal_id"]), int(values["kleer_company_id"]), seconds


def configure(server: Sandbox, hub_id: int, options: Options) -> dict[str, str]:
    """The fake HubSpot's latency and limit for the portal; the environment of the sync children.

    Webhooks are switched off: `sandbox_seed --connect` subscribes the app to company edits, and the benchmark
    measures the outbound sync, not the fake delivering the sync's own writes back to this server."""
    server.post("/sandbox/hubspot/_fake/apps/webhooks", {}, method="DELETE")
    server.post(
        f"/sandbox/hubspot/_fake/portals/{hub_id}/latency",
        {"latency_ms": options.latency_ms, "jitter_ms": options.latency_ms // 5},
        method="PUT",
    )
    server.post(
        f"/sandbox/hubspot/_fake/portals/{hub_id}/rate-limits",
        {"max": None if options.rate_limit else UNLIMITED},
        method="PUT",
    )
    env = dict(server.env)
    if not options.rate_limit:
        env["HUBSPOT_RATE_LIMIT"] = str(UNLIMITED)
    return env


def sync_phase(server: Sandbox, hub_id: int, env: dict[str, str]) -> Phase:
    """`sync_portal --json` in a child, with the calls the fake logged for the portal meanwhile."""
    from sandbox.hubspot.models import RequestLog

    mark = RequestLog.objects.filter(hub_id=hub_id).order_by("-id").values_list("id", flat=True).first() or 0
    out, seconds, peak = manage(server, "sync_portal", str(hub_id), "--json", env=env)
    rows = RequestLog.objects.filter(hub_id=hub_id, id__gt=mark).order_by("id")
    calls = [
        (endpoint, at.timestamp() - duration / 1000, at.timestamp())
        for endpoint, at, duration in rows.values_list("endpoint", "at", "duration_ms")
    ]
    return Phase(seconds, peak, json.loads(out)["objects"], calls)


def pay_invoices(server: Sandbox, hub_id: int, company_id: int) -> int:
    """Pay 1 % of the synced invoices in the fake Kleer (at least one); returns how many were paid."""
    from integration.models import SyncedRecord

    synced = SyncedRecord.objects.filter(portal__hub_id=hub_id, object_type="invoices").exclude(hubspot_id="")
    ids = sorted(synced.values_list("kleer_id", flat=True), key=int)
    wanted, paid = max(1, math.ceil(len(ids) / 100)), 0
    step = max(1, len(ids) // wanted)  # spread over the whole list, so the changes fall on many Kleer pages
    for kleer_id in [*ids[::step], *ids]:
        if paid == wanted:
            break
        try:
            server.post(f"/sandbox/kleer/_fake/company/{company_id}/client/invoice/{kleer_id}/pay", {})
        except urllib.error.HTTPError:
            continue  # nothing left to pay on this one
        paid += 1
    return paid


def utilisation(calls: list[tuple[str, float, float]], limit: int) -> float:
    """Calls made ÷ calls HubSpot's moving window allowed from the first call's start to the last call's end."""
    if not calls:
        return 0.0
    span = max(end for _, _, end in calls) - min(start for _, start, _ in calls)
    return len(calls) / (limit * max(span, HUBSPOT_WINDOW_SECONDS) / HUBSPOT_WINDOW_SECONDS)


# -- the engine alone --------------------------------------------------------------------------------------


class CachedKleer:
    """Kleer answering instantly: the records read once from the fake, served from memory."""

    def __init__(self, records: dict[str, list[Any]]) -> None:
        self.records = records

    def iter_clients(self) -> Iterator[Any]:
        return iter(self.records["clients"])

    def iter_products(self) -> Iterator[Any]:
        return iter(self.records["products"])

    def iter_agreements(self) -> Iterator[Any]:
        return iter(self.records["agreements"])

    def iter_projects(self) -> Iterator[Any]:
        return iter(self.records["projects"])

    def iter_invoices(self, **_: Any) -> Iterator[Any]:
        return iter(self.records["invoices"])


def instant_hubspot(installation: Any) -> Any:
    """A HubSpotClient whose record and association writes are answered at once, in memory."""
    from integration.clients.hubspot import BatchOutcome, HubSpotClient, Written

    class InstantHubSpot(HubSpotClient):
        next_id = 9_000_000_000

        def batch_upsert(self, object_type: str, inputs: Any, *, id_property: str = "kleer_id") -> BatchOutcome:
            written = []
            for key, _ in inputs:
                InstantHubSpot.next_id += 1
                written.append(Written(key, str(InstantHubSpot.next_id), True))
            self.http.stats.calls += math.ceil(len(inputs) / 100)
            return BatchOutcome(written=written, failed=[])

        def associate_batch(self, from_type: str, to_type: str, pairs: Any, *, type_id: int) -> BatchOutcome:
            self.http.stats.calls += 1
            return BatchOutcome(written=[Written(f"{a}->{b}", b, True) for a, b in pairs], failed=[])

        def batch_archive(self, object_type: str, ids: Any) -> None:
            self.http.stats.calls += 1

        # Matching (sync/matching.py) looks for existing records before creating: the bench's portal starts
        # empty, so every look-up (the run's census, a batch read) finds nothing, at once.
        def batch_read(self, object_type: str, ids: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            self.http.stats.calls += math.ceil(len(ids) / 100)
            return []

        def search_pages(self, object_type: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
            self.http.stats.calls += 1
            yield {"total": 0, "results": []}

    return InstantHubSpot(installation=installation)


def engine_best(hub_id: int, kleer_base: str, repeats: int = ENGINE_REPEATS) -> tuple[float, float, int]:
    """The fastest of `repeats` engine measures, as `timeit` reports: a slower one measures the machine's other
    work too (PostgreSQL's autovacuum after the syncs' writes, the sandbox server winding down). Kleer's
    records are read once, before any of them."""
    from integration.models import Portal
    from integration.services.sync import clients_for
    from integration.sync import readers

    portal = Portal.objects.select_related("installation", "kleer_credentials").get(hub_id=hub_id)
    settings.KLEER_API_BASE = kleer_base
    kleer, _ = clients_for(portal)
    cached = CachedKleer({name: list(read(kleer, portal)) for name, read in readers.READERS.items()})
    return max(engine_measure(portal, cached) for _ in range(repeats))


def engine_measure(portal: Any, kleer: CachedKleer) -> tuple[float, float, int]:
    """A first sync of everything with both fakes answering instantly, in this process (one core): records
    per second, database queries per 100 records, records. The portal's synced records are forgotten first."""
    from django.db import connection

    from integration.models import RecordError, SyncedRecord
    from integration.services.runs import sync_run_finish, sync_run_start
    from integration.services.sync import RUN_ORDER
    from integration.sync.engine import object_sync_execute

    SyncedRecord.objects.filter(portal=portal).delete()
    RecordError.objects.filter(portal=portal).delete()
    if connection.vendor == "postgresql":
        # The deleted rows' index entries would slow every insert of the same keys until autovacuum comes by: a
        # portal's first sync never meets dead copies of its own records.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {SyncedRecord._meta.db_table}")  # the model's table name
    hubspot = instant_hubspot(portal.installation)
    queries, records = [0], 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries[0] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for object_sync in portal.object_syncs.filter(enabled=True, object_type__in=RUN_ORDER):
            run, _ = sync_run_start(object_sync=object_sync, trigger="command")
            result = object_sync_execute(object_sync=object_sync, run=run, kleer=kleer, hubspot=hubspot)  # type: ignore[arg-type]
            sync_run_finish(run=run, status="succeeded")
            records += sum(c.read for c in result.counts.values())
    seconds = time.perf_counter() - started
    return records / seconds, 100 * queries[0] / max(1, records), records


# -- the report ------------------------------------------------------------------------------------------


def bench_run(options: Options, *, say: Any = print) -> dict[str, Any]:
    """Every phase; returns the report (issue 15's keys)."""
    with sandbox_served() as server:
        hub_id, company_id, seed_seconds = seed(server, options)
        say(f"seeded portal {hub_id} (company {company_id}) in {seed_seconds:.1f} s")
        env = configure(server, hub_id, options)
        first = sync_phase(server, hub_id, env)
        say(f"first sync: {first.seconds:.1f} s, {len(first.calls)} HubSpot calls, peak RSS {first.peak_rss_mb:.0f} MB")
        noop = sync_phase(server, hub_id, env)
        say(f"no-change sync: {noop.seconds:.1f} s, {noop.write_calls} write calls, peak RSS {noop.peak_rss_mb:.0f} MB")
        paid = pay_invoices(server, hub_id, company_id)
        delta = sync_phase(server, hub_id, env)
        say(f"delta sync ({paid} invoices paid): {delta.seconds:.1f} s, {delta.write_calls} write calls")
        engine_rate, queries_per_100, _ = engine_best(hub_id, env["KLEER_API_BASE"])
    return report(first, noop, delta, engine_rate, queries_per_100)


def report(first: Phase, noop: Phase, delta: Phase, engine_rate: float, queries_per_100: float) -> dict[str, Any]:
    records = first.count("read")
    return {
        "records": records,
        "first_sync_seconds": round(first.seconds, 1),
        "records_per_second": round(records / first.seconds, 1),
        "hubspot_calls": len(first.calls),
        "hubspot_write_calls": first.write_calls,
        "calls_per_100_records": round(100 * len(first.calls) / max(1, records), 2),
        "rate_limit_utilisation": round(utilisation(first.calls, HUBSPOT_LIMIT), 3),
        "noop_sync_seconds": round(noop.seconds, 1),
        "noop_hubspot_write_calls": noop.write_calls,
        "delta_changed_records": delta.count("updated") + delta.count("created"),
        "delta_hubspot_write_calls": delta.write_calls,
        "peak_rss_mb": round(max(first.peak_rss_mb, noop.peak_rss_mb, delta.peak_rss_mb)),
        "db_queries_per_100_records": round(queries_per_100, 1),
        "engine_records_per_second": round(engine_rate),
    }
