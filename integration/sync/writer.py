"""Write one object type's records to HubSpot: transform, fingerprint, upsert, remember, associate.

Used for top-level objects and, with a parent, for the line items of invoices and agreements. Progress is
committed per acknowledged batch: after HubSpot accepts a batch, the HubSpot ids and fingerprints of
exactly the accepted records are stored in one transaction, so a crash loses nothing and a re-run re-sends
only what was not acknowledged (DESIGN §4 steps 4–7).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration import catalog
from integration.clients.errors import ApiError
from integration.clients.hubspot import ASSOCIATION_BATCH_LIMIT, BatchOutcome, Failed, HubSpotClient
from integration.models import FieldMapping, InboundEvent, SyncedRecord, SyncRun
from integration.services.record_errors import (
    record_error_upsert,
    record_errors_outstanding,
    record_errors_resolve,
)
from integration.services.synced_records import (
    SYNCED_ROW_FIELDS,
    Synced,
    SyncedRow,
    links_fingerprints_store,
    synced_records_upsert,
)
from integration.sync import explain
from integration.sync.matching import link_existing
from integration.sync.threads import in_pool

# invoices, agreements and projects may all sync to deals; kleer_id is unique per HubSpot object, so on a
# shared target the value names its Kleer type ("invoice-5000") and ids of different types cannot collide.
SHARED_TARGET_PREFIX = {"invoices": "invoice-", "agreements": "agreement-", "projects": "project-"}
SHARED_TARGETS = {"deals"}
UPSERT_BATCH = 100  # HubSpot's batch upsert takes at most 100 inputs (hubspot-api.md §2.2)


@dataclass
class Counts:
    """What one run did to one object type."""

    read: int = 0
    unchanged: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    deleted: int = 0
    matched: int = 0  # linked to an existing HubSpot record instead of creating one (sync/matching.py)
    skipped_reasons: dict[str, int] = field(default_factory=dict)  # SKIP_REASONS key → count; sums to `skipped`

    def skip(self, reason: str, count: int = 1) -> None:
        """Count `count` records as skipped for `reason` (a SKIP_REASONS key), so the tab can say why."""
        if count > 0:
            self.skipped += count
            self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + count

    def apply_to(self, run: SyncRun) -> None:
        for name, value in vars(self).items():
            setattr(run, name, dict(value) if isinstance(value, dict) else value)


# Why a record read from Kleer was not written (SyncRun.skipped_reasons keys; the tab words them).
SKIP_REASONS = ("filtered", "waiting_retry", "hubspot_edit_pending", "deleted_in_kleer", "not_in_hubspot")


@dataclass
class Outgoing:
    """One record ready for HubSpot: its key, properties and the Kleer records it links to."""

    kleer_id: str
    key: str
    properties: dict[str, str]
    links: list[tuple[str, str]]
    fingerprint: str
    record: Mapping[str, Any] = field(repr=False, default_factory=dict)


def fingerprint_of(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def hubspot_key(object_type: str, hubspot_object: str, kleer_id: str) -> str:
    if hubspot_object in SHARED_TARGETS and object_type in SHARED_TARGET_PREFIX:
        return f"{SHARED_TARGET_PREFIX[object_type]}{kleer_id}"
    return kleer_id


def kleer_id_of(object_type: str, hubspot_object: str, key: str) -> str | None:
    """The Kleer id inside a `kleer_id` value (the inverse of `hubspot_key`); None when the key belongs to
    another Kleer type sharing the HubSpot object (an invoice's deal is not a project)."""
    if hubspot_object in SHARED_TARGETS and object_type in SHARED_TARGET_PREFIX:
        prefix = SHARED_TARGET_PREFIX[object_type]
        return key.removeprefix(prefix) if key.startswith(prefix) else None
    return key


def record_payload(
    *,
    spec: catalog.ObjectSpec,
    record: Mapping[str, Any],
    mappings: Sequence[catalog.MappingLike],
    hubspot_object: str,
    extra_properties: Mapping[str, str],
) -> tuple[str, dict[str, str]]:
    """The `kleer_id` key and every property a sync writes for one Kleer record (what its fingerprint covers).

    Raises TransformError for values that cannot be converted. Shared by the writer and the inbound path, which
    must know what the next outbound run would send so that a Kleer write it made does not come back."""
    key = hubspot_key(spec.key, hubspot_object, spec.kleer_id(record) or "")
    properties = spec.properties_for(record, mappings, hubspot_object)
    properties.update(extra_properties)
    properties[catalog.KLEER_ID_PROPERTY] = key
    properties["kleer_deleted"] = "false"
    return key, properties


def two_way_values(mappings: Iterable[FieldMapping], properties: Mapping[str, str]) -> dict[str, str | None]:
    """The two-way properties' values in `properties` (None where nothing is written): the agreed base."""
    return {
        m.hubspot_property: properties.get(m.hubspot_property)
        for m in mappings
        if m.direction == FieldMapping.Direction.TWO_WAY
    }


@dataclass
class Writer:
    """Writes records of one object type to one HubSpot object for one portal, inside one SyncRun.

    `write` queues changed records across Kleer pages and upserts them in full batches of 100; association
    pairs are queued too and sent up to HubSpot's per-call limit. `flush` sends what is left at the end of a
    run. Each batch's outcome is committed as soon as HubSpot acknowledges it (ids and fingerprints of exactly
    the accepted records; a link's fingerprint only once its pairs were accepted), so a killed worker loses at
    most the calls in flight and the queued records, which the next run sends again under the same keys."""

    run: SyncRun
    object_type: str
    hubspot_object: str
    mappings: Sequence[FieldMapping]
    hubspot: HubSpotClient
    extra_properties: Mapping[str, str] = field(default_factory=dict)
    full: bool = False
    # Two-way objects with HubSpot → Kleer on: HubSpot edits are the inbound path's to settle (see `_sendable`).
    two_way_merge: bool = False
    counts: Counts = field(default_factory=Counts)
    schema_stale: bool = False
    # Called with records whose HubSpot record is settled (written, unchanged or deferred) and their
    # SyncedRecords by Kleer id: the engine writes their line items from here.
    on_settled: Callable[[Sequence[Outgoing], Mapping[str, Synced]], None] | None = None
    # Called after each batch's outcome is committed (the engine's heartbeat).
    on_committed: Callable[[], None] | None = None
    # Upserts in flight at once: with a pool, up to `max_in_flight` calls run in its threads while this one reads
    # Kleer and prepares the next batch; outcomes are committed in the order the batches were sent.
    pool: Executor | None = None
    max_in_flight: int = 1
    _queue: list[tuple[Outgoing, Synced | None]] = field(default_factory=list, repr=False)
    # Calls in flight, oldest first, each with what commits its answer.
    _in_flight: deque[tuple[Future[Any], Callable[[Any], None]]] = field(default_factory=deque, repr=False)
    _links: LinkQueue = field(default_factory=lambda: LinkQueue(), repr=False)
    _errors: ErrorState | None = field(default=None, repr=False)
    _labels: dict[str, str] | None = field(default=None, repr=False)
    # matching.Census of the run (False: too many records to read, search per batch; a Future while prefetched).
    match_census: Any = field(default=None, repr=False)

    @property
    def spec(self) -> catalog.ObjectSpec:
        return catalog.get(self.object_type)

    @property
    def errors(self) -> ErrorState:
        """The run's view of this object type's record errors, read once per run."""
        if self._errors is None:
            self._errors = ErrorState.load(portal_id=self.run.portal_id, object_type=self.object_type)
        return self._errors

    # -- transform ------------------------------------------------------------------------------------

    def prepare(
        self, records: Sequence[Mapping[str, Any]], links: Sequence[Iterable[tuple[str, str]]] = ()
    ) -> list[Outgoing]:
        """Transform the records that are not waiting for a retry; `links[i]` are extra links of `records[i]`.

        A record whose error is parked or inside its backoff is counted as skipped before it is transformed,
        whether HubSpot refused it or it could not be transformed: no error is retried on every run."""
        waiting = self.errors.waiting
        prepared = []
        for index, record in enumerate(records):
            if waiting and (self.spec.kleer_id(record) or "") in waiting:
                self.counts.skip("waiting_retry")
                continue
            item = self.outgoing(record, links=links[index] if links else ())
            if item is not None:
                prepared.append(item)
        return prepared

    def outgoing(self, record: Mapping[str, Any], *, links: Iterable[tuple[str, str]] = ()) -> Outgoing | None:
        """Transform one Kleer record; a record that cannot be transformed becomes a RecordError."""
        kleer_id = self.spec.kleer_id(record) or ""
        try:
            key, properties = record_payload(
                spec=self.spec,
                record=record,
                mappings=self.mappings,
                hubspot_object=self.hubspot_object,
                extra_properties=self.extra_properties,
            )
        except catalog.TransformError as exc:
            text = explain.transform_error_text(spec=self.spec, record=record, kleer_id=kleer_id, message=str(exc))
            self.fail(kleer_id, str(exc), "TRANSFORM", payload={"kleer_id": kleer_id}, customer_message=text)
            return None
        all_links = [*self._links_of(record), *links]
        return Outgoing(kleer_id, key, properties, all_links, fingerprint_of(properties), record)

    def _links_of(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = []
        for association in self.spec.associations:
            other = self.spec.field(association.field).to_hubspot(self.spec.field(association.field).extract(record))
            if other:
                found.append((association.to_object, other))
        return found

    def fail(
        self, kleer_id: str, message: str, category: str, *, payload: dict | None = None, customer_message: str = ""
    ) -> None:
        self.counts.failed += 1
        self.errors.unresolved.add(kleer_id or "?")
        record_error_upsert(
            run=self.run,
            object_type=self.object_type,
            kleer_id=kleer_id or "?",
            message=message,
            category=category,
            payload=payload,
            customer_message=customer_message,
        )

    def _refusal_text(self, item: Outgoing | None, failed: Failed) -> str:
        """The customer's sentence for a record HubSpot refused (integration.sync.explain)."""
        problems = explain.problems_from(failed.details, failed.message)
        return explain.hubspot_error_text(
            spec=self.spec,
            record=item.record if item else {},
            kleer_id=item.kleer_id if item else failed.key,
            sent=item.properties if item else {},
            mappings=self.mappings,
            problems=problems,
            property_labels=self._property_labels() if problems else {},
            category=failed.category,
        )

    def _property_labels(self) -> dict[str, str]:
        """HubSpot labels of the target's properties, asked once per run and only when a record failed."""
        if self._labels is None:
            try:
                self._labels = {
                    p["name"]: p.get("label") or p["name"] for p in self.hubspot.properties(self.hubspot_object)
                }
            except ApiError:
                self._labels = {}
        return self._labels

    # -- write ----------------------------------------------------------------------------------------

    def write(self, batch: Sequence[Outgoing]) -> None:
        """Queue what changed in `batch` (made by `prepare`) for upsert in full batches; unchanged records and
        records deferred to the inbound path are settled at once (their links and line items still count)."""
        self._collect(block=False)
        known = self._known([o.kleer_id for o in batch])
        deferred = self._inbound_pending(known.values())
        settled, changed = [], []
        for item in batch:
            record = known.get(item.kleer_id)
            if item.kleer_id in deferred:
                self.counts.skip("hubspot_edit_pending")
                settled.append(item)
            elif self._unchanged(item, record):
                self.counts.unchanged += 1
                settled.append(item)
            else:
                changed.append(item)
        # Records without a link may already exist in HubSpot: link those instead of creating duplicates.
        remaining = link_existing(writer=self, items=changed, known=known) if changed else []
        queued = {o.kleer_id for o in remaining}
        settled += [o for o in changed if o.kleer_id in known and o.kleer_id not in queued]  # just linked
        self._queue.extend((o, known.get(o.kleer_id)) for o in remaining)
        self._settle(settled, known)
        while len(self._queue) >= UPSERT_BATCH:
            self._upsert_next()

    def flush(self, *, wait: bool = True) -> None:
        """Send what is still queued at the end of a run: the last records (their answers committed, so that
        `on_settled` has seen every record), then every queued link; with `wait`, return when those answers are
        committed too (else call `wait` later: a parent's last links travel while its line items are flushed)."""
        while self._queue:
            self._upsert_next()
        self.wait()
        self._send_links()
        if wait:
            self.wait()

    def wait(self) -> None:
        """Commit the answer of every call still in flight."""
        while self._in_flight:
            self._collect(block=True)

    def _known(self, ids: Sequence[str]) -> dict[str, Synced]:
        """The batch's SyncedRecords by Kleer id, as plain rows (no model instances: once per batch of 100)."""
        rows = SyncedRecord.objects.filter(portal_id=self.run.portal_id, object_type=self.object_type, kleer_id__in=ids)
        return {values[2]: SyncedRow(*values) for values in rows.values_list(*SYNCED_ROW_FIELDS)}

    def _upsert_next(self) -> None:
        """Upsert the next (up to) 100 queued records; commit what HubSpot accepted once it answers."""
        chunk, self._queue = self._queue[:UPSERT_BATCH], self._queue[UPSERT_BATCH:]
        inputs = [(o.key, self._sendable(o, record)) for o, record in chunk]
        self._call(
            lambda: self.hubspot.batch_upsert(self.hubspot_object, inputs),
            lambda outcome: self._commit(chunk, outcome),
        )

    def _call(self, call: Callable[[], Any], commit: Callable[[Any], None]) -> None:
        """Make `call` and `commit` its answer: at once without a pool, else in a pool thread while this one goes
        on, keeping at most `max_in_flight` calls of this writer in flight and committing answers in order."""
        if self.pool is None:
            commit(call())
            return
        self._in_flight.append((in_pool(self.pool, call), commit))
        while len(self._in_flight) > self.max_in_flight:
            self._collect(block=True)

    def _collect(self, *, block: bool) -> None:
        """Commit the outcomes of the oldest calls in flight: every one already answered, or (`block`) the
        oldest one. A call that failed raises here, and the run ends with what was committed before it."""
        while self._in_flight and (block or self._in_flight[0][0].done()):
            future, commit = self._in_flight.popleft()
            commit(future.result())
            block = False

    def _commit(self, chunk: Sequence[tuple[Outgoing, Synced | None]], outcome: BatchOutcome) -> None:
        changed = [item for item, _ in chunk]
        previous = {item.kleer_id: record for item, record in chunk if record is not None}
        known = {**previous, **self._remember(changed, outcome, previous)}
        if self.on_committed is not None:
            self.on_committed()
        self._settle([o for o in changed if o.kleer_id in known], known)

    def _settle(self, items: Sequence[Outgoing], known: Mapping[str, Synced]) -> None:
        if not items:
            return
        if self.on_settled is not None:
            self.on_settled(items, known)
        self._queue_links(items, known)

    def _inbound_pending(self, known: Iterable[Synced]) -> set[str]:
        """Kleer ids of records with a HubSpot edit not yet processed: left to the inbound path this run, so that
        an outbound write never replaces an edit before it has been weighed against Kleer's value."""
        by_hubspot_id = {r.hubspot_id: r.kleer_id for r in known if r.hubspot_id}
        if not (self.two_way_merge and by_hubspot_id):
            return set()
        pending = InboundEvent.objects.filter(
            portal_id=self.run.portal_id,
            hubspot_object=self.hubspot_object,
            object_id__in=list(by_hubspot_id),
            status__in=[InboundEvent.Status.PENDING, InboundEvent.Status.PROCESSING],
        ).values_list("object_id", flat=True)
        return {by_hubspot_id[object_id] for object_id in pending}

    def _sendable(self, item: Outgoing, known: Synced | None) -> dict[str, str]:
        """What to send: with two-way merge, a two-way property whose Kleer value is still the agreed one is left
        out, so a HubSpot edit on its way to Kleer is not overwritten by an unrelated Kleer change."""
        if not self.two_way_merge or self.full or known is None:
            return item.properties
        agreed = known.synced_values
        return {k: v for k, v in item.properties.items() if not (k in agreed and agreed[k] == v)}

    def _unchanged(self, item: Outgoing, known: Synced | None) -> bool:
        return (
            not self.full
            and known is not None
            and bool(known.hubspot_id)
            and known.hubspot_object == self.hubspot_object
            and known.fingerprint == item.fingerprint
        )

    def _remember(
        self, changed: Sequence[Outgoing], outcome: BatchOutcome, previous: Mapping[str, Synced]
    ) -> dict[str, Synced]:
        """Store HubSpot's ids and the fingerprints of the accepted records in one statement, and record the
        refused ones as RecordErrors. A record keeps its links' fingerprint (they are settled separately)."""
        by_key = {o.key: o for o in changed}
        now = timezone.now()
        rows = []
        for written in outcome.written:
            item = by_key.get(written.key)
            if item is None:
                continue
            self.counts.created += written.new
            self.counts.updated += not written.new
            before = previous.get(item.kleer_id)
            rows.append(
                SyncedRow(
                    portal_id=self.run.portal_id,
                    object_type=self.object_type,
                    kleer_id=item.kleer_id,
                    hubspot_object=self.hubspot_object,
                    hubspot_id=written.hubspot_id,
                    fingerprint=item.fingerprint,
                    associations_fingerprint=_kept_links_print(before, written.hubspot_id, self.hubspot_object),
                    synced_values=two_way_values(self.mappings, item.properties),
                    deleted_in_kleer=False,
                    last_synced_at=now,
                )
            )
        self._store(rows)
        for failed in outcome.failed:
            item = by_key.get(failed.key)
            if failed.category == "VALIDATION_ERROR" and "PROPERTY_DOESNT_EXIST" in failed.message:
                self.schema_stale = True
            self.fail(
                item.kleer_id if item else failed.key,
                failed.message,
                failed.category,
                payload=_excerpt(item.properties if item else {}),
                customer_message=self._refusal_text(item, failed),
            )
        return {r.kleer_id: r for r in rows}

    def _store(self, rows: Sequence[SyncedRow]) -> None:
        """One statement for the batch; with the resolving of earlier errors (read once per run) in the same
        transaction when some of these records had one."""
        resolved = self.errors.resolvable([r.kleer_id for r in rows])
        if not resolved:
            synced_records_upsert(rows=rows)
            return
        with transaction.atomic():
            synced_records_upsert(rows=rows)
            record_errors_resolve(portal_id=self.run.portal_id, object_type=self.object_type, kleer_ids=resolved)

    # -- associations ---------------------------------------------------------------------------------

    def _queue_links(self, items: Sequence[Outgoing], known: Mapping[str, Synced]) -> None:
        """Queue the associations whose targets exist in HubSpot and changed since they were last sent."""
        targets = self._resolve_links(items)
        moved: list[tuple[str, list[tuple[str, str]]]] = []
        for item in items:
            record = known.get(item.kleer_id)
            if record is None or not record.hubspot_id:
                continue
            edges = sorted(targets[link] for link in item.links if link in targets)
            print_ = fingerprint_of(edges) if edges else ""
            if print_ == record.associations_fingerprint and not self.full:
                continue
            if record.associations_fingerprint and print_ != record.associations_fingerprint:
                moved.append((record.hubspot_id, edges))
            pairs = [
                (to_object, catalog.association_type_id(self.hubspot_object, to_object), record.hubspot_id, to_id)
                for to_object, to_id in edges
            ]
            self._links.add(item.kleer_id, record.hubspot_id, print_, pairs)
        self._prune_moved(moved)
        if self._links.full():
            self._send_links()

    def _send_links(self) -> None:
        """Send the queued pairs (one call per link type and up to HubSpot's limit, in flight like upserts), then
        store the links' fingerprint of every record none of whose pairs HubSpot refused (a refused one is sent
        again next run)."""
        if not self._links.prints:
            return
        links, self._links = self._links, LinkQueue()

        def call() -> set[str]:
            refused: set[str] = set()
            for (to_object, type_id), pairs in links.pairs.items():
                outcome = self.hubspot.associate_batch(self.hubspot_object, to_object, pairs, type_id=type_id)
                refused.update(failed.key.partition("->")[0] for failed in outcome.failed)
            return refused

        def commit(refused: set[str]) -> None:
            prints = {kleer_id: p for kleer_id, (hubspot_id, p) in links.prints.items() if hubspot_id not in refused}
            links_fingerprints_store(portal_id=self.run.portal_id, object_type=self.object_type, prints=prints)

        self._call(call, commit)

    def _prune_moved(self, moved: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """Remove the edges a changed record no longer has (an invoice moved to another client keeps only the
        new company). Only edges to records this integration synced are touched: associations people made
        in HubSpot stay."""
        by_type: dict[str, dict[str, set[str]]] = {}
        for hubspot_id, edges in moved:
            for to_object, to_id in edges:
                by_type.setdefault(to_object, {}).setdefault(hubspot_id, set()).add(to_id)
        for to_object, wanted in by_type.items():
            current = self.hubspot.associations_read(self.hubspot_object, to_object, list(wanted))
            ours = set(
                SyncedRecord.objects.filter(
                    portal_id=self.run.portal_id,
                    hubspot_object=to_object,
                    hubspot_id__in={i for ids in current.values() for i in ids},
                ).values_list("hubspot_id", flat=True)
            )
            stale = [(a, b) for a, ids in current.items() for b in ids if b in ours and b not in wanted.get(a, ())]
            if stale:
                self.hubspot.dissociate_batch(self.hubspot_object, to_object, stale)

    def _resolve_links(self, batch: Sequence[Outgoing]) -> dict[tuple[str, str], tuple[str, str]]:
        """(object type, Kleer id) → (HubSpot object, HubSpot id) for every link target already synced."""
        wanted: dict[str, set[str]] = {}
        for item in batch:
            for object_type, kleer_id in item.links:
                wanted.setdefault(object_type, set()).add(kleer_id)
        resolved = {}
        for object_type, kleer_ids in wanted.items():
            rows = SyncedRecord.objects.filter(
                portal_id=self.run.portal_id, object_type=object_type, kleer_id__in=kleer_ids
            ).exclude(hubspot_id="")
            for row in rows.values_list("kleer_id", "hubspot_object", "hubspot_id"):
                resolved[(object_type, row[0])] = (row[1], row[2])
        return resolved


def _kept_links_print(before: Synced | None, hubspot_id: str, hubspot_object: str) -> str:
    """The links' fingerprint a re-written record keeps: its own, unless it now is another HubSpot record."""
    if before is None or before.hubspot_id != hubspot_id or before.hubspot_object != hubspot_object:
        return ""
    return before.associations_fingerprint


@dataclass
class LinkQueue:
    """Association pairs waiting to be sent, by (to object, type id), and the links' fingerprint each record
    gets once its pairs are accepted."""

    pairs: dict[tuple[str, int], list[tuple[str, str]]] = field(default_factory=dict)
    prints: dict[str, tuple[str, str]] = field(default_factory=dict)  # kleer id -> (hubspot id, fingerprint)

    def add(self, kleer_id: str, hubspot_id: str, print_: str, pairs: Sequence[tuple[str, int, str, str]]) -> None:
        for to_object, type_id, from_id, to_id in pairs:
            self.pairs.setdefault((to_object, type_id), []).append((from_id, to_id))
        self.prints[kleer_id] = (hubspot_id, print_)

    def full(self) -> bool:
        """A link type has a full call's worth of pairs (or many records wait for a fingerprint)."""
        return any(len(p) >= ASSOCIATION_BATCH_LIMIT for p in self.pairs.values()) or len(self.prints) >= 5000


@dataclass
class ErrorState:
    """The outbound RecordErrors of one object type, read once per run: which records wait for their retry
    time, and which have an error to resolve when they sync."""

    waiting: set[str]
    unresolved: set[str]

    @classmethod
    def load(cls, *, portal_id: int, object_type: str) -> ErrorState:
        waiting, unresolved = record_errors_outstanding(portal_id=portal_id, object_type=object_type)
        return cls(waiting=waiting, unresolved=unresolved)

    def resolvable(self, kleer_ids: Iterable[str]) -> list[str]:
        if not self.unresolved:
            return []
        found = [k for k in kleer_ids if k in self.unresolved]
        self.unresolved.difference_update(found)
        return found


def _excerpt(properties: Mapping[str, str]) -> dict[str, str]:
    """A short, secret-free excerpt of what we sent (values truncated)."""
    return {k: (v[:80] if isinstance(v, str) else v) for k, v in list(properties.items())[:20]}
