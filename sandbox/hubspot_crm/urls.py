"""URLs of the fake HubSpot CRM, mounted at `/sandbox/hubspot/` (next to the OAuth half in sandbox.hubspot).

Every API route is served on the legacy path (`/crm/v3/...`, `/crm/v4/...`) and on the date-versioned path
(`/crm/{objects,properties,associations,pipelines}/{YYYY-MM}/...`, version `\\d{4}-\\d{2}(-beta)?`) by the same
view, as hubspot-api.md §0 and §10 recommend. Date-versioned routes get `dated=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path, re_path

from sandbox.hubspot_crm.views import (
    associations,
    batch,
    control,
    objects,
    pages,
    pipelines,
    properties,
    search,
    workflow_pages,
)

VERSION = r"\d{4}-\d{2}(?:-beta)?"
SEG = r"[^/]+"


def both(legacy: str, dated: str, suffix: str, view: Callable[..., Any], name: str) -> list[URLPattern]:
    """The legacy and the date-versioned route of one endpoint."""
    tail = f"/{suffix}" if suffix else ""
    return [
        re_path(rf"^{legacy}{tail}$", view, {"dated": False}, name=f"hubspot_crm_{name}"),
        re_path(rf"^{dated}/{VERSION}{tail}$", view, {"dated": True}, name=f"hubspot_crm_{name}_dated"),
    ]


T = rf"(?P<object_type>{SEG})"
FROM, TO = rf"(?P<from_type>{SEG})/(?P<from_id>{SEG})", rf"(?P<to_type>{SEG})"
TO_ID = rf"(?P<to_id>{SEG})"

object_routes = [
    *both("crm/v3/objects", "crm/objects", f"{T}/search", search.search_view, "search"),
    *both("crm/v3/objects", "crm/objects", rf"{T}/batch/(?P<action>{SEG})", batch.batch, "batch"),
    *both("crm/v3/objects", "crm/objects", f"{T}/merge", objects.merge, "merge"),
    *both("crm/v3/objects", "crm/objects", rf"{T}/(?P<object_id>{SEG})", objects.item, "object"),
    *both("crm/v3/objects", "crm/objects", T, objects.collection, "objects"),
    # The projects spec also spells its legacy path /crm/objects/v3/projects (hubspot-api.md §2.1).
    re_path(
        r"^crm/objects/v3/(?P<object_type>projects|0-970)/search$",
        search.search_view,
        name="hubspot_crm_projects_search",
    ),
    re_path(
        r"^crm/objects/v3/(?P<object_type>projects|0-970)/batch/(?P<action>[^/]+)$",
        batch.batch,
        name="hubspot_crm_projects_batch",
    ),
    re_path(
        r"^crm/objects/v3/(?P<object_type>projects|0-970)/(?P<object_id>[^/]+)$",
        objects.item,
        name="hubspot_crm_projects_object",
    ),
    re_path(r"^crm/objects/v3/(?P<object_type>projects|0-970)$", objects.collection, name="hubspot_crm_projects"),
]

association_routes = [
    *both(
        "crm/v4/objects",
        "crm/objects",
        f"{FROM}/associations/default/{TO}/{TO_ID}",
        associations.default_single,
        "assoc_default",
    ),
    *both("crm/v4/objects", "crm/objects", f"{FROM}/associations/{TO}/{TO_ID}", associations.pair, "assoc_pair"),
    *both("crm/v4/objects", "crm/objects", f"{FROM}/associations/{TO}", associations.list_view, "assoc_list"),
    *both(
        "crm/v4/associations",
        "crm/associations",
        rf"(?P<from_type>{SEG})/{TO}/batch/(?P<action>associate/default|labels/archive|{SEG})",
        associations.batch,
        "assoc_batch",
    ),
    *both(
        "crm/v4/associations",
        "crm/associations",
        rf"(?P<from_type>{SEG})/{TO}/labels",
        associations.labels,
        "assoc_labels",
    ),
]

property_routes = [
    *both(
        "crm/v3/properties",
        "crm/properties",
        rf"{T}/batch/(?P<action>{SEG})",
        properties.properties_batch,
        "prop_batch",
    ),
    *both("crm/v3/properties", "crm/properties", f"{T}/groups", properties.groups, "prop_groups"),
    *both("crm/v3/properties", "crm/properties", rf"{T}/groups/(?P<name>{SEG})", properties.group_item, "prop_group"),
    *both("crm/v3/properties", "crm/properties", rf"{T}/(?P<name>{SEG})", properties.property_item, "property"),
    *both("crm/v3/properties", "crm/properties", T, properties.properties, "properties"),
]

P = rf"{T}/(?P<pipeline_id>{SEG})"
pipeline_routes = [
    *both("crm/v3/pipelines", "crm/pipelines", rf"{P}/stages/(?P<stage_id>{SEG})", pipelines.stage_item, "stage"),
    *both("crm/v3/pipelines", "crm/pipelines", f"{P}/stages", pipelines.stages, "stages"),
    *both("crm/v3/pipelines", "crm/pipelines", P, pipelines.pipeline_item, "pipeline"),
    *both("crm/v3/pipelines", "crm/pipelines", T, pipelines.pipelines, "pipelines"),
]

page_routes = [
    path("_pages/", pages.portals, name="hubspot_crm_pages_portals"),
    path("_pages/<int:hub_id>/<str:object_type>/", pages.records, name="hubspot_crm_pages_records"),
    path("_pages/<int:hub_id>/<str:object_type>/<int:object_id>/", pages.record, name="hubspot_crm_pages_record"),
    path(
        "_pages/<int:hub_id>/<str:object_type>/<int:object_id>/workflow-actions/run",
        workflow_pages.workflow_run,
        name="hubspot_crm_pages_workflow_run",
    ),
    path(
        "_pages/<int:hub_id>/deals/<int:object_id>/mark-won", workflow_pages.mark_won, name="hubspot_crm_pages_mark_won"
    ),
]

control_routes = [
    path("_fake/crm/<int:hub_id>/search-lag", control.search_lag, name="hubspot_crm_fake_search_lag"),
    path("_fake/crm/<int:hub_id>/search-index/flush", control.flush_index, name="hubspot_crm_fake_flush"),
    path("_fake/crm/<int:hub_id>/reset", control.reset, name="hubspot_crm_fake_reset"),
    path("_fake/portals/<int:hub_id>/user-edit", control.user_edit, name="hubspot_crm_fake_user_edit"),
]

urlpatterns = [
    *object_routes,
    *association_routes,
    *property_routes,
    *pipeline_routes,
    *page_routes,
    *control_routes,
]
