"""Ensure a portal's HubSpot schema before writing (DESIGN §4 step 2).

On the target object: the "Kleer" property group, the unique `kleer_id` property every upsert is keyed
on, `kleer_deleted` for records gone from Kleer, and every custom `kleer_…` property a mapping writes.
A mapped standard property that does not exist is a configuration error for the whole object, reported
once instead of failing every record. The check is cached on ObjectSync.schema_checked_at and re-done
after a mapping changes or HubSpot reports PROPERTY_DOESNT_EXIST. Creating a property that already
exists answers 409, which counts as success, so two workers ensuring at once both succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.db.models import Max
from django.utils import timezone

from integration import catalog
from integration.clients.errors import PermanentError
from integration.clients.hubspot import FEATURE_NOT_ENABLED, HubSpotClient
from integration.models import FieldMapping, ObjectSync
from integration.services.hubspot_properties import properties_cache_store
from integration.sync.threads import in_pool, side_by_side

logger = logging.getLogger("integration.sync")

KLEER_DELETED = catalog.PropertyDefinition(
    name="kleer_deleted",
    label="Deleted in Kleer",
    type="bool",
    field_type="booleancheckbox",
    options=(catalog.Option("true", "Yes"), catalog.Option("false", "No")),
    description="Set when the Kleer record this record mirrors was deleted.",
)


class SchemaError(PermanentError):
    """The portal's HubSpot schema cannot hold what the mappings write."""

    def __init__(self, message: str) -> None:
        super().__init__(message, service="HubSpot", category="SCHEMA")


def schema_is_current(object_sync: ObjectSync) -> bool:
    checked = object_sync.schema_checked_at
    if checked is None:
        return False
    last_change = object_sync.mappings.aggregate(latest=Max("updated_at"))["latest"]
    return last_change is None or last_change <= checked


def _definitions(object_sync: ObjectSync, mappings: Sequence[FieldMapping]) -> list[catalog.PropertyDefinition]:
    spec = object_sync.spec
    wanted = [catalog.base.KLEER_ID_DEFINITION, KLEER_DELETED]
    for mapping in mappings:
        if catalog.is_custom_property(mapping.hubspot_property):
            wanted.append(spec.property_definition(mapping.hubspot_property, mapping.kleer_field or None))
    return wanted


def _properties(object_sync: ObjectSync, hubspot: HubSpotClient) -> list[dict]:
    """The target's properties; a portal without the target's feature gets a message saying what to do."""
    try:
        return hubspot.properties(object_sync.hubspot_object)
    except PermanentError as exc:
        if exc.category != FEATURE_NOT_ENABLED:
            raise
        raise SchemaError(object_sync.spec.target_unavailable_message(object_sync.hubspot_object)) from exc


def _group_create(hubspot: HubSpotClient, target: str) -> None:
    hubspot.property_group_create(target, name=catalog.PROPERTY_GROUP, label=catalog.PROPERTY_GROUP_LABEL)


def schemas_ensure(*, object_syncs: Sequence[ObjectSync], hubspot: HubSpotClient) -> None:
    """Ensure the schema of several objects of one portal at once (a whole-portal sync, e.g. the first one): their
    reads and creations overlap instead of taking three round trips per object in turn, one object after the
    other. A failure is left to that object's own run, which ensures again and records the error where the
    customer sees it."""

    def one(object_sync: ObjectSync) -> None:
        try:
            schema_ensure(object_sync=object_sync, mappings=list(object_sync.mappings.all()), hubspot=hubspot)
        except Exception as exc:  # best effort ahead of the runs: the object's own run ensures again and records it
            logger.info("schema of %s not ensured ahead of its run: %s", object_sync.object_type, exc)

    stale = [o for o in object_syncs if not schema_is_current(o)]
    side_by_side(one, stale, workers=len(stale), name="hubspot-schemas")


def schema_ensure(
    *, object_sync: ObjectSync, mappings: Sequence[FieldMapping], hubspot: HubSpotClient, force: bool = False
) -> None:
    """Create what is missing on the target object; raise SchemaError for what cannot be fixed here."""
    if not force and schema_is_current(object_sync):
        return
    target = object_sync.hubspot_object
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hubspot-group") as pool:
        # The group is made while the properties are read: one round trip less before the first write (a schema
        # is ensured when it is new or its mappings changed, mostly to create something; an existing group
        # answers 409, which is success).
        group = in_pool(pool, _group_create, hubspot, target)
        existing = {p["name"]: p for p in _properties(object_sync, hubspot)}
        group.result()
    missing_definitions = [d for d in _definitions(object_sync, mappings) if d.name not in existing]
    if missing_definitions:
        # One batch call for all of them (a property a racing worker created meanwhile is read as it is).
        created = hubspot.properties_create(target, [d.as_payload() for d in missing_definitions])
        existing.update((d.name, answer) for d, answer in zip(missing_definitions, created, strict=True))
        # The mapping dialog and the tab's default checks read the cached list: refresh it with what exists now.
        properties_cache_store(object_sync=object_sync, raw=existing.values())
    if not existing[catalog.KLEER_ID_PROPERTY].get("hasUniqueValue"):
        raise SchemaError(
            f"The HubSpot property kleer_id on {target} exists but is not unique; the sync needs it unique "
            "to upsert without duplicates. Delete it in HubSpot and sync again."
        )
    missing = sorted({m.hubspot_property for m in mappings} - set(existing))
    if missing:
        raise SchemaError(f"{target} have no property {', '.join(missing)}; fix or delete those mappings.")
    ObjectSync.objects.filter(pk=object_sync.pk).update(schema_checked_at=timezone.now())
    object_sync.schema_checked_at = timezone.now()
