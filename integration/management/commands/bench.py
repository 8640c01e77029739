"""Benchmark a full sync against the sandbox (issue 15; `make benchmark` runs it with the defaults).

    python manage.py bench [--clients N] [--products N] [--invoices N] [--agreements N] [--projects N]
                           [--latency-ms L] [--rate-limit on|off] [--json]
                           [--portals N [--workers W] [--worker-concurrency C] [--broker URL]]

Starts the sandbox server on a free port (on the configured database), seeds a fresh company and portal, runs a
first, a no-change and a 1 %-delta sync, and measures the engine alone; see `integration/benchmark.py`. With
--json, prints exactly one JSON object: records, first_sync_seconds, records_per_second, hubspot_calls,
hubspot_write_calls, calls_per_100_records, rate_limit_utilisation, noop_sync_seconds, noop_hubspot_write_calls,
delta_changed_records, delta_hubspot_write_calls, peak_rss_mb, db_queries_per_100_records,
engine_records_per_second.

With --portals N it measures something else (integration/benchmark_portals.py): N portals of those sizes,
seeded, and their first syncs all queued at once on W real Celery workers (prefork, C processes each, on
the Redis or RabbitMQ broker given, default CELERY_BROKER_URL); it prints each portal's first-sync time from
its SyncRun rows, their min, max, spread and max/min, and the order the portals finished in.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration.benchmark import Options, bench_run
from integration.benchmark_portals import Fleet, fleet_run


class Command(BaseCommand):
    help = "Seed the sandbox, time a first, a no-change and a 1 % delta sync, and measure the engine alone."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = Options()
        for name in ("clients", "products", "invoices", "agreements", "projects"):
            parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
        parser.add_argument("--latency-ms", type=int, default=0, help="Fake HubSpot's time per call (±20 %).")
        parser.add_argument("--rate-limit", choices=("on", "off"), default="on", help="HubSpot's 110 per 10 s.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--portals", type=int, default=0, help="N portals' first syncs at once on workers.")
        parser.add_argument("--workers", type=int, default=2, help="With --portals: Celery worker processes.")
        parser.add_argument("--worker-concurrency", type=int, default=1, help="With --portals: pool size each.")
        parser.add_argument("--broker", default="", help="With --portals: Redis/AMQP URL (CELERY_BROKER_URL).")

    def handle(self, *args, **options) -> None:
        wanted = Options(
            clients=options["clients"],
            products=options["products"],
            invoices=options["invoices"],
            agreements=options["agreements"],
            projects=options["projects"],
            latency_ms=options["latency_ms"],
            rate_limit=options["rate_limit"] == "on",
        )
        say = (lambda _line: None) if options["json"] else self.stdout.write
        result = fleet_run(wanted, self._fleet(options), say=say) if options["portals"] else bench_run(wanted, say=say)
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for name, value in result.items():
                self.stdout.write(f"{name}: {value}")

    def _fleet(self, options: dict) -> Fleet:
        broker = options["broker"] or settings.CELERY_BROKER_URL
        if not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise CommandError(f"--portals needs a Redis or RabbitMQ broker (--broker), not {broker.split(':')[0]}://")
        if options["workers"] < 1 or options["worker_concurrency"] < 1:
            raise CommandError("--workers and --worker-concurrency must be at least 1")
        return Fleet(
            portals=options["portals"],
            workers=options["workers"],
            concurrency=options["worker_concurrency"],
            broker=broker,
        )
