"""Resolving an ambiguous match: a person picks which existing HubSpot record a Kleer record is, or asks for a new
one (the admin's record error page and the customer's object tab call this)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integration import catalog
from integration.clients.errors import ApiError
from integration.clients.hubspot import HubSpotClient
from integration.models import ObjectSync, RecordError, SyncedRecord
from integration.services.audit import Actor, audit_record
from integration.services.sync import SyncRequestError, object_sync_request_run
from integration.sync.matching import AMBIGUOUS
from integration.sync.writer import hubspot_key

logger = logging.getLogger("integration.sync")

CREATE_NEW = "new"  # the choice "none of these: create a new HubSpot record"
UNRESOLVED = (RecordError.Status.OPEN, RecordError.Status.PARKED)


class MatchResolveError(ValueError):
    """A resolution that was refused; the message is safe to show, and nothing changed."""


@dataclass(frozen=True)
class MatchResolution:
    """What a resolution did: the linked HubSpot id ("" for a new record) and whether a run was queued."""

    hubspot_id: str
    queued: bool
    message: str


def _check(record_error: RecordError, candidate_id: str) -> None:
    if record_error.category != AMBIGUOUS:
        raise MatchResolveError("This error is not an ambiguous match; there is nothing to pick.")
    if record_error.status not in UNRESOLVED:
        raise MatchResolveError("This match was already resolved.")
    if candidate_id != CREATE_NEW and candidate_id not in {str(c.get("id")) for c in record_error.candidates}:
        raise MatchResolveError(f"HubSpot record {candidate_id} is not one of this record's candidates.")


def _claim_in_hubspot(record_error: RecordError, object_sync: ObjectSync, candidate_id: str, key: str) -> None:
    """Write the record's `kleer_id` onto the chosen candidate, after checking nobody else holds it."""
    linked = SyncedRecord.objects.filter(
        portal_id=record_error.portal_id, hubspot_object=object_sync.hubspot_object, hubspot_id=candidate_id
    ).first()
    if linked is not None:
        raise MatchResolveError(
            f"HubSpot record {candidate_id} is already linked to Kleer record {linked.kleer_id}. "
            "Pick another one, or create a new record."
        )
    hubspot = HubSpotClient(installation=record_error.portal.installation, allow_sleep=False)
    try:
        found = hubspot.batch_read(object_sync.hubspot_object, [candidate_id], properties=[catalog.KLEER_ID_PROPERTY])
        held = (found[0].get("properties") or {}).get(catalog.KLEER_ID_PROPERTY) if found else None
        if not found:
            raise MatchResolveError(f"HubSpot record {candidate_id} no longer exists (deleted or merged).")
        if held and held != key:
            raise MatchResolveError(
                f"HubSpot record {candidate_id} now belongs to Kleer record {held}. Pick another one, or create "
                "a new record."
            )
        outcome = hubspot.batch_update(
            object_sync.hubspot_object, [(candidate_id, key, {catalog.KLEER_ID_PROPERTY: key})]
        )
    except ApiError as exc:
        raise MatchResolveError(f"HubSpot did not accept the link: {exc.message}") from exc
    if outcome.failed:
        raise MatchResolveError(f"HubSpot did not accept the link: {outcome.failed[0].message}")


def record_error_match_resolve(*, record_error: RecordError, candidate_id: str, actor: Actor) -> MatchResolution:
    """Link the Kleer record of an ambiguous match to `candidate_id` (one of its candidates), or to a new HubSpot
    record with `CREATE_NEW`; clear the error, audit the choice and queue the object's next run.

    Linking writes `kleer_id` onto the chosen record at once, so the next run's upsert updates it; "create new"
    stores the decision, so the next run creates the record without searching again. Refused with a clear
    message (and nothing changed) when the choice is not a candidate, the error is resolved already, or HubSpot
    says the record is gone or linked elsewhere."""
    candidate_id = str(candidate_id).strip()
    _check(record_error, candidate_id)
    object_sync = ObjectSync.objects.select_related("portal").get(
        portal_id=record_error.portal_id, object_type=record_error.object_type
    )
    key = hubspot_key(record_error.object_type, object_sync.hubspot_object, record_error.kleer_id)
    hubspot_id = "" if candidate_id == CREATE_NEW else candidate_id
    if hubspot_id:
        _claim_in_hubspot(record_error, object_sync, hubspot_id, key)
    _store(record_error, object_sync, hubspot_id)
    audit_record(
        portal=object_sync.portal,
        actor=actor,
        action="record_error.match_resolved",
        target=f"{object_sync.spec.label} {record_error.kleer_id}",
        before={"candidates": [str(c.get("id")) for c in record_error.candidates]},
        after={"hubspot_id": hubspot_id or "new record"},
    )
    return _queue(object_sync, actor, hubspot_id)


def _store(record_error: RecordError, object_sync: ObjectSync, hubspot_id: str) -> None:
    """The link (or, for a new record, the decision) and the resolved error, together."""
    with transaction.atomic():
        claimed = RecordError.objects.filter(pk=record_error.pk, status__in=UNRESOLVED).update(
            status=RecordError.Status.RESOLVED, resolved_at=timezone.now(), next_retry_at=None
        )
        if claimed != 1:
            raise MatchResolveError("This match was already resolved.")
        # An empty fingerprint makes the next run send every mapped property; a row without a HubSpot id tells
        # the matcher this record was decided, so the upsert creates it.
        SyncedRecord.objects.update_or_create(
            portal_id=record_error.portal_id,
            object_type=record_error.object_type,
            kleer_id=record_error.kleer_id,
            defaults={"hubspot_object": object_sync.hubspot_object, "hubspot_id": hubspot_id, "fingerprint": ""},
        )
    record_error.status = RecordError.Status.RESOLVED


def _queue(object_sync: ObjectSync, actor: Actor, hubspot_id: str) -> MatchResolution:
    done = f"Linked to HubSpot record {hubspot_id}." if hubspot_id else "A new HubSpot record will be created."
    try:
        object_sync_request_run(object_sync=object_sync, actor=actor, audit=False)
    except SyncRequestError as exc:
        return MatchResolution(hubspot_id, False, f"{done} No run was queued now ({exc}); the next run applies it.")
    return MatchResolution(hubspot_id, True, f"{done} A sync of {object_sync.spec.label.lower()} is queued.")
