"""Delivering webhook events: claim what is due, POST it signed and batched, settle each event's fate.

Rules (hubspot-api.md §8.1, §10.8; https://developers.hubspot.com/docs/api/webhooks "Retries" and
https://developers.hubspot.com/docs/api-reference/error-handling):
- A POST to the target URL with a JSON array of at most 100 events (§8.1 marks the exact batch size unverified),
  one portal per request, with `X-HubSpot-Signature` (v1), `X-HubSpot-Signature-Version: v1`,
  `X-HubSpot-Signature-v3` and `X-HubSpot-Request-Timestamp` (`sandbox.hubspot.signatures`).
- A 2xx within 5 seconds delivers the events. Anything else (another status, a connection error, an answer after
  5 seconds) is a failed attempt: the events are sent again later with `attemptNumber + 1`, up to 10 retries with
  exponential backoff and jitter (HubSpot spreads them over 24 hours), then given up and marked failed.
- At most `maxConcurrentRequests` requests are in flight per delivery run.

Exactly-once sending per attempt: a deliverer claims due rows with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL)
and a conditional UPDATE that stamps its token and a lease, so concurrent runs (the background thread of every
web process, `POST /_fake/webhooks/deliver`) never send the same event at the same time. Due times are on the
fake clock, so a test can advance the clock to make retries due instead of sleeping.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sandbox.hubspot import clock, signatures
from sandbox.hubspot.models import Portal, WebhookApp, WebhookEvent, WebhookRequest
from sandbox.hubspot.webhooks import config, events, faults

MAX_RETRIES = 10
# Retry n waits RETRY_BASE_SECONDS * 2^(n-1) ± 20 %: 80 s * (2^10 - 1) ≈ 23 hours for all ten, as HubSpot's
# "10 times over 24 hours". Setting SANDBOX_WEBHOOKS_RETRY_BASE_SECONDS overrides it (tests use milliseconds).
RETRY_BASE_SECONDS = 80.0
JITTER = 0.2
# A slower answer is a failure; setting SANDBOX_WEBHOOKS_TIMEOUT_SECONDS overrides it (tests use fractions).
TIMEOUT_SECONDS = 5.0
CLAIM_LIMIT = 500
LEASE = timedelta(minutes=2)  # real time; a deliverer that died lets go of its events after this
# HubSpot's webhook client (https://prismatic.io/docs/example-payloads/hubspot/triggers/webhook.json).
USER_AGENT = (
    "HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio-http-client) - "
    "WebhooksExecutorDaemon-executor"
)
UNINSTALLED_ERROR = "the app is not installed in the portal"


@dataclass
class Report:
    """What one delivery run did: requests made, events delivered and given up, events still pending."""

    requests: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0

    def as_json(self) -> dict[str, int]:
        """The answer of `POST /_fake/webhooks/deliver`."""
        return {"requests": self.requests, "delivered": self.delivered, "failed": self.failed, "pending": self.pending}


@dataclass
class Outgoing:
    """One request to make: a portal's events (or copies of them, for the duplicate fault) and its outcome."""

    hub_id: int
    events: list[WebhookEvent]
    duplicate: bool = False
    body: bytes = b""
    status: int | None = None
    ok: bool = False
    duration_ms: int = 0
    error: str = ""
    attempt_numbers: list[int] = field(default_factory=list)


def retry_base_seconds() -> float:
    """The first retry's wait: setting SANDBOX_WEBHOOKS_RETRY_BASE_SECONDS, else RETRY_BASE_SECONDS."""
    return float(getattr(settings, "SANDBOX_WEBHOOKS_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS))


def timeout_seconds() -> float:
    """How long an answer may take: setting SANDBOX_WEBHOOKS_TIMEOUT_SECONDS, else TIMEOUT_SECONDS."""
    return float(getattr(settings, "SANDBOX_WEBHOOKS_TIMEOUT_SECONDS", TIMEOUT_SECONDS))


def backoff(tries: int) -> timedelta:
    """How long to wait before retry number `tries` (1 to 10): exponential, with jitter."""
    seconds = retry_base_seconds() * 2 ** (tries - 1) * random.uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=seconds)


def webhooks_deliver(hub_id: int | None = None) -> Report:
    """Deliver every event due now (of `hub_id`, or of every portal), each at most once in this run."""
    report = Report()
    now = clock.now()
    after = 0
    while claimed := _claim(hub_id, now, after):
        after = claimed[-1].pk
        _deliver(claimed, report)
    pending = WebhookEvent.objects.filter(status=WebhookEvent.PENDING)
    report.pending = (pending.filter(hub_id=hub_id) if hub_id is not None else pending).count()
    return report


def _claim(hub_id: int | None, now: datetime, after: int) -> list[WebhookEvent]:
    """Take up to CLAIM_LIMIT due events nobody holds, oldest first, for this run alone."""
    token, real_now = uuid.uuid4().hex, timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=real_now)
    due = WebhookEvent.objects.filter(free, status=WebhookEvent.PENDING, due_at__lte=now, pk__gt=after)
    if hub_id is not None:
        due = due.filter(hub_id=hub_id)
    with transaction.atomic():
        ids = list(due.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:CLAIM_LIMIT])
        if not ids:
            return []
        # Conditional: on a database without row locks a concurrent run may have taken some of them meanwhile.
        taken = WebhookEvent.objects.filter(free, pk__in=ids, status=WebhookEvent.PENDING)
        taken.update(claim=token, lease_until=real_now + LEASE)
    return list(WebhookEvent.objects.filter(claim=token, status=WebhookEvent.PENDING).order_by("pk"))


def _deliver(claimed: list[WebhookEvent], report: Report) -> None:
    live = _drop_uninstalled(claimed, report)
    if not live:
        return
    app = config.app_row()
    duplicates, reorder, size = faults.faults_take(len(live))
    plan = plan_requests(live, size=size, reorder=reorder, duplicates=duplicates)
    url = config.target_url(app)
    sent_at = clock.now()
    send_all(plan, url, app.max_concurrent_requests)
    _settle(plan, report)
    _log(plan, url, sent_at)
    report.requests += len(plan)


def _drop_uninstalled(claimed: list[WebhookEvent], report: Report) -> list[WebhookEvent]:
    """Events of portals that uninstalled the app are given up unsent (app-lifecycle events excepted)."""
    hubs = {event.hub_id for event in claimed if not event.lifecycle}
    installed = set(Portal.objects.filter(hub_id__in=hubs, installed=True).values_list("hub_id", flat=True))
    dropped = [event.pk for event in claimed if not event.lifecycle and event.hub_id not in installed]
    if dropped:
        WebhookEvent.objects.filter(pk__in=dropped).update(
            status=WebhookEvent.FAILED,
            finished_at=clock.now(),
            last_error=UNINSTALLED_ERROR,
            claim="",
            lease_until=None,
        )
        report.failed += len(dropped)
    gone = set(dropped)
    return [event for event in claimed if event.pk not in gone]


def _chunks(hub_id: int, items: list[WebhookEvent], size: int, *, duplicate: bool = False) -> list[Outgoing]:
    return [Outgoing(hub_id, items[start : start + size], duplicate) for start in range(0, len(items), size)]


def plan_requests(
    claimed: list[WebhookEvent], *, size: int, reorder: bool = False, duplicates: int = 0
) -> list[Outgoing]:
    """The requests for `claimed`: per portal, in eventId order (reversed by the reorder fault), `size` per
    request; then copies of the first `duplicates` events in separate requests."""
    by_hub: dict[int, list[WebhookEvent]] = defaultdict(list)
    for event in claimed:
        by_hub[event.hub_id].append(event)
    plan: list[Outgoing] = []
    for hub_id in sorted(by_hub, reverse=reorder):
        plan += _chunks(hub_id, by_hub[hub_id][::-1] if reorder else by_hub[hub_id], size)
    copies: dict[int, list[WebhookEvent]] = defaultdict(list)
    for event in [event for outgoing in plan for event in outgoing.events][:duplicates]:
        copies[event.hub_id].append(event)
    for hub_id, items in copies.items():
        plan += _chunks(hub_id, items, size, duplicate=True)
    return plan


def send_all(plan: list[Outgoing], url: str, max_concurrent: int) -> None:
    """Make the requests of `plan`, at most `max_concurrent` at a time (threads make no database calls)."""
    secret, timeout = settings.HUBSPOT_CLIENT_SECRET, timeout_seconds()
    for outgoing in plan:
        bodies = [events.body_event(event) for event in outgoing.events]
        outgoing.attempt_numbers = [body["attemptNumber"] for body in bodies]
        outgoing.body = json.dumps(bodies, separators=(",", ":")).encode()
    if not plan:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(max_concurrent, len(plan)))) as pool:
        list(pool.map(lambda outgoing: _send(outgoing, url, secret, timeout), plan))


def _send(outgoing: Outgoing, url: str, secret: str, timeout: float) -> None:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signatures.signed_request_headers(client_secret=secret, method="POST", url=url, body=outgoing.body),
    }
    started = time.monotonic()
    try:
        response = requests.post(url, data=outgoing.body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        outgoing.error = f"no answer within {timeout:g} s"
    except requests.RequestException as exc:
        outgoing.error = f"connection error: {type(exc).__name__}"[:300]
    else:
        outgoing.status = response.status_code
        elapsed = time.monotonic() - started
        if not 200 <= response.status_code < 300:
            outgoing.error = f"HTTP {response.status_code}"
        elif elapsed > timeout:
            outgoing.error = f"answered after {elapsed:.2f} s (limit {timeout:g} s)"
        else:
            outgoing.ok = True
    outgoing.duration_ms = int((time.monotonic() - started) * 1000)


def _settle(plan: list[Outgoing], report: Report) -> None:
    """Mark delivered events, schedule retries of failed ones, give up after MAX_RETRIES retries."""
    now = clock.now()
    delivered: list[WebhookEvent] = []
    retried: list[WebhookEvent] = []
    for outgoing in plan:
        if outgoing.duplicate:
            continue  # the copy's answer does not decide anything
        for event in outgoing.events:
            event.attempts += 1
            event.claim, event.lease_until = "", None
            if outgoing.ok:
                event.status, event.finished_at, event.last_error = WebhookEvent.DELIVERED, now, ""
                delivered.append(event)
                continue
            event.last_error = outgoing.error
            if event.attempts > MAX_RETRIES:
                event.status, event.finished_at = WebhookEvent.FAILED, now
                report.failed += 1
            else:
                event.due_at = now + backoff(event.attempts)
            retried.append(event)
    fields = ["attempts", "claim", "lease_until", "status", "finished_at", "last_error", "due_at"]
    WebhookEvent.objects.bulk_update(delivered + retried, fields)
    report.delivered += len(delivered)


def _log(plan: list[Outgoing], url: str, sent_at: datetime) -> None:
    WebhookRequest.objects.bulk_create(
        WebhookRequest(
            hub_id=outgoing.hub_id,
            at=sent_at,
            url=url[:2000],
            event_ids=[event.pk for event in outgoing.events],
            attempt_numbers=outgoing.attempt_numbers,
            duplicate=outgoing.duplicate,
            status=outgoing.status,
            ok=outgoing.ok,
            duration_ms=outgoing.duration_ms,
            error=outgoing.error[:300],
        )
        for outgoing in plan
    )


def describe_app(app: WebhookApp) -> dict[str, Any]:
    """Delivery knobs in effect, for the control API."""
    return {
        "targetUrl": config.target_url(app),
        "maxConcurrentRequests": app.max_concurrent_requests,
        "timeoutSeconds": timeout_seconds(),
        "retryBaseSeconds": retry_base_seconds(),
        "maxRetries": MAX_RETRIES,
    }
