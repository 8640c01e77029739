"""The generic sync engine: one portal × object type per run (DESIGN §4).

`object_sync_execute` reads Kleer through the object's reader, writes through `Writer` in batches of 100,
expands invoice and agreement rows into line items (when Line Items is on), and handles records gone from
Kleer. All per-object knowledge comes from the catalog; nothing here names a specific field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet

from integration import catalog
from integration.catalog import transforms
from integration.clients.hubspot import HubSpotClient
from integration.clients.kleer import KleerClient, KleerRecord
from integration.models import ObjectSync, Portal, SyncedRecord, SyncRun
from integration.services.object_syncs import inbound_active
from integration.services.runs import sync_run_heartbeat
from integration.sync import explain, matching, readers
from integration.sync.schema import schema_ensure
from integration.sync.writer import Counts, Outgoing, Writer, hubspot_key

logger = logging.getLogger("integration.sync")
BATCH_SIZE = 100
HEARTBEAT_SECONDS = 2.0
COMMIT_HEARTBEAT_SECONDS = 0.5
GONE_PAGE = 2000
CHILD_ROWS = {"invoices": transforms.line_items_from_invoice, "agreements": transforms.line_items_from_agreement}
# The properties that place a deal or a project in a pipeline (hubspot-api.md §5.2, §2.1).
PIPELINE_PROPERTIES = {"deals": ("pipeline", "dealstage"), "projects": ("hs_pipeline", "hs_pipeline_stage")}


@dataclass
class RunResult:
    """Counts per object type touched by one run (line items ride along with their parents)."""

    counts: dict[str, Counts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _batches(items: Iterator[KleerRecord], size: int = BATCH_SIZE) -> Iterator[list[KleerRecord]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def pipeline_properties(object_sync: ObjectSync, hubspot: HubSpotClient) -> dict[str, str]:
    """Pipeline and stage for targets that need them: the configured ones, else the portal's first."""
    target = object_sync.spec.target(object_sync.hubspot_object)
    if not target.needs_pipeline:
        return {}
    if not (object_sync.pipeline_id and object_sync.stage_id):
        pipelines = hubspot.pipelines(object_sync.hubspot_object)
        if not pipelines or not pipelines[0].get("stages"):
            raise catalog.TransformError(f"HubSpot has no {object_sync.hubspot_object} pipeline to put records in")
        first = sorted(pipelines, key=lambda p: p.get("displayOrder", 0))[0]
        stage = sorted(first["stages"], key=lambda s: s.get("displayOrder", 0))[0]
        object_sync.pipeline_id, object_sync.stage_id = str(first["id"]), str(stage["id"])
        ObjectSync.objects.filter(pk=object_sync.pk).update(
            pipeline_id=object_sync.pipeline_id, stage_id=object_sync.stage_id
        )
    pipeline_prop, stage_prop = PIPELINE_PROPERTIES[object_sync.hubspot_object]
    return {pipeline_prop: object_sync.pipeline_id, stage_prop: object_sync.stage_id}


def _writer_for(object_sync: ObjectSync, run: SyncRun, hubspot: HubSpotClient, full: bool) -> Writer:
    mappings = list(object_sync.mappings.all())
    schema_ensure(object_sync=object_sync, mappings=mappings, hubspot=hubspot)
    return Writer(
        run=run,
        object_type=object_sync.object_type,
        hubspot_object=object_sync.hubspot_object,
        mappings=mappings,
        hubspot=hubspot,
        extra_properties=pipeline_properties(object_sync, hubspot),
        full=full,
        two_way_merge=inbound_active(object_sync),
    )


def _line_item_writer(portal: Portal, parent: str, run: SyncRun, hubspot: HubSpotClient, full: bool) -> Writer | None:
    if parent not in CHILD_ROWS:
        return None
    child = ObjectSync.objects.filter(portal=portal, object_type="line_items", enabled=True).first()
    return _writer_for(child, run, hubspot, full) if child else None


def object_sync_execute(
    *, object_sync: ObjectSync, run: SyncRun, kleer: KleerClient, hubspot: HubSpotClient, full: bool = False
) -> RunResult:
    """Run the sync of one portal × object type inside `run` (the caller holds the run lock).

    With HUBSPOT_CONCURRENCY > 1, batch upserts run in a thread pool of that size behind the portal's shared
    rate limiter while this thread reads Kleer; leaving the pool waits for the calls in flight, so no call
    outlives its run."""
    concurrency = max(1, settings.HUBSPOT_CONCURRENCY)
    if concurrency == 1:
        return _execute(object_sync, run, kleer, hubspot, full, None, 1)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"hubspot-{run.pk}") as pool:
        return _execute(object_sync, run, kleer, hubspot, full, pool, concurrency)


def _execute(
    object_sync: ObjectSync,
    run: SyncRun,
    kleer: KleerClient,
    hubspot: HubSpotClient,
    full: bool,
    pool: ThreadPoolExecutor | None,
    concurrency: int,
) -> RunResult:
    portal = object_sync.portal
    writer = _writer_for(object_sync, run, hubspot, full)
    children = _line_item_writer(portal, object_sync.object_type, run, hubspot, full)
    for each in (writer, children):
        if each is not None and pool is not None:
            each.pool, each.max_in_flight = pool, concurrency
    if pool is not None:
        matching.census_prefetch(writer=writer, pool=pool)
    beat = Heartbeat(run, writer.counts)
    writer.on_committed = beat.committed
    if children is not None:
        writer.on_settled = lambda parents, _known: _write_children(writer, children, parents)
        children.on_committed = beat.committed
    try:
        seen = _read_and_write(object_sync, portal, kleer, writer, children, beat)
    except BaseException:
        beat.last_words()
        raise
    result = RunResult(counts={object_sync.object_type: writer.counts})
    if children is not None:
        result.counts["line_items"] = children.counts
    if object_sync.object_type in readers.COMPLETE_LISTS:
        result.notes.extend(_handle_gone(writer, seen, portal))
    if writer.schema_stale:
        ObjectSync.objects.filter(pk=object_sync.pk).update(schema_checked_at=None)
    return result


def _read_and_write(
    object_sync: ObjectSync,
    portal: Portal,
    kleer: KleerClient,
    writer: Writer,
    children: Writer | None,
    beat: Heartbeat,
) -> set[str]:
    """Every Kleer record through the writers, then their last batches and links; the Kleer ids seen."""
    seen: set[str] = set()
    for batch in _batches(iter(readers.READERS[object_sync.object_type](kleer, portal))):
        _process_batch(writer, batch, seen)
        beat.maybe()
    writer.flush(wait=children is None)  # the last parents, whose line items are queued in `children` from there
    if children is not None:
        children.flush()
        writer.wait()  # the parents' last links, sent while the line items were flushed
    return seen


@dataclass
class Heartbeat:
    """The run's heartbeat with its counts: after a committed batch (at most every `after_commit` seconds: one
    UPDATE per batch was a tenth of the engine's database time), every `every` seconds while records are only
    compared, and once more when the run stops on an error with the counts as of its last committed batch, so a
    failed run keeps the counts of what it committed (a killed worker's run, those of its last heartbeat)."""

    run: SyncRun
    counts: Counts
    every: float = HEARTBEAT_SECONDS
    after_commit: float = COMMIT_HEARTBEAT_SECONDS
    last: float = field(default_factory=time.monotonic)
    unsaved: Counts | None = None  # the counts as of the last committed batch, when no heartbeat has stored them

    def now(self, counts: Counts | None = None) -> None:
        sync_run_heartbeat(run=self.run, counts=counts or self.counts)
        self.last, self.unsaved = time.monotonic(), None

    def committed(self) -> None:
        if time.monotonic() - self.last >= self.after_commit:
            self.now()
        else:
            self.unsaved = dataclasses.replace(self.counts, skipped_reasons=dict(self.counts.skipped_reasons))

    def maybe(self) -> None:
        if time.monotonic() - self.last >= self.every:
            self.now()

    def last_words(self) -> None:
        """Store the counts of the last committed batch as the run stops on an error (a database that is gone is
        the caller's to report)."""
        if self.unsaved is not None:
            with contextlib.suppress(DatabaseError):
                self.now(self.unsaved)


def _process_batch(writer: Writer, batch: Sequence[KleerRecord], seen: set[str]) -> None:
    writer.counts.read += len(batch)
    collect_seen = writer.object_type in readers.COMPLETE_LISTS  # only those lists say what is gone
    included: list[Mapping[str, Any]] = []
    gone: list[str] = []
    for record in batch:
        if readers.is_gone(writer.object_type, record):
            gone.append(record.id)  # soft-deleted in Kleer: handled with the records that vanished
            continue
        if collect_seen:
            seen.add(record.id)
        if writer.spec.includes(record.data):
            included.append(record.data)
        else:
            writer.counts.skip("filtered")
    included = _without_new_update_only(writer, included)
    writer.write(writer.prepare(included))
    if gone:
        # `_handle_gone` counts those still live in HubSpot as deleted at the end of the run; the rest (never
        # synced, or marked deleted before) are skipped, so that every record read appears in exactly one count.
        writer.counts.skip("deleted_in_kleer", len(gone) - _live_records(writer).filter(kleer_id__in=gone).count())


def _without_new_update_only(writer: Writer, records: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Drop (as skipped) the update-only records that are not in HubSpot: they may update, never create."""
    update_only = writer.spec.update_only
    candidates = {writer.spec.kleer_id(r) for r in records if update_only is not None and update_only(r)}
    if not candidates:
        return records
    live = set(_live_records(writer).filter(kleer_id__in=candidates).values_list("kleer_id", flat=True))
    kept = [r for r in records if writer.spec.kleer_id(r) not in candidates - live]
    writer.counts.skip("not_in_hubspot", len(records) - len(kept))
    return kept


def _live_records(writer: Writer) -> QuerySet[SyncedRecord]:
    """The writer's records that are in HubSpot and not yet marked deleted in Kleer."""
    return SyncedRecord.objects.filter(
        portal_id=writer.run.portal_id,
        object_type=writer.object_type,
        hubspot_object=writer.hubspot_object,
        deleted_in_kleer=False,
    ).exclude(hubspot_id="")


def _write_children(parent: Writer, children: Writer, parents: Sequence[Outgoing]) -> None:
    """Line items of parents whose HubSpot record is settled, associated to their parent record; the child
    writer queues them across parents into full batches."""
    rows: list[Mapping[str, Any]] = []
    links: list[list[tuple[str, str]]] = []
    for item in parents:
        try:
            found = CHILD_ROWS[parent.object_type](item.record)
        except catalog.TransformError as exc:
            text = explain.transform_error_text(
                spec=parent.spec, record=item.record, kleer_id=item.kleer_id, message=f"its rows: {exc}"
            )
            parent.fail(item.kleer_id, f"line items: {exc}", "TRANSFORM", customer_message=text)
            continue
        rows += found
        links += [[(parent.object_type, item.kleer_id)]] * len(found)
    children.counts.read += len(rows)
    children.write(children.prepare(rows, links))


def _handle_gone(writer: Writer, seen: set[str], portal: Portal) -> list[str]:
    """Records we synced that Kleer no longer lists: mark them `kleer_deleted` (or archive, if opted in).

    The live records are read in pages by primary key and compared with `seen` here, never sent to the database as
    one `NOT IN` of every id Kleer listed (100,000 ids for a large company)."""
    live = _live_records(writer)
    if not seen and live.exists():
        # An empty list from Kleer is more likely a glitch than a company that deleted everything.
        return ["Kleer returned no records; nothing was marked deleted"]
    gone: list[tuple[int, str, str]] = []
    last = 0
    while page := list(live.filter(pk__gt=last).order_by("pk").values_list("pk", "kleer_id", "hubspot_id")[:GONE_PAGE]):
        last = page[-1][0]
        gone += [row for row in page if row[1] not in seen]
        while len(gone) >= BATCH_SIZE:
            _mark_gone(writer, portal, gone[:BATCH_SIZE])
            gone = gone[BATCH_SIZE:]
    if gone:
        _mark_gone(writer, portal, gone)
    return []


def _mark_gone(writer: Writer, portal: Portal, chunk: Sequence[tuple[int, str, str]]) -> None:
    if portal.archive_deleted:
        writer.hubspot.batch_archive(writer.hubspot_object, [hubspot_id for _, _, hubspot_id in chunk])
    else:
        keys = [hubspot_key(writer.object_type, writer.hubspot_object, kleer_id) for _, kleer_id, _ in chunk]
        writer.hubspot.batch_upsert(
            writer.hubspot_object, [(k, {catalog.KLEER_ID_PROPERTY: k, "kleer_deleted": "true"}) for k in keys]
        )
    SyncedRecord.objects.filter(pk__in=[pk for pk, _, _ in chunk]).update(deleted_in_kleer=True, fingerprint="")
    writer.counts.deleted += len(chunk)
