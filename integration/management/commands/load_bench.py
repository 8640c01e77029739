"""`python manage.py load_bench --portals N --minutes M --workers W [options] [--json]` (README "Load").

Creates a scratch PostgreSQL database next to the configured one, runs the load in a child process pointed at it
(integration/load_bench.py) with queue names of its own on the broker, prints its report and drops the database.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from integration import load_bench
from integration.benchmark import free_port
from integration.scratch import scratch_database

CHILD_FLAG = "--in-scratch-database"
OPTIONS = {  # option → (type, help); defaults come from LoadOptions
    "portals": (int, "portals, mixed in size: 1 in 25 large, 1 in 5 medium, the rest small"),
    "large": (int, "of which this many large (default: 1 in 25)"),
    "medium": (int, "and this many medium (default: 1 in 5)"),
    "minutes": (float, "length of the window in which beat fires and Sync now is clicked"),
    "workers": (int, "celery worker processes"),
    "interactive_workers": (int, "of which this many take only the interactive queue (0: all take both)"),
    "concurrency": (int, "prefork pool size of each worker"),
    "latency_ms": (int, "the fake HubSpot's time per call (±20 %)"),
    "schedule_seconds": (int, "every schedule fires this often (first runs spread over one interval)"),
    "sync_now_seconds": (float, "one Sync now click this often, on a random portal × object"),
    "drain_seconds": (int, "after the window, wait this long at most for the queues to empty"),
    "seed": (int, "seeds the data and the clicks"),
}


class Command(BaseCommand):
    help = "Run N portals on real workers and beat against the sandbox; count runs, lost and duplicated ones."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = load_bench.LoadOptions()
        for name, (kind, text) in OPTIONS.items():
            default = getattr(defaults, name)
            shown = "" if default is None else f" ({default})"
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=f"{text}{shown}")
        parser.add_argument("--broker", default="", help="Redis URL (default: CELERY_BROKER_URL)")
        parser.add_argument("--redis-url", default="", help="rate limits and metrics (default: REDIS_URL)")
        parser.add_argument("--log-dir", default="", help="where logs and the journal go (default: a temp dir)")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
        parser.add_argument(CHILD_FLAG, action="store_true", help="internal: run inside the scratch database")

    def handle(self, *args: Any, **options: Any) -> None:
        broker = options["broker"] or settings.CELERY_BROKER_URL
        wanted = _validated(options, broker)
        if options["in_scratch_database"]:
            return self._measure(wanted, options, broker)
        if connection.vendor != "postgresql":
            raise CommandError("load_bench needs PostgreSQL (DATABASE_URL=postgres://…): it creates a scratch database")
        self._in_scratch_database(options, broker)

    def _in_scratch_database(self, options: dict[str, Any], broker: str) -> None:
        with scratch_database("load_bench") as url:
            argv = [sys.executable, "manage.py", "load_bench", *_forwarded(options, broker), CHILD_FLAG]
            env = _child_env(url, broker, options["redis_url"] or settings.REDIS_URL)
            done = subprocess.run(argv, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
            self.stdout.write(done.stdout.rstrip("\n"))
            if done.returncode:
                raise CommandError(f"the load run failed (exit {done.returncode})")

    def _measure(self, wanted: load_bench.LoadOptions, options: dict[str, Any], broker: str) -> None:
        from django.core.management import call_command

        log_dir = Path(options["log_dir"] or tempfile.mkdtemp(prefix="load-bench-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        say = self.stderr.write
        say(f"logs and journal: {log_dir}")
        # The workers, beat and the sandbox log to their files there; this process reports only its progress.
        logging.getLogger().setLevel(logging.WARNING)
        call_command("migrate", verbosity=0)
        port = int(settings.PUBLIC_BASE_URL.rsplit(":", 1)[1])
        report = load_bench.load_run(wanted, broker=broker, port=port, log_dir=log_dir, say=say)
        self.stdout.write(json.dumps(report, default=str) if options["json"] else load_bench.summary_line(report))


def _validated(options: dict[str, Any], broker: str) -> load_bench.LoadOptions:
    """The options as LoadOptions; refused before anything is created when they cannot work."""
    if not broker.startswith(("redis://", "rediss://")):
        raise CommandError(
            f"load_bench needs a Redis broker (--broker): it reads the queues, not {broker.split(':')[0]}://"
        )
    wanted = load_bench.LoadOptions(**{name: options[name] for name in OPTIONS})
    if wanted.portals < 1 or wanted.workers < 1 or wanted.concurrency < 1:
        raise CommandError("--portals, --workers and --concurrency must be at least 1")
    if (wanted.large or 0) + (wanted.medium or 0) > wanted.portals or min(wanted.large or 0, wanted.medium or 0) < 0:
        raise CommandError("--large and --medium must add up to at most --portals")
    if wanted.workers > 1 and not 0 <= wanted.interactive_workers < wanted.workers:
        raise CommandError("--interactive-workers must leave at least one worker for the scheduled queue")
    if wanted.minutes <= 0 or wanted.schedule_seconds < 5 or wanted.sync_now_seconds <= 0:
        raise CommandError("--minutes and --sync-now-seconds must be positive, --schedule-seconds at least 5")
    return wanted


def _child_env(database_url: str, broker: str, redis_url: str) -> dict[str, str]:
    """The child's (and so the sandbox's, the workers' and beat's) environment: the scratch database, queues of
    its own, the development settings with the sandbox on a free port, tasks sent to the broker."""
    base = f"http://127.0.0.1:{free_port()}"
    queue = f"load-{uuid.uuid4().hex[:8]}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url,
        "DEBUG": "true",
        "SANDBOX_ENABLED": "true",
        "LOG_FORMAT": "plain",
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE_INTERACTIVE": f"{queue}-interactive",
        "CELERY_QUEUE_SCHEDULED": f"{queue}-scheduled",
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": base,
        "KLEER_API_BASE": f"{base}/sandbox/kleer/v1",
        "HUBSPOT_API_BASE": f"{base}/sandbox/hubspot",
        "HUBSPOT_AUTHORIZE_URL": f"{base}/sandbox/hubspot/oauth/authorize",
    }


def _forwarded(options: dict[str, Any], broker: str) -> list[str]:
    argv = [f"--{name.replace('_', '-')}={options[name]}" for name in OPTIONS if options[name] is not None]
    argv += [f"--broker={broker}"]
    if options["log_dir"]:
        argv.append(f"--log-dir={options['log_dir']}")
    return [*argv, "--json"] if options["json"] else argv
