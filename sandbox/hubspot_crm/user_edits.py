"""Edits a HubSpot user makes to a record in HubSpot's UI: the other half of two-way sync.

The edit goes through the same write service and validation as the API's update (`objects.update`: unknown or
read-only property, bad option value, bad number … → HubSpot's 400, and nothing changes), records property
history with `sourceType: CRM_UI` and the user's id, and produces webhook events with `changeSource: CRM_UI`
and `sourceId: userId:<id>` (`sandbox.hubspot.webhooks.events.CHANGE_SOURCES`). Used by the control endpoint
`POST /_fake/portals/{hub_id}/user-edit` and the edit form of the browsable record page; `deal_mark_won` is
the deal page's "Mark won" button.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.models import Portal
from sandbox.hubspot.state import DEFAULT_USER_ID
from sandbox.hubspot.webhooks import events as webhook_events
from sandbox.hubspot_crm import errors, objects, registry, seed, serialize
from sandbox.hubspot_crm import schema as schema_module
from sandbox.hubspot_crm.models import PipelineStage

CRM_UI = "CRM_UI"


def user_edit(
    hub_id: int, object_type: str, object_id: Any, properties: Any, *, user_id: int = DEFAULT_USER_ID
) -> dict[str, Any]:
    """Set `properties` on record `object_id` as HubSpot user `user_id`; the record in the API's shape.

    Raises HubSpotError (400 invalid type or values, 403 feature off, 404 no such live record).
    """
    spec = seed.resolve_type(object_type)
    portal = Portal.objects.filter(hub_id=hub_id).first()
    if spec.feature and portal is not None and not portal.features.get(spec.feature, False):
        raise HubSpotError(
            403, f"The {spec.feature} feature is not enabled for portal {hub_id}.", category="FEATURE_NOT_ENABLED"
        )
    seed.ensure_seeded(hub_id, spec)
    schema = schema_module.load(hub_id, spec)
    source = objects.HistorySource(source_type=CRM_UI, user_id=user_id)
    with webhook_events.capture(hub_id, webhook_events.user_source(user_id)), transaction.atomic():
        state = seed.lock_portal(hub_id)
        obj = objects.find(schema, object_id)
        if obj is None:
            raise errors.not_found()
        obj = objects.update(schema, state, obj, properties, source=source)
        return serialize.record(obj, schema)


def closed_won_stage(hub_id: int, pipeline_id: str) -> str | None:
    """The won stage of a deal pipeline: closed (`isClosed`) with probability 1.0, as HubSpot marks it."""
    stages = PipelineStage.objects.filter(
        pipeline__hub_id=hub_id,
        pipeline__object_type_id=registry.DEALS,
        pipeline__pipeline_id=pipeline_id,
        archived=False,
    ).order_by("display_order")
    for stage in stages:
        if stage.metadata.get("isClosed") == "true" and stage.metadata.get("probability") == "1.0":
            return stage.stage_id
    return None


def deal_mark_won(hub_id: int, deal_id: Any, *, user_id: int = DEFAULT_USER_ID) -> dict[str, Any]:
    """Move a deal to the closed-won stage of its pipeline, as a HubSpot user dragging it there.

    Raises HubSpotError: 404 for no live deal, 400 when its pipeline has no won stage.
    """
    spec = seed.resolve_type("deals")
    seed.ensure_seeded(hub_id, spec)
    deal = objects.find(schema_module.load(hub_id, spec), deal_id)
    if deal is None:
        raise errors.not_found()
    pipeline_id = deal.properties.get("pipeline") or "default"
    stage = closed_won_stage(hub_id, pipeline_id)
    if stage is None:
        raise HubSpotError(400, f"Pipeline {pipeline_id} has no closed-won stage")
    return user_edit(hub_id, spec.type_id, deal_id, {"dealstage": stage}, user_id=user_id)
