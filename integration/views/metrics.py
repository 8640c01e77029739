"""`/metrics`: Prometheus text format for the whole fleet, whichever process is scraped.

Nothing is kept in this process: every scrape reads the shared counters (integration/metrics.py: Redis or the
database), the gauges the database already holds (running runs, open record errors, pending inbound events),
the broker's queues and the beat heartbeat. A source that does not answer is reported as
`kleer_metrics_source_up{source=…} 0` and its metrics are left out; the endpoint itself never fails.

Protected by `METRICS_TOKEN` (`Authorization: Bearer <token>`): unset, the endpoint does not exist (404); a
missing or wrong token gets 401. The format is written by prometheus-client, never by hand.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from integration import metrics, queues
from integration.models import InboundEvent, RecordError, SyncRun

logger = logging.getLogger("integration.metrics")

# Counters kept in the shared store: name → (help, label names).
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kleer_sync_runs_total": ("Sync runs ended, by object type and outcome.", ("object_type", "status")),
    "kleer_sync_records_total": (
        "Records handled by ended sync runs, by object type and outcome (read, created, updated, …).",
        ("object_type", "outcome"),
    ),
    "kleer_api_calls_total": (
        "Outbound calls to HubSpot and Kleer by HTTP status (429 = throttled; network_error = no answer).",
        ("service", "status"),
    ),
    "kleer_rate_limit_waits_total": ("Times a worker waited for a portal's shared HubSpot window.", ("limit",)),
    "kleer_rate_limit_wait_seconds_total": ("Seconds workers waited for portals' HubSpot windows.", ("limit",)),
}


def _counter_families(store_values: dict[str, float]) -> list[Metric]:
    families = {name: CounterMetricFamily(name, text, labels=labels) for name, (text, labels) in COUNTERS.items()}
    for key, value in sorted(store_values.items()):
        name, labels = metrics.parse_key(key)
        family = families.get(name)
        if family is not None:
            family.add_metric([labels.get(label, "") for label in COUNTERS[name][1]], value)
    return list(families.values())


def _database_gauges() -> list[Metric]:
    running = GaugeMetricFamily("kleer_sync_runs_running", "Sync runs in progress.", labels=["object_type"])
    for row in SyncRun.objects.filter(status=SyncRun.Status.RUNNING).values("object_type").annotate(n=Count("id")):
        running.add_metric([row["object_type"]], row["n"])
    errors = GaugeMetricFamily(
        "kleer_record_errors_open",
        "Records that failed and are not resolved (retrying or parked).",
        labels=["object_type"],
    )
    unresolved = RecordError.objects.filter(~Q(status=RecordError.Status.RESOLVED))
    for row in unresolved.values("object_type").annotate(n=Count("id")):
        errors.add_metric([row["object_type"]], row["n"])
    pending = InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).aggregate(
        n=Count("id"), o=Min("received_at")
    )
    oldest = (time.time() - pending["o"].timestamp()) if pending["o"] else 0.0
    return [
        running,
        errors,
        GaugeMetricFamily("kleer_inbound_events_pending", "Webhook events stored, not yet processed.", pending["n"]),
        GaugeMetricFamily(
            "kleer_inbound_events_oldest_pending_age_seconds",
            "Age of the oldest pending webhook event (0: none).",
            oldest,
        ),
    ]


def _queue_gauges() -> list[Metric]:
    depth = GaugeMetricFamily("kleer_queue_messages", "Messages waiting in a Celery queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "kleer_queue_oldest_message_age_seconds",
        "How long the oldest waiting message has waited (Redis broker only; 0 when the queue is empty).",
        labels=["queue"],
    )
    for name, stats in queues.queue_stats().items():
        depth.add_metric([name], stats.depth)
        if stats.oldest_age is not None or stats.depth == 0:
            age.add_metric([name], stats.oldest_age or 0.0)
    return [depth, age]


def _beat_gauges() -> list[Metric]:
    sent, ran = metrics.beat_heartbeat_last()
    families = []
    if sent is not None:
        families.append(
            GaugeMetricFamily(
                "kleer_beat_heartbeat_age_seconds",
                "Seconds since beat last dispatched its heartbeat (every BEAT_HEARTBEAT_SECONDS).",
                max(0.0, time.time() - sent),
            )
        )
        families.append(
            GaugeMetricFamily(
                "kleer_beat_heartbeat_delay_seconds",
                "How long the last heartbeat waited between beat and a worker (interactive queue).",
                max(0.0, (ran or sent) - sent),
            )
        )
    return families


class FleetCollector(Collector):
    """Reads every source at scrape time; a failing source is reported, never raised."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("kleer_metrics_source_up", "1 when a metrics source answered.", labels=["source"])
        sources: list[tuple[str, Callable[[], list[Metric]]]] = [
            ("store", lambda: _counter_families(metrics.store().counters())),
            ("database", _database_gauges),
            ("broker", _queue_gauges),
            ("beat", _beat_gauges),
        ]
        for source, read in sources:
            try:
                families = read()
            except Exception:  # a source that is down must not take the others with it
                logger.warning("metrics source %s failed", source, exc_info=True)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up


def _authorised(request: HttpRequest) -> bool | None:
    """None when metrics are off (no token configured), else whether the request carries the token."""
    token = settings.METRICS_TOKEN
    if not token:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint (README "Metrics")."""
    allowed = _authorised(request)
    if allowed is None:
        raise Http404("metrics are not enabled")
    if not allowed:
        response = HttpResponse("a valid bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(_exposition(), content_type=CONTENT_TYPE_LATEST)


def _exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector())
    try:
        return generate_latest(registry)
    except Exception:  # a malformed value must cost the scrape its data, not a 500 that pages someone
        logger.exception("metrics exposition failed")
        fallback = CollectorRegistry(auto_describe=False)
        fallback.register(
            _Constant(GaugeMetricFamily("kleer_metrics_up", "0 when the metrics could not be written.", 0))
        )
        return generate_latest(fallback)


class _Constant(Collector):
    def __init__(self, family: Metric) -> None:
        self.family = family

    def collect(self) -> Iterator[Metric]:
        yield self.family
