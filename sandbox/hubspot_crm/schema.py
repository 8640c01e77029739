"""The property schema of one object type in one portal, loaded once per request.

Pipeline and stage properties (`pipeline`/`dealstage` on deals, `hs_pipeline`/`hs_pipeline_stage` on
projects) are enumerations whose options are the portal's pipelines and stages, as in HubSpot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists

from sandbox.hubspot_crm import seed
from sandbox.hubspot_crm.models import Pipeline, PropertyDefinition, SeedMarker
from sandbox.hubspot_crm.registry import ObjectTypeSpec


@dataclass
class Schema:
    """Live (non-archived) property definitions and pipelines of `spec` in portal `hub_id`."""

    hub_id: int
    spec: ObjectTypeSpec
    props: dict[str, PropertyDefinition]
    # pipeline id -> (label, [(stage id, stage label), ...]) in display order
    pipelines: dict[str, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)

    @property
    def type_id(self) -> str:
        """The canonical object type id."""
        return self.spec.type_id

    def unique_names(self) -> list[str]:
        """Names of the live properties with `hasUniqueValue`."""
        return [name for name, prop in self.props.items() if prop.has_unique_value]

    def options(self, prop: PropertyDefinition) -> list[dict[str, Any]]:
        """The property's options, computed from pipelines for pipeline and stage properties."""
        pair = self.spec.pipeline_properties
        if pair and prop.name == pair[0]:
            return _options((pid, label) for pid, (label, _) in self.pipelines.items())
        if pair and prop.name == pair[1]:
            return _options(stage for _, stages in self.pipelines.values() for stage in stages)
        return list(prop.options)

    def option_values(self, prop: PropertyDefinition) -> list[str]:
        """The values a write may use for an enumeration property."""
        return [option["value"] for option in self.options(prop)]

    def stages_of(self, pipeline_id: str) -> list[str] | None:
        """Stage ids of a pipeline, or None when the pipeline does not exist."""
        entry = self.pipelines.get(pipeline_id)
        return None if entry is None else [stage_id for stage_id, _ in entry[1]]


def _options(pairs: Any) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": order, "hidden": False}
        for order, (value, label) in enumerate(pairs)
    ]


def load(hub_id: int, spec: ObjectTypeSpec) -> Schema:
    """Read the schema of `spec` in `hub_id` (the caller has seeded it)."""
    live = PropertyDefinition.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, archived=False)
    return _with_pipelines(hub_id, spec, live)


def load_seeded(hub_id: int, spec: ObjectTypeSpec) -> Schema:
    """`seed.ensure_seeded`, then `load`: in one query when the defaults exist (every property row carries
    whether the type's seed marker exists)."""
    marker = SeedMarker.objects.filter(hub_id=hub_id, object_type_id=spec.type_id)
    rows = list(
        PropertyDefinition.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, archived=False).annotate(
            seeded=Exists(marker)
        )
    )
    if not rows or not rows[0].seeded:
        seed.ensure_seeded(hub_id, spec)
        return load(hub_id, spec)
    return _with_pipelines(hub_id, spec, rows)


def _with_pipelines(hub_id: int, spec: ObjectTypeSpec, rows: Iterable[PropertyDefinition]) -> Schema:
    """The schema of the live property `rows`, with the portal's pipelines when the type has them."""
    props = {prop.name: prop for prop in rows}
    schema = Schema(hub_id=hub_id, spec=spec, props=props)
    if spec.pipeline_properties:
        pipelines = (
            Pipeline.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, archived=False)
            .prefetch_related("stages")
            .order_by("display_order", "label")
        )
        for pipeline in pipelines:
            stages = sorted((s for s in pipeline.stages.all() if not s.archived), key=lambda s: s.display_order)
            schema.pipelines[pipeline.pipeline_id] = (pipeline.label, [(s.stage_id, s.label) for s in stages])
    return schema
