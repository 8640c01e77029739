"""The benchmark behind `make benchmark` (run by bin/benchmark, which starts the server and the database).

Seeds the sandbox, then runs `sync_portal --json` twice in child processes and prints one line per phase:
wall seconds, HubSpot calls, records, and the child's peak RSS. Speed and memory are measured here, never
asserted in tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request


def _wait_for_server(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not answer")


_MEASURED = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['manage.py', *sys.argv[1:]]\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)


def _manage(*args: str) -> tuple[str, float, float]:
    """Run a manage.py command; return its stdout, wall seconds and its own peak RSS in MB."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], check=True, capture_output=True, text=True, env=os.environ.copy()
    )
    peak_kb = next(int(line.split("=")[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB="))
    return done.stdout, time.monotonic() - started, peak_kb / 1024


def main() -> None:
    counts = {
        name: os.environ.get(name.upper(), default)
        for name, default in (
            ("clients", "500"),
            ("products", "100"),
            ("invoices", "10000"),
            ("agreements", "200"),
            ("projects", "100"),
        )
    }
    _wait_for_server(os.environ["PUBLIC_BASE_URL"])
    seed_args = [f"--{k}={v}" for k, v in counts.items()]
    out, seconds, peak = _manage("sandbox_seed", *seed_args, "--connect", "--pro")
    hub_id = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("hubspot_portal_id="))
    print(f"seed: {counts} seconds={seconds:.1f} peak_rss_mb={peak:.0f}")
    for phase in ("first sync", "second sync"):
        out, seconds, peak = _manage("sync_portal", hub_id, "--json")
        objects = json.loads(out)["objects"]
        calls = sum(o["hubspot_calls"] for o in objects.values())
        counts = ("read", "created", "updated", "unchanged", "failed", "skipped", "deleted")
        summary = {k: {f: o[f] for f in counts} for k, o in objects.items()}
        print(f"{phase}: seconds={seconds:.1f} hubspot_calls={calls} peak_rss_mb={peak:.0f} {json.dumps(summary)}")


if __name__ == "__main__":
    main()
