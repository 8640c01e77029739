"""Write one object type's records to HubSpot: transform, fingerprint, upsert, remember, associate.

Used for top-level objects and, with a parent, for the line items of invoices and agreements. Progress is
committed per acknowledged batch: after HubSpot accepts a batch, the HubSpot ids and fingerprints of
exactly the accepted records are stored in one transaction, so a crash loses nothing and a re-run re-sends
only what was not acknowledged (DESIGN §4 steps 4–7).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from integration import catalog
from integration.clients.hubspot import BatchOutcome, HubSpotClient
from integration.models import FieldMapping, InboundEvent, SyncedRecord, SyncRun
from integration.services.record_errors import (
    record_error_upsert,
    record_errors_resolve,
    record_errors_waiting,
)

# invoices, agreements and projects may all sync to deals; kleer_id is unique per HubSpot object, so on a
# shared target the value names its Kleer type ("invoice-5000") and ids of different types cannot collide.
SHARED_TARGET_PREFIX = {"invoices": "invoice-", "agreements": "agreement-", "projects": "project-"}
SHARED_TARGETS = {"deals"}


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

    def apply_to(self, run: SyncRun) -> None:
        for name, value in vars(self).items():
            setattr(run, name, value)


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
    """Writes records of one object type to one HubSpot object for one portal, inside one SyncRun."""

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

    @property
    def spec(self) -> catalog.ObjectSpec:
        return catalog.get(self.object_type)

    # -- transform ------------------------------------------------------------------------------------

    def prepare(
        self, records: Sequence[Mapping[str, Any]], links: Sequence[Iterable[tuple[str, str]]] = ()
    ) -> list[Outgoing]:
        """Transform the records that are not waiting for a retry; `links[i]` are extra links of `records[i]`.

        A record whose error is parked or inside its backoff is counted as skipped before it is transformed,
        whether HubSpot refused it or it could not be transformed: no error is retried on every run."""
        ids = [self.spec.kleer_id(record) or "" for record in records]
        waiting = record_errors_waiting(portal_id=self.run.portal_id, object_type=self.object_type, kleer_ids=ids)
        prepared = []
        for index, record in enumerate(records):
            if ids[index] in waiting:
                self.counts.skipped += 1
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
            self.fail(kleer_id, str(exc), "TRANSFORM", payload={"kleer_id": kleer_id})
            return None
        all_links = [*self._links(record), *links]
        return Outgoing(kleer_id, key, properties, all_links, fingerprint_of(properties), record)

    def _links(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = []
        for association in self.spec.associations:
            other = self.spec.field(association.field).to_hubspot(self.spec.field(association.field).extract(record))
            if other:
                found.append((association.to_object, other))
        return found

    def fail(self, kleer_id: str, message: str, category: str, *, payload: dict | None = None) -> None:
        self.counts.failed += 1
        record_error_upsert(
            run=self.run,
            object_type=self.object_type,
            kleer_id=kleer_id or "?",
            message=message,
            category=category,
            payload=payload,
        )

    # -- write ----------------------------------------------------------------------------------------

    def write(self, batch: Sequence[Outgoing]) -> dict[str, SyncedRecord]:
        """Upsert what changed in `batch` (made by `prepare`), associate, and return the SyncedRecords of the
        batch by Kleer id."""
        ids = [o.kleer_id for o in batch]
        known = {
            r.kleer_id: r
            for r in SyncedRecord.objects.filter(
                portal_id=self.run.portal_id, object_type=self.object_type, kleer_id__in=ids
            )
        }
        deferred = self._inbound_pending(known.values())
        changed = []
        for item in batch:
            if item.kleer_id in deferred:
                self.counts.skipped += 1
            elif self._unchanged(item, known.get(item.kleer_id)):
                self.counts.unchanged += 1
            else:
                changed.append(item)
        if changed:
            inputs = [(o.key, self._sendable(o, known.get(o.kleer_id))) for o in changed]
            outcome = self.hubspot.batch_upsert(self.hubspot_object, inputs)
            known.update(self._remember(changed, outcome))
        self._associate(batch, known)
        return known

    def _inbound_pending(self, known: Iterable[SyncedRecord]) -> set[str]:
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

    def _sendable(self, item: Outgoing, known: SyncedRecord | None) -> dict[str, str]:
        """What to send: with two-way merge, a two-way property whose Kleer value is still the agreed one is left
        out, so a HubSpot edit on its way to Kleer is not overwritten by an unrelated Kleer change."""
        if not self.two_way_merge or self.full or known is None:
            return item.properties
        agreed = known.synced_values
        return {k: v for k, v in item.properties.items() if not (k in agreed and agreed[k] == v)}

    def _unchanged(self, item: Outgoing, known: SyncedRecord | None) -> bool:
        return (
            not self.full
            and known is not None
            and bool(known.hubspot_id)
            and known.hubspot_object == self.hubspot_object
            and known.fingerprint == item.fingerprint
        )

    def _remember(self, changed: Sequence[Outgoing], outcome: BatchOutcome) -> dict[str, SyncedRecord]:
        by_key = {o.key: o for o in changed}
        now = timezone.now()
        rows = []
        for written in outcome.written:
            item = by_key.get(written.key)
            if item is None:
                continue
            self.counts.created += written.new
            self.counts.updated += not written.new
            rows.append(
                SyncedRecord(
                    portal_id=self.run.portal_id,
                    object_type=self.object_type,
                    kleer_id=item.kleer_id,
                    hubspot_object=self.hubspot_object,
                    hubspot_id=written.hubspot_id,
                    fingerprint=item.fingerprint,
                    synced_values=two_way_values(self.mappings, item.properties),
                    deleted_in_kleer=False,
                    last_synced_at=now,
                )
            )
        with transaction.atomic():
            SyncedRecord.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["portal", "object_type", "kleer_id"],
                update_fields=[
                    "hubspot_object",
                    "hubspot_id",
                    "fingerprint",
                    "synced_values",
                    "deleted_in_kleer",
                    "last_synced_at",
                ],
            )
            record_errors_resolve(
                portal_id=self.run.portal_id, object_type=self.object_type, kleer_ids=[r.kleer_id for r in rows]
            )
        for failed in outcome.failed:
            item = by_key.get(failed.key)
            if failed.category == "VALIDATION_ERROR" and "PROPERTY_DOESNT_EXIST" in failed.message:
                self.schema_stale = True
            self.fail(
                item.kleer_id if item else failed.key,
                failed.message,
                failed.category,
                payload=_excerpt(item.properties if item else {}),
            )
        return {r.kleer_id: r for r in rows}

    # -- associations ---------------------------------------------------------------------------------

    def _associate(self, batch: Sequence[Outgoing], known: dict[str, SyncedRecord]) -> None:
        """Create the associations whose targets exist in HubSpot and changed since the last run."""
        targets = self._resolve_links(batch)
        pending: dict[tuple[str, int], list[tuple[str, str]]] = {}
        moved: list[tuple[str, list[tuple[str, str]]]] = []
        updates = []
        for item in batch:
            record = known.get(item.kleer_id)
            if record is None or not record.hubspot_id:
                continue
            edges = sorted(targets[link] for link in item.links if link in targets)
            print_ = fingerprint_of(edges) if edges else ""
            if print_ == record.associations_fingerprint and not self.full:
                continue
            if record.associations_fingerprint and print_ != record.associations_fingerprint:
                moved.append((record.hubspot_id, edges))
            for to_object, to_id in edges:
                type_id = catalog.association_type_id(self.hubspot_object, to_object)
                pending.setdefault((to_object, type_id), []).append((record.hubspot_id, to_id))
            record.associations_fingerprint = print_
            updates.append(record)
        self._prune_moved(moved)
        for (to_object, type_id), pairs in pending.items():
            self.hubspot.associate_batch(self.hubspot_object, to_object, pairs, type_id=type_id)
        SyncedRecord.objects.bulk_update(updates, ["associations_fingerprint"])

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


def _excerpt(properties: Mapping[str, str]) -> dict[str, str]:
    """A short, secret-free excerpt of what we sent (values truncated)."""
    return {k: (v[:80] if isinstance(v, str) else v) for k, v in list(properties.items())[:20]}
