"""HubSpot → Kleer for one record: read both sides now, write Kleer what HubSpot changed, never echo (DESIGN §5).

The events only say *that* a record changed. Its current values are read from HubSpot, so a late, duplicated or
reordered event can never write an old value, and re-processing after a crash finds nothing left to write.
Per two-way property, the value both sides agreed on at the last sync (`SyncedRecord.synced_values`) tells
who changed it: HubSpot only (written to Kleer), Kleer only (left to the next outbound run), or both (a
conflict, settled by the portal's rule and recorded). After a Kleer write, the record's fingerprint is set to
what the next outbound run would compute when HubSpot already holds exactly that, so the write costs no
HubSpot call later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from integration import catalog
from integration.clients.errors import PermanentError
from integration.clients.hubspot import HubSpotClient
from integration.clients.kleer import KleerClient
from integration.models import ConflictRule, FieldMapping, ObjectSync, SyncedRecord
from integration.sync.writer import fingerprint_of, kleer_id_of, record_payload, two_way_values

logger = logging.getLogger("integration.inbound")


class Ignored(Exception):
    """The record's events cannot lead to a Kleer write; the message says why (stored on the events)."""


@dataclass
class Conflict:
    """One property both sides changed since the last sync, and which side was kept."""

    hubspot_property: str
    hubspot_value: str | None
    kleer_value: str | None
    winner: str


@dataclass
class Outcome:
    """What processing one record did."""

    kleer_id: str
    written: dict[str, Any] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass
class RecordContext:
    """One HubSpot object type of one portal: its ObjectSync, mappings and the properties to read."""

    object_sync: ObjectSync
    mappings: Sequence[FieldMapping]
    extra_properties: Mapping[str, str]

    @property
    def spec(self) -> catalog.ObjectSpec:
        return self.object_sync.spec

    @property
    def two_way(self) -> list[FieldMapping]:
        return [m for m in self.mappings if m.direction == FieldMapping.Direction.TWO_WAY]

    def properties_to_read(self) -> list[str]:
        """Everything the outbound payload holds, so the echo check can compare it as a whole."""
        target = self.spec.target(self.object_sync.hubspot_object)
        names = {m.hubspot_property for m in self.mappings} | set(self.extra_properties)
        names |= {name for name, _value in target.fixed_properties}
        return sorted(names | {catalog.KLEER_ID_PROPERTY, "kleer_deleted"})


def _value(properties: Mapping[str, Any], name: str) -> str | None:
    """HubSpot answers "" or null for an empty property; both mean no value."""
    value = properties.get(name)
    return None if value in (None, "") else str(value)


def _linked_kleer_id(context: RecordContext, hubspot_id: str, properties: Mapping[str, Any]) -> str:
    object_sync = context.object_sync
    linked = SyncedRecord.objects.filter(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        hubspot_object=object_sync.hubspot_object,
        hubspot_id=hubspot_id,
    ).first()
    if linked is not None:
        return linked.kleer_id
    key = _value(properties, catalog.KLEER_ID_PROPERTY)
    if key is None:
        raise Ignored("the HubSpot record has no kleer_id: it was not synced from Kleer")
    kleer_id = kleer_id_of(object_sync.object_type, object_sync.hubspot_object, key)
    if kleer_id is None:
        raise Ignored(f"the record mirrors another Kleer record ({key}), not one of the {object_sync.spec.label}")
    return kleer_id


def _conflict_winner(rule: str, hubspot_changed_at: dt.datetime | None) -> str:
    """Kleer keeps no change timestamps (kleer-api.md §1.8), so a Kleer change is dated when the product first
    sees it. A Kleer change the outbound run already saw was written to HubSpot, which makes it the base and
    no conflict; one seen only now is dated now, later than the HubSpot edit that made us look."""
    if rule == ConflictRule.HUBSPOT:
        return "hubspot"
    if rule == ConflictRule.KLEER:
        return "kleer"
    kleer_seen_at = timezone.now()
    return "hubspot" if hubspot_changed_at is not None and hubspot_changed_at > kleer_seen_at else "kleer"


def _changes(
    context: RecordContext,
    hubspot: Mapping[str, Any],
    kleer_properties: Mapping[str, str],
    base: Mapping[str, str | None],
    changed_at: Mapping[str, dt.datetime | None],
) -> tuple[dict[str, str | None], list[Conflict]]:
    """The HubSpot values to write to Kleer, and the conflicts met on the way."""
    rule = context.object_sync.portal.conflict_rule
    to_write: dict[str, str | None] = {}
    conflicts = []
    for mapping in context.two_way:
        name = mapping.hubspot_property
        theirs, ours = _value(hubspot, name), kleer_properties.get(name)
        if theirs == ours:
            continue
        agreed = base.get(name, ours)
        if theirs == agreed:
            continue  # only Kleer changed: the next outbound run writes it to HubSpot
        if ours != agreed:
            winner = _conflict_winner(rule, changed_at.get(name))
            conflicts.append(Conflict(name, theirs, ours, winner))
            if winner == "kleer":
                continue
        to_write[name] = theirs
    return to_write, conflicts


def _set_path(body: dict[str, Any], record: Mapping[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Put `value` at `path`, keeping the siblings Kleer already holds (a nested element is sent whole)."""
    if len(path) == 1:
        body[path[0]] = value
        return
    current = record.get(path[0]) if isinstance(record.get(path[0]), Mapping) else {}
    inner = body.setdefault(path[0], dict(current or {}))
    _set_path(inner, current or {}, path[1:], value)


def _kleer_body(spec: catalog.ObjectSpec, record: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in values.items():
        _set_path(body, record, spec.field(name).path, value)
    return body


def record_apply(
    *,
    context: RecordContext,
    hubspot_record: Mapping[str, Any],
    changed_at: Mapping[str, dt.datetime | None],
    kleer: KleerClient,
) -> Outcome:
    """Bring one HubSpot record's two-way edits into Kleer (see the module docstring)."""
    spec, object_sync = context.spec, context.object_sync
    properties = hubspot_record.get("properties") or {}
    kleer_id = _linked_kleer_id(context, str(hubspot_record.get("id", "")), properties)
    record = _kleer_record(kleer, spec, kleer_id)
    target = object_sync.hubspot_object
    synced = SyncedRecord.objects.filter(
        portal_id=object_sync.portal_id, object_type=object_sync.object_type, kleer_id=kleer_id
    ).first()
    base = synced.synced_values if synced is not None else {}
    kleer_properties = spec.properties_for(record, context.two_way, target)
    to_write, conflicts = _changes(context, properties, kleer_properties, base, changed_at)
    outcome = Outcome(kleer_id=kleer_id, conflicts=conflicts)
    if to_write:
        outcome.written = spec.kleer_values_for(to_write, context.two_way)
        kleer.update(spec.kleer_resource, kleer_id, _kleer_body(spec, record, outcome.written))
        record = _kleer_record(kleer, spec, kleer_id)
    _remember(context, synced, kleer_id, str(hubspot_record.get("id", "")), record, properties)
    return outcome


def _kleer_record(kleer: KleerClient, spec: catalog.ObjectSpec, kleer_id: str) -> dict[str, Any]:
    try:
        return kleer.get(spec.kleer_resource, kleer_id)
    except PermanentError as exc:
        if exc.status == 404:
            raise Ignored(f"Kleer has no {spec.label.lower()[:-1]} {kleer_id} any more") from None
        raise


def _remember(
    context: RecordContext,
    synced: SyncedRecord | None,
    kleer_id: str,
    hubspot_id: str,
    record: Mapping[str, Any],
    hubspot: Mapping[str, Any],
) -> None:
    """Store the agreed values, and the outbound fingerprint when HubSpot already holds what Kleer now says."""
    _key, payload = record_payload(
        spec=context.spec,
        record=record,
        mappings=context.mappings,
        hubspot_object=context.object_sync.hubspot_object,
        extra_properties=context.extra_properties,
    )
    object_sync = context.object_sync
    row = synced or SyncedRecord(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        kleer_id=kleer_id,
        hubspot_object=object_sync.hubspot_object,
        hubspot_id=hubspot_id,
    )
    # A property the two sides still disagree on keeps its old base: the next run (or event) settles it.
    agreed = {n: v for n, v in two_way_values(context.mappings, payload).items() if v == _value(hubspot, n)}
    row.synced_values = {**row.synced_values, **agreed}
    if all(_value(hubspot, name) == value for name, value in payload.items()):
        row.fingerprint, row.last_synced_at = fingerprint_of(payload), timezone.now()
    row.save()


def context_for(object_sync: ObjectSync, hubspot: HubSpotClient) -> RecordContext:
    """The mappings and pipeline properties of one object sync, as the outbound writer uses them."""
    from integration.sync.engine import pipeline_properties  # the engine imports this module's siblings

    return RecordContext(
        object_sync=object_sync,
        mappings=list(object_sync.mappings.all()),
        extra_properties=pipeline_properties(object_sync, hubspot),
    )
