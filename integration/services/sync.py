"""Running a sync: checks, the run lock, the engine, and recording the outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from integration import catalog
from integration.catalog import Plan
from integration.clients import kleer as kleer_client
from integration.clients.errors import ApiError, AuthenticationError, TransientError
from integration.clients.hubspot import HubSpotClient
from integration.clients.kleer import KleerClient
from integration.logs import log_context, log_context_set
from integration.models import HubSpotInstallation, KleerCredentials, ObjectSync, Portal, SyncRun
from integration.services.audit import Actor, audit_record
from integration.services.credentials import credentials_mark_refused
from integration.services.runs import (
    PortalBusyError,
    sync_run_counts_reload,
    sync_run_finish,
    sync_run_skip,
    sync_run_start,
)
from integration.sync.engine import CHILD_ROWS, RunResult, object_sync_execute
from integration.sync.schema import schemas_ensure
from integration.sync.threads import side_by_side

logger = logging.getLogger("integration.sync")

# Order in which a whole portal syncs: associations need their targets first (DESIGN §4; the catalog's
# `depends_on` says which, see `run_stages`).
RUN_ORDER = ("clients", "products", "projects", "invoices", "agreements")


def object_sync_blocker(object_sync: ObjectSync, *, require_enabled: bool = True) -> str:
    """Why this object cannot sync now ("" when it can). Checked again at run time: beat may fire late."""
    portal = object_sync.portal
    spec = object_sync.spec
    installation = getattr(portal, "installation", None)
    if require_enabled and not object_sync.enabled:
        return _("%(label)s sync is switched off") % {"label": spec.title}
    if spec.synced_with:
        return _("%(label)s are synced together with %(parents)s") % {
            "label": spec.title,
            "parents": ", ".join(catalog.get(key).title.lower() for key in spec.synced_with),
        }
    if portal.status == Portal.Status.PAUSED:
        return _("the portal is paused")
    if spec.plan == Plan.PRO and portal.plan != Plan.PRO:
        return _("%(label)s need the Pro plan") % {"label": spec.title}
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return _("HubSpot is disconnected; reconnect the app")
    if not hasattr(portal, "kleer_credentials"):
        return _("Kleer credentials are not configured")
    return ""


def _load(object_sync_id: int) -> ObjectSync:
    return ObjectSync.objects.select_related("portal", "portal__installation", "portal__kleer_credentials").get(
        pk=object_sync_id
    )


def clients_for(portal: Portal, *, allow_sleep: bool = True) -> tuple[KleerClient, HubSpotClient]:
    creds = portal.kleer_credentials
    kleer = KleerClient(company_id=creds.company_id, token=creds.api_key, allow_sleep=allow_sleep)
    return kleer, HubSpotClient(installation=portal.installation, allow_sleep=allow_sleep)


def object_sync_run(
    *,
    object_sync_id: int,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    full: bool = False,
    require_enabled: bool = True,
    task_id: str = "",
) -> SyncRun:
    """Sync one portal × object type now and return its SyncRun.

    A run that cannot start (switched off, paused, plan, credentials, another run in progress) is recorded as
    skipped with the reason. Permanent API errors end the run as failed; transient ones are recorded and then
    re-raised so the task can retry later.
    """
    object_sync = _load(object_sync_id)
    with log_context(portal=object_sync.portal.hub_id, object_type=object_sync.object_type):
        blocker = object_sync_blocker(object_sync, require_enabled=require_enabled)
        if blocker:
            logger.info("sync skipped: %s", blocker)
            return sync_run_skip(object_sync=object_sync, trigger=trigger, reason=blocker, task_id=task_id)
        run, acquired = sync_run_start(object_sync=object_sync, trigger=trigger, task_id=task_id)
        if not acquired:
            logger.info("sync skipped: %s", run.error)
            return run
        log_context_set(run=run.pk)
        logger.info("sync run started (trigger %s%s)", trigger, ", full" if full else "")
        run = _execute(object_sync, run, full)
        logger.info(
            "sync run ended %s: %s read, %s created, %s updated, %s failed",
            run.status,
            run.read,
            run.created,
            run.updated,
            run.failed,
        )
        return run


def _execute(object_sync: ObjectSync, run: SyncRun, full: bool) -> SyncRun:
    kleer, hubspot = clients_for(object_sync.portal)
    try:
        result = object_sync_execute(object_sync=object_sync, run=run, kleer=kleer, hubspot=hubspot, full=full)
    except (ApiError, catalog.TransformError) as exc:
        if isinstance(exc, AuthenticationError) and exc.service == kleer_client.SERVICE and exc.status == 401:
            credentials_mark_refused(portal=object_sync.portal)
        _fail(run, hubspot, str(exc))
        if isinstance(exc, TransientError):
            raise
        return run
    except BaseException as exc:  # the worker's own troubles; SoftTimeLimitExceeded is not an Exception
        _fail(run, hubspot, failure_cause(exc))
        raise
    return _finish(run, object_sync, result, hubspot)


def failure_cause(exc: BaseException) -> str:
    """A run's error for a failure outside the APIs, naming the part that failed."""
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("redis"):
        return f"Redis (the shared rate limiter) is unreachable: {name}: {exc}. The run will be retried."
    if isinstance(exc, DatabaseError):
        return f"the database failed: {name}: {exc}. The run will be retried."
    if name == "SoftTimeLimitExceeded":
        return "the run reached the task time limit (CELERY_TASK_SOFT_TIME_LIMIT); the next run goes on from here"
    return f"unexpected error: {name}: {exc}"


def _fail(run: SyncRun, hubspot: HubSpotClient, error: str) -> None:
    """End `run` failed, keeping the counts of its committed batches; if the database connection is what
    broke, try once more on a fresh one (else the stale heartbeat ends the run later)."""
    for attempt in (1, 2):
        try:
            sync_run_counts_reload(run=run)
            _count_calls(run, hubspot)
            sync_run_finish(run=run, status=SyncRun.Status.FAILED, error=error)
            return
        except DatabaseError:
            logger.warning("could not record the failure of run %s (attempt %s)", run.pk, attempt, exc_info=True)
            close_old_connections()
            connection.close()


def _count_calls(run: SyncRun, hubspot: HubSpotClient) -> None:
    """The run's share of the portal's API budget (the admin sums these over 24 h)."""
    stats = hubspot.stats
    run.hubspot_calls, run.hubspot_throttled, run.hubspot_errors = stats.calls, stats.throttled, stats.errors


def _finish(run: SyncRun, object_sync: ObjectSync, result: RunResult, hubspot: HubSpotClient) -> SyncRun:
    # The run read Kleer with the saved key, which proves it as well as the check on saving does.
    KleerCredentials.objects.filter(portal_id=run.portal_id).update(verified_at=timezone.now(), refused_at=None)
    counts = result.counts[object_sync.object_type]
    counts.apply_to(run)
    _count_calls(run, hubspot)
    failed = counts.failed + sum(c.failed for k, c in result.counts.items() if k != object_sync.object_type)
    status = SyncRun.Status.PARTIAL if failed else SyncRun.Status.SUCCEEDED
    sync_run_finish(run=run, status=status, error="; ".join(result.notes))
    for object_type, child in result.counts.items():
        if object_type != object_sync.object_type:
            child_run = SyncRun(
                portal_id=run.portal_id,
                object_type=object_type,
                trigger=run.trigger,
                parent=run,
                status=SyncRun.Status.PARTIAL if child.failed else SyncRun.Status.SUCCEEDED,
            )
            child.apply_to(child_run)
            child_run.save()
            sync_run_finish(run=child_run, status=child_run.status)
    return run


def run_stages(object_types: Sequence[str]) -> list[list[str]]:
    """`object_types` in RUN_ORDER, grouped so that each object's `depends_on` (the catalog's: associations need
    their targets first, DESIGN §4) ran in an earlier group: [[clients, products], [projects, invoices, …]]."""
    depth: dict[str, int] = {}
    for object_type in RUN_ORDER:
        depth[object_type] = 1 + max((depth[d] for d in catalog.get(object_type).depends_on), default=-1)
    stages: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for object_type in RUN_ORDER:
        if object_type in object_types:
            stages[depth[object_type]].append(object_type)
    return [stage for stage in stages if stage]


def portal_sync_run(
    *,
    portal: Portal,
    object_types: Sequence[str] | None = None,
    trigger: str = SyncRun.Trigger.COMMAND,
    full: bool = False,
) -> list[SyncRun]:
    """Sync the portal's enabled objects in dependency order (the `sync_portal` command, "Sync all").

    The objects of one stage (`run_stages`) run side by side, as many as SYNC_MAX_RUNS_PER_PORTAL allows, on
    PostgreSQL (SQLite, the embedded default, takes one writer at a time): a first sync then waits for HubSpot's
    round trips of one object at a time only where an object needs another's records. Runs come back in RUN_ORDER.
    """
    wanted = [t for t in RUN_ORDER if t in (object_types or RUN_ORDER)]
    _schemas_ahead(portal, wanted)
    syncs = {s.object_type: s for s in portal.object_syncs.filter(object_type__in=wanted)}
    runs: dict[str, SyncRun] = {}
    cap = settings.SYNC_MAX_RUNS_PER_PORTAL
    for stage in run_stages([t for t in wanted if t in syncs]):
        together = connection.vendor == "postgresql" and (cap == 0 or cap >= len(stage))
        done = side_by_side(
            lambda t: _portal_run_one(syncs[t], trigger, full),
            stage,
            workers=len(stage) if together else 1,
            name=f"portal-{portal.hub_id}",
        )
        runs.update(zip(stage, done, strict=True))
    return [runs[t] for t in RUN_ORDER if t in runs]


def _portal_run_one(object_sync: ObjectSync, trigger: str, full: bool) -> SyncRun:
    """One object's run of a whole-portal sync: a busy portal or a transient error is a recorded run too."""
    try:
        return object_sync_run(object_sync_id=object_sync.pk, trigger=trigger, full=full)
    except PortalBusyError as exc:
        return sync_run_skip(object_sync=object_sync, trigger=trigger, reason=str(exc))
    except TransientError:
        return SyncRun.objects.filter(portal_id=object_sync.portal_id, object_type=object_sync.object_type).latest(
            "started_at"
        )


def _schemas_ahead(portal: Portal, object_types: Sequence[str]) -> None:
    """Ensure, all at once, the schemas of the objects about to run one after the other (and of their line items):
    on a first sync that saves three round trips per object. Each run still checks its own (cached) schema."""
    syncs = [
        s
        for s in portal.object_syncs.select_related("portal", "portal__installation", "portal__kleer_credentials")
        if s.object_type in object_types and not object_sync_blocker(s)
    ]
    if any(s.object_type in CHILD_ROWS for s in syncs):  # their runs write line items too
        syncs += [s for s in portal.object_syncs.filter(object_type="line_items", enabled=True)]
    if len(syncs) > 1:
        schemas_ensure(object_syncs=syncs, hubspot=HubSpotClient(installation=portal.installation))


def object_sync_request_run(*, object_sync: ObjectSync, actor: Actor, full: bool = False, audit: bool = True) -> str:
    """Queue a run now ("Sync now"): refused with a reason when it cannot run; queued after commit.

    `audit=False` when the caller records one event for several objects (the portal's "Sync all now").
    """
    from integration.tasks import object_sync_run as task

    blocker = object_sync_blocker(object_sync)
    if blocker:
        raise SyncRequestError(blocker[0].upper() + blocker[1:] + ".")
    unreachable = task_queue_error()
    if unreachable:
        raise SyncRequestError(unreachable)
    trigger = SyncRun.Trigger.FULL if full else SyncRun.Trigger.MANUAL
    # The tab says "queued" until a run starts after this moment.
    ObjectSync.objects.filter(pk=object_sync.pk).update(run_requested_at=timezone.now())
    task.delay_on_commit(object_sync.pk, trigger, full)
    if audit:
        audit_record(
            portal=object_sync.portal,
            actor=actor,
            action="sync.requested",
            target=object_sync.spec.label,
            after={"trigger": str(trigger)},
        )
    logger.info("sync requested for %s %s by %s", object_sync.portal.hub_id, object_sync.object_type, actor.label)
    return trigger


def task_queue_error() -> str:
    """Why a run cannot be queued now ("" when the broker answers), asked before anything is written.

    The task is sent after commit; a broker that is down would fail there, after the request was audited, as
    a 500. One connection attempt without retries keeps the answer quick (a refused port fails at once).
    """
    from config.celery_app import app

    if app.conf.task_always_eager:
        return ""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors (redis, amqp, OSError)
        logger.warning("task queue unreachable: %s", exc.__class__.__name__)
        return f"The task queue is unreachable ({exc.__class__.__name__}): nothing was queued. Try again later."
    return ""


class SyncRequestError(ValueError):
    """A sync that cannot be queued; the message is safe to show."""
