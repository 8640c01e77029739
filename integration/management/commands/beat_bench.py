"""`python manage.py beat_bench --portals N --edits-per-second R --window-seconds S [--json]` (README "Beat at scale").

Creates a scratch PostgreSQL database next to the configured one, runs the bench in a child process pointed at
it (integration/beat_bench.py), prints its result and drops the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from integration import beat_bench
from integration.scratch import scratch_database

CHILD_FLAG = "--in-scratch-database"


class Command(BaseCommand):
    help = "Measure celery beat (the configured scheduler) with N portals' schedules all falling due within a window."

    def add_arguments(self, parser):
        parser.add_argument("--portals", type=int, required=True)
        parser.add_argument("--edits-per-second", type=float, default=0.0)
        parser.add_argument("--window-seconds", type=int, default=180)
        parser.add_argument("--broker", default="", help="Redis or AMQP URL (default: CELERY_BROKER_URL)")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
        parser.add_argument(CHILD_FLAG, action="store_true", help="internal: run inside the scratch database")

    def handle(self, *args, **options):
        broker = options["broker"] or settings.CELERY_BROKER_URL
        if not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise CommandError(f"beat_bench needs a Redis or RabbitMQ broker (--broker), not {broker.split(':')[0]}://")
        if not 0 < options["window_seconds"] < 15 * 60 - beat_bench.GRACE_SECONDS:
            raise CommandError("--window-seconds must be between 1 and 869: each schedule must fall due only once")
        if options["portals"] < 1:
            raise CommandError("--portals must be at least 1")
        if options[CHILD_FLAG.lstrip("-").replace("-", "_")]:
            return self._measure(options, broker)
        if connection.vendor != "postgresql":
            raise CommandError("beat_bench needs PostgreSQL (DATABASE_URL=postgres://…): it creates a scratch database")
        self._in_scratch_database(options, broker)

    def _in_scratch_database(self, options, broker: str) -> None:
        with scratch_database("beat_bench") as url:
            argv = [sys.executable, "manage.py", "beat_bench", *_forwarded(options, broker), CHILD_FLAG]
            env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true", "LOG_FORMAT": "plain"}
            done = subprocess.run(argv, cwd=settings.BASE_DIR, env=env, check=False)
            if done.returncode:
                raise CommandError(f"the bench failed (exit {done.returncode})")

    def _measure(self, options, broker: str) -> None:
        call_command("migrate", "django_celery_beat", verbosity=0)  # beat reads nothing else
        log_dir = Path(tempfile.mkdtemp(prefix="beat-bench-"))
        result = beat_bench.bench_run(
            portals=options["portals"],
            rate=options["edits_per_second"],
            window=options["window_seconds"],
            broker=broker,
            log_dir=log_dir,
        )
        self.stdout.write(beat_bench.result_json(result) if options["json"] else result.line())
        self.stderr.write(f"beat's log: {log_dir}")


def _forwarded(options, broker: str) -> list[str]:
    argv = ["--portals", str(options["portals"]), "--edits-per-second", str(options["edits_per_second"])]
    argv += ["--window-seconds", str(options["window_seconds"]), "--broker", broker]
    return [*argv, "--json"] if options["json"] else argv
