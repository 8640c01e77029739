"""Reads for the back office (STYLE.md §4: reads live in selectors, writes in services).

The admin lists hundreds of portals; everything a row shows comes from one annotated query, one prefetch and
one batched rate-limit read, so a page costs the same number of queries for 20 portals or 200.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from redis.exceptions import RedisError

from integration import catalog
from integration.clients import ratelimit
from integration.models import (
    HubSpotInstallation,
    KleerCredentials,
    ObjectSync,
    Portal,
    RecordError,
    SyncRun,
    WorkflowExecution,
)

logger = logging.getLogger(__name__)

FAILING_OUTCOMES = (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)
UNRESOLVED = (RecordError.Status.OPEN, RecordError.Status.PARKED)
ERROR_WINDOW = dt.timedelta(hours=24)
# Worst first: the portal list shows the worst last outcome among a portal's enabled objects.
OUTCOME_SEVERITY = {
    SyncRun.Status.FAILED: 5,
    SyncRun.Status.ABANDONED: 4,
    SyncRun.Status.PARTIAL: 3,
    SyncRun.Status.SKIPPED: 2,
    SyncRun.Status.RUNNING: 1,
    SyncRun.Status.SUCCEEDED: 0,
}
SCHEDULE_TASK_PREFIX = "sync:{hub_id}:"


def _errors_24h_subquery(now: dt.datetime) -> Subquery:
    counted = (
        RecordError.objects.filter(portal=OuterRef("pk"), status__in=UNRESOLVED, last_seen_at__gte=now - ERROR_WINDOW)
        .order_by()
        .values("portal")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def _workflow_24h_subquery(now: dt.datetime, **only: str) -> Subquery:
    """Workflow-action executions of the portal received in the last 24 h (`only`: e.g. state="failed")."""
    counted = (
        WorkflowExecution.objects.filter(portal=OuterRef("pk"), created_at__gte=now - ERROR_WINDOW, **only)
        .order_by()
        .values("portal")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def portal_list_queryset(*, now: dt.datetime | None = None) -> QuerySet[Portal]:
    """Portals with everything the list shows, as annotations (no secret column is ever selected).

    Credentials and the installation are read through `F()` annotations rather than `select_related`, so the
    encrypted key and tokens are neither fetched nor decrypted for a list page.
    """
    now = now or timezone.now()
    last_run = ObjectSync.objects.filter(portal=OuterRef("pk"), last_run_at__isnull=False).order_by("-last_run_at")
    failing = ObjectSync.objects.filter(portal=OuterRef("pk"), enabled=True, last_outcome__in=FAILING_OUTCOMES)
    syncs = ObjectSync.objects.only("id", "portal_id", "object_type", "enabled", "last_outcome", "last_run_at")
    return Portal.objects.annotate(
        hubspot_status=F("installation__status"),
        hubspot_disconnected_reason=F("installation__disconnected_reason"),
        kleer_company_id=F("kleer_credentials__company_id"),
        kleer_key_last4=F("kleer_credentials__api_key_last4"),
        kleer_verified_at=F("kleer_credentials__verified_at"),
        has_credentials=Exists(KleerCredentials.objects.filter(portal=OuterRef("pk"))),
        errors_24h=Coalesce(_errors_24h_subquery(now), Value(0)),
        workflow_24h=Coalesce(_workflow_24h_subquery(now), Value(0)),
        workflow_failed_24h=Coalesce(_workflow_24h_subquery(now, state=WorkflowExecution.State.FAILED), Value(0)),
        latest_run_at=Subquery(last_run.values("last_run_at")[:1]),
        has_failing_sync=Exists(failing),
    ).prefetch_related(Prefetch("object_syncs", queryset=syncs))


def failing_q() -> Q:
    """Portals whose last outcome (of an enabled object) failed or was partial, or with errors in 24 h.

    Only valid on `portal_list_queryset()` (it reads its annotations).
    """
    return Q(has_failing_sync=True) | Q(errors_24h__gt=0)


def disconnected_q() -> Q:
    """Portals without a working HubSpot connection (disconnected, or never installed)."""
    return Q(installation__status=HubSpotInstallation.Status.DISCONNECTED) | Q(installation__isnull=True)


@dataclass(frozen=True)
class SyncSummary:
    """A portal's sync state across objects: worst last outcome of its enabled objects, most recent run."""

    worst_outcome: str
    latest_run_at: dt.datetime | None
    enabled: tuple[ObjectSync, ...]


def sync_summary(object_syncs: Iterable[ObjectSync]) -> SyncSummary:
    """Summarise (prefetched) object syncs without touching the database."""
    ordered = sorted(object_syncs, key=lambda s: catalog.OBJECT_TYPES.index(s.object_type))
    enabled = tuple(s for s in ordered if s.enabled)
    outcomes = [s.last_outcome for s in enabled if s.last_outcome]
    worst = max(outcomes, key=lambda o: OUTCOME_SEVERITY.get(o, 0), default="")
    runs = [s.last_run_at for s in ordered if s.last_run_at]
    return SyncSummary(worst_outcome=worst, latest_run_at=max(runs, default=None), enabled=enabled)


def interval_text(minutes: int) -> str:
    """An interval in words: "daily", "every 2 days", "hourly", "every 4 hours", "every 15 minutes" (never
    "every 1440 minutes"); in the active language, so the settings page and the (English) admin share it."""
    day, hour = 24 * 60, 60
    if minutes > 0 and minutes % day == 0:
        days = minutes // day
        return _("daily") if days == 1 else ngettext("every %(n)d day", "every %(n)d days", days) % {"n": days}
    if minutes > 0 and minutes % hour == 0:
        hours = minutes // hour
        return _("hourly") if hours == 1 else ngettext("every %(n)d hour", "every %(n)d hours", hours) % {"n": hours}
    return ngettext("every %(n)d minute", "every %(n)d minutes", minutes) % {"n": minutes}


def interval_schedule_text(interval: IntervalSchedule) -> str:
    """A django-celery-beat interval in words; whole minutes go through `interval_text` ("daily")."""
    seconds = dt.timedelta(**{interval.period: interval.every}).total_seconds()
    if seconds >= 60 and seconds % 60 == 0:
        return interval_text(int(seconds // 60))
    return str(interval)


def describe_schedule(task: PeriodicTask) -> str:
    """A beat entry's schedule in words (interval, crontab, solar or clocked)."""
    if task.interval_id:
        return interval_schedule_text(task.interval)
    if task.crontab_id:
        return task.crontab.human_readable
    if task.solar_id:
        return str(task.solar)
    if task.clocked_id:
        return f"once at {task.clocked}"
    return "no schedule"


def schedule_text(object_sync: ObjectSync) -> str:
    """What beat will actually do for this object, e.g. "every 15 minutes" or "disabled (portal paused)"."""
    spec = object_sync.spec
    if spec.synced_with:
        return _("with %(parents)s") % {
            "parents": _(" and ").join(catalog.get(k).title.lower() for k in spec.synced_with)
        }
    task = object_sync.periodic_task
    if task is None or not task.enabled:
        if object_sync.enabled and object_sync.portal.status == Portal.Status.PAUSED:
            return "disabled (portal paused)"
        return "disabled"
    every = describe_schedule(task)
    return f"once: {every}" if task.one_off else every


def schedule_tasks_prefix(portal: Portal) -> str:
    """Name prefix of the portal's beat entries (services.schedules.schedule_name)."""
    return SCHEDULE_TASK_PREFIX.format(hub_id=portal.hub_id)


def portal_recent_failures(*, portal: Portal, limit: int = 5) -> list[SyncRun]:
    """The portal's latest failed, partial or skipped runs, newest first."""
    problem = [SyncRun.Status.FAILED, SyncRun.Status.PARTIAL, SyncRun.Status.ABANDONED, SyncRun.Status.SKIPPED]
    return list(SyncRun.objects.filter(portal=portal, status__in=problem).order_by("-started_at")[:limit])


def portal_recent_errors(*, portal: Portal, limit: int = 5) -> list[RecordError]:
    """The portal's latest unresolved record errors, newest first."""
    return list(RecordError.objects.filter(portal=portal, status__in=UNRESOLVED).order_by("-last_seen_at")[:limit])


# -- HubSpot API budget ----------------------------------------------------------------------------------


def _hubspot_key(hub_id: int) -> str:
    return f"hubspot:{hub_id}"  # the key integration.clients.hubspot gives its PortalRateLimiter


def _database_used(hub_ids: Sequence[int], window: ratelimit.Window) -> dict[int, int]:
    from integration.models import RateLimitWindow

    rows = RateLimitWindow.objects.filter(key__in=[_hubspot_key(h) for h in hub_ids]).values_list("key", "hits")
    since = time.time() - window.seconds
    used = {key: sum(1 for t in hits if t > since) for key, hits in rows}
    return {h: used.get(_hubspot_key(h), 0) for h in hub_ids}


def _redis_used(store: ratelimit.RedisBackend, hub_ids: Sequence[int], window: ratelimit.Window) -> dict[int, int]:
    """One Redis round trip for the whole page: the `limits` moving-window script, pipelined.

    Counts both the normal window and the halved one used for a minute after a 429 (they are separate keys).
    """
    from limits import RateLimitItemPerSecond

    storage = store.limiter.storage
    items = [RateLimitItemPerSecond(limit, window.seconds) for limit in {window.limit, max(1, window.limit // 2)}]
    pipe = store.redis.pipeline(transaction=False)
    since = time.time() - window.seconds
    for hub_id in hub_ids:
        for item in items:
            key = storage.prefixed_key(item.key_for("kh", _hubspot_key(hub_id)))
            storage.lua_moving_window(keys=[key], args=[since, item.amount], client=pipe)
    replies = iter(pipe.execute())
    return {h: sum(int(r[1]) if r else 0 for r in (next(replies) for _ in items)) for h in hub_ids}


def hubspot_calls_used(hub_ids: Sequence[int]) -> dict[int, int | None]:
    """HubSpot calls each portal made in the current rate-limit window (10 s), read in one batch.

    None for every portal while Redis is unreachable: the pages that show the budget still render.
    """
    if not hub_ids:
        return {}
    window = ratelimit.hubspot_window()
    store = ratelimit.backend()
    if isinstance(store, ratelimit.RedisBackend):
        try:
            return _redis_used(store, hub_ids, window)
        except RedisError as exc:
            logger.warning("API budget unavailable: Redis unreachable (%s)", exc.__class__.__name__)
            return dict.fromkeys(hub_ids)
    if isinstance(store, ratelimit.DatabaseBackend):
        return _database_used(hub_ids, window)
    return {h: store.used(_hubspot_key(h), window) for h in hub_ids}


@dataclass(frozen=True)
class ApiUsage:
    """A portal's HubSpot budget: calls in the rate-limit window now, and what its sync runs used in 24 h.

    The 24 h figures come from SyncRun rows (`hubspot_calls`, `hubspot_throttled`, `hubspot_errors`), so
    calls made outside a run (the settings page listing properties) count only in the 10 s window.
    """

    calls_10s: int | None = 0  # None: the rate-limit store (Redis) could not be read
    calls_24h: int = 0
    throttled_24h: int = 0
    errors_24h: int = 0


def hubspot_usage(hub_ids: Sequence[int], *, now: dt.datetime | None = None) -> dict[int, ApiUsage]:
    """The API budget of each portal in `hub_ids`: one rate-limit read and one query, however many portals."""
    if not hub_ids:
        return {}
    since = (now or timezone.now()) - ERROR_WINDOW
    rows = (
        SyncRun.objects.filter(portal__hub_id__in=hub_ids, started_at__gte=since)
        .order_by()
        .values("portal__hub_id")
        .annotate(calls=Sum("hubspot_calls"), throttled=Sum("hubspot_throttled"), errors=Sum("hubspot_errors"))
    )
    day = {r["portal__hub_id"]: (r["calls"], r["throttled"], r["errors"]) for r in rows}
    now_used = hubspot_calls_used(hub_ids)
    return {h: ApiUsage(now_used.get(h, 0), *day.get(h, (0, 0, 0))) for h in hub_ids}


# -- Sync status of one object tab -------------------------------------------------------------------------

# Below this many records a run is over in seconds; the tab shows no progress bar for it.
PROGRESS_BAR_FROM = 200


@dataclass(frozen=True)
class SyncStatus:
    """What an object tab says about its sync now: queued, running (records read so far, out of about how many
    the last finished run read) or finished, and when beat will fire the next run."""

    state: str  # "queued" | "running" | "finished" | "never"
    last_run: SyncRun | None
    read_so_far: int = 0
    expected: int = 0  # records the last finished run read: the progress bar's end (0 = no bar)
    next_run: dt.datetime | None = None
    next_run_due: bool = False  # beat fires it at its next tick (seconds)
    requested_at: dt.datetime | None = None

    @property
    def percent(self) -> int:
        return min(99, self.read_so_far * 100 // self.expected) if self.expected else 0


def object_sync_status(object_sync: ObjectSync, *, now: dt.datetime | None = None) -> SyncStatus:
    """The state of one portal × object's sync for its tab and the tab's status poll."""
    from integration.services.schedules import schedule_next_run

    now = now or timezone.now()
    runs = SyncRun.objects.filter(portal_id=object_sync.portal_id, object_type=object_sync.object_type).exclude(
        status=SyncRun.Status.SKIPPED, error="another run of this object was in progress"
    )
    if not object_sync.spec.synced_with:
        runs = runs.filter(parent__isnull=True)  # line items have only the runs of their parents
    last = runs.order_by("-started_at").first()
    next_run = schedule_next_run(task=object_sync.periodic_task, now=now)
    common = {"next_run": next_run, "next_run_due": next_run is not None and next_run <= now}
    if last is not None and last.status == SyncRun.Status.RUNNING:
        previous = runs.filter(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL]).order_by("-started_at")
        expected = previous.values_list("read", flat=True).first() or 0
        expected = max(expected, last.read) if expected >= PROGRESS_BAR_FROM else 0
        return SyncStatus("running", last, read_so_far=last.read, expected=expected, **common)
    requested = object_sync.run_requested_at
    if requested is not None and object_sync.enabled and (last is None or last.started_at < requested):
        return SyncStatus("queued", last, requested_at=requested, **common)
    return SyncStatus("finished" if last else "never", last, **common)
