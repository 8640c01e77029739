"""Lazily created state: the alias table, each portal's state row, and the defaults of each hub x object type.

Everything here is idempotent and safe when two requests race: rows are inserted with `ON CONFLICT DO
NOTHING` (`bulk_create(ignore_conflicts=True)`) against the models' unique constraints, then read back.
Lazy rather than migration-seeded because test runs flush tables between tests.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sandbox.hubspot_crm import clock, errors, registry
from sandbox.hubspot_crm.models import (
    ObjectTypeAlias,
    Pipeline,
    PipelineStage,
    PortalState,
    PropertyDefinition,
    PropertyGroup,
    SeedMarker,
)
from sandbox.hubspot_crm.registry import ObjectTypeSpec, PropertySpec


def ensure_aliases() -> None:
    """Fill the alias table from the registry (no-op when it is complete)."""
    wanted = registry.aliases()
    if ObjectTypeAlias.objects.count() >= len(wanted):
        return
    rows = [ObjectTypeAlias(alias=alias, object_type_id=type_id) for alias, type_id in wanted.items()]
    ObjectTypeAlias.objects.bulk_create(rows, ignore_conflicts=True)


# The alias table is filled from the registry alone (`ensure_aliases`), so a spelling the registry knows is
# answered without asking the table; the table still answers any other (and fills itself on a miss).
_REGISTRY_ALIASES = registry.aliases()


def resolve_type(alias: str) -> ObjectTypeSpec:
    """The object type named `alias` in a URL (`companies`, `company`, `0-2`), or 400 if unknown."""
    if alias in _REGISTRY_ALIASES:
        return registry.OBJECT_TYPES[_REGISTRY_ALIASES[alias]]
    row = ObjectTypeAlias.objects.filter(alias=alias).first()
    if row is None:
        ensure_aliases()
        row = ObjectTypeAlias.objects.filter(alias=alias).first()
    if row is None or row.object_type_id not in registry.OBJECT_TYPES:
        raise errors.unknown_object_type(alias)
    return registry.OBJECT_TYPES[row.object_type_id]


def portal_state(hub_id: int) -> PortalState:
    """The portal's CRM state row, created on first use."""
    state = PortalState.objects.filter(hub_id=hub_id).first()
    if state is None:
        PortalState.objects.bulk_create([PortalState(hub_id=hub_id)], ignore_conflicts=True)
        state = PortalState.objects.get(hub_id=hub_id)
    return state


def lock_portal(hub_id: int) -> PortalState:
    """Serialise writes to one portal's CRM for the rest of the current transaction.

    Every write service takes this lock first, so id allocation, unique-value checks, the one-parent rule
    for line items and the ten-unique-properties limit never interleave (and cannot deadlock). The unique
    constraint on `UniqueValue` remains the last line of defence.
    """
    # The row exists after a portal's first write: lock it straight away, and create it only when it is missing.
    locked = PortalState.objects.select_for_update().filter(hub_id=hub_id).first()
    if locked is not None:
        return locked
    portal_state(hub_id)
    return PortalState.objects.select_for_update().get(hub_id=hub_id)


def ensure_seeded(hub_id: int, spec: ObjectTypeSpec) -> None:
    """Create the default groups, properties and pipelines of `spec` in the portal (once)."""
    if SeedMarker.objects.filter(hub_id=hub_id, object_type_id=spec.type_id).exists():
        return
    with transaction.atomic():
        _seed_groups(hub_id, spec)
        _seed_properties(hub_id, spec)
        _seed_pipelines(hub_id, spec.type_id)
        SeedMarker.objects.bulk_create([SeedMarker(hub_id=hub_id, object_type_id=spec.type_id)], ignore_conflicts=True)


def _seed_groups(hub_id: int, spec: ObjectTypeSpec) -> None:
    name, label = spec.group
    group = PropertyGroup(
        hub_id=hub_id, object_type_id=spec.type_id, name=name, label=label, display_order=0, hubspot_defined=True
    )
    PropertyGroup.objects.bulk_create([group], ignore_conflicts=True)


def option_label(value: str) -> str:
    """The label HubSpot shows for one of its option values: "monthly" → "Monthly", codes such as SEK as they are."""
    if value in registry.OPTION_LABELS:
        return registry.OPTION_LABELS[value]
    return value if value.isupper() else value.replace("_", " ").capitalize()


def seed_options(prop: PropertySpec) -> list[dict[str, Any]]:
    """Option objects of a HubSpot-defined property (bool properties get Yes/No)."""
    booleans = [("Yes", "true"), ("No", "false")]
    pairs = booleans if prop.type == "bool" else [(option_label(v), v) for v in prop.options]
    return [
        {"label": label, "value": value, "displayOrder": order, "hidden": False}
        for order, (label, value) in enumerate(pairs)
    ]


def _seed_properties(hub_id: int, spec: ObjectTypeSpec) -> None:
    stamp = clock.now()
    rows = [
        PropertyDefinition(
            hub_id=hub_id,
            object_type_id=spec.type_id,
            name=prop.name,
            label=prop.label,
            type=prop.type,
            field_type=prop.field_type,
            group_name=spec.group[0],
            options=seed_options(prop),
            display_order=order,
            has_unique_value=prop.has_unique_value,
            calculated=prop.calculated,
            hubspot_defined=True,
            read_only_value=prop.read_only,
            read_only_definition=True,
            archivable=False,
            created_at=stamp,
            updated_at=stamp,
        )
        for order, prop in enumerate(spec.properties)
    ]
    PropertyDefinition.objects.bulk_create(rows, ignore_conflicts=True)


def _seed_pipelines(hub_id: int, type_id: str) -> None:
    epoch = clock.from_ms(0)  # "The default pipelines will have createdAt = 0" (crm-pipelines.json)
    for order, pipeline_spec in enumerate(registry.default_pipelines(hub_id, type_id)):
        Pipeline.objects.bulk_create(
            [
                Pipeline(
                    hub_id=hub_id,
                    object_type_id=type_id,
                    pipeline_id=pipeline_spec.pipeline_id,
                    label=pipeline_spec.label,
                    display_order=order,
                    created_at=epoch,
                    updated_at=epoch,
                )
            ],
            ignore_conflicts=True,
        )
        pipeline = Pipeline.objects.get(hub_id=hub_id, object_type_id=type_id, pipeline_id=pipeline_spec.pipeline_id)
        stages = [
            PipelineStage(
                pipeline=pipeline,
                stage_id=stage_id,
                label=label,
                display_order=index,
                metadata=metadata,
                created_at=epoch,
                updated_at=epoch,
            )
            for index, (stage_id, label, metadata) in enumerate(pipeline_spec.stages)
        ]
        PipelineStage.objects.bulk_create(stages, ignore_conflicts=True)
