"""Pipelines and stages (read-only): `/crm/v3/pipelines/{type}` and `/crm/pipelines/{YYYY-MM}/{type}`.

Shapes: crm-pipelines.json (`Pipeline`, `PipelineStage`); deals and projects have pipelines (hubspot-api.md
§5.2, §10.1). Reading needs a read or schema-read scope of the object type.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import hubspot_api
from sandbox.hubspot_crm import access, clock, errors
from sandbox.hubspot_crm.http import not_allowed, respond
from sandbox.hubspot_crm.models import Pipeline, PipelineStage
from sandbox.hubspot_crm.registry import ObjectTypeSpec


def stage_json(stage: PipelineStage) -> dict[str, Any]:
    """`PipelineStage`."""
    data = {
        "id": stage.stage_id,
        "label": stage.label,
        "displayOrder": stage.display_order,
        "metadata": stage.metadata,
        "createdAt": clock.iso(stage.created_at),
        "updatedAt": clock.iso(stage.updated_at),
        "archived": stage.archived,
        "writePermissions": stage.write_permissions,
    }
    return data


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    """`Pipeline` with its live stages in display order."""
    stages = sorted((s for s in pipeline.stages.all() if not s.archived), key=lambda s: s.display_order)
    return {
        "id": pipeline.pipeline_id,
        "label": pipeline.label,
        "displayOrder": pipeline.display_order,
        "stages": [stage_json(stage) for stage in stages],
        "createdAt": clock.iso(pipeline.created_at),
        "updatedAt": clock.iso(pipeline.updated_at),
        "archived": pipeline.archived,
    }


def _spec(request: HttpRequest, object_type: str) -> ObjectTypeSpec:
    if request.method != "GET":
        raise not_allowed(request)
    spec = access.authorise(request, object_type, "pipelines")
    if spec.pipeline_properties is None:
        raise errors.validation(f"Object type {spec.type_id} has no pipelines")
    return spec


def _pipeline(request: HttpRequest, spec: ObjectTypeSpec, pipeline_id: str) -> Pipeline:
    hub_id = request.hs.hub_id  # type: ignore[attr-defined]
    row = Pipeline.objects.filter(hub_id=hub_id, object_type_id=spec.type_id, pipeline_id=pipeline_id, archived=False)
    pipeline = row.prefetch_related("stages").first()
    if pipeline is None:
        raise errors.not_found(f"Pipeline {pipeline_id} does not exist")
    return pipeline


@hubspot_api()
def pipelines(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """GET: every pipeline of the type with its stages."""
    spec = _spec(request, object_type)
    rows = Pipeline.objects.filter(hub_id=request.hs.hub_id, object_type_id=spec.type_id, archived=False)  # type: ignore[attr-defined]
    rows = rows.prefetch_related("stages").order_by("display_order", "label")
    return respond({"results": [pipeline_json(pipeline) for pipeline in rows]})


@hubspot_api()
def pipeline_item(request: HttpRequest, object_type: str, pipeline_id: str, **_: Any) -> HttpResponse:
    """GET one pipeline."""
    spec = _spec(request, object_type)
    return respond(pipeline_json(_pipeline(request, spec, pipeline_id)))


@hubspot_api()
def stages(request: HttpRequest, object_type: str, pipeline_id: str, **_: Any) -> HttpResponse:
    """GET the stages of a pipeline."""
    spec = _spec(request, object_type)
    pipeline = _pipeline(request, spec, pipeline_id)
    return respond({"results": pipeline_json(pipeline)["stages"]})


@hubspot_api()
def stage_item(request: HttpRequest, object_type: str, pipeline_id: str, stage_id: str, **_: Any) -> HttpResponse:
    """GET one stage of a pipeline."""
    spec = _spec(request, object_type)
    pipeline = _pipeline(request, spec, pipeline_id)
    stage = next((s for s in pipeline.stages.all() if s.stage_id == stage_id and not s.archived), None)
    if stage is None:
        raise errors.not_found(f"Stage {stage_id} does not exist in pipeline {pipeline_id}")
    return respond(stage_json(stage))
