"""The record page's workflow parts: a "Run workflow action" panel on deals and companies, and "Mark won" on deals.

The panel lists the app's deployed actions that enrol the record's type (`sandbox.hubspot.workflows`), with a form
for each action's input fields; submitting it runs the action against the app as a HubSpot workflow would (signed
request, retries) and shows the outcome: state, output fields, failure reason. "Mark won" moves the deal to its
pipeline's closed-won stage as a HubSpot user edit (`user_edits.deal_mark_won`), which is what a sales team's
"deal won" workflow would enrol on. Both are POST forms with CSRF, answered post/redirect/get.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot.workflows import definitions, runs
from sandbox.hubspot.workflows.execution import RunError, RunRequest
from sandbox.hubspot_crm import user_edits
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.registry import ObjectTypeSpec

# The record types the panel appears on (the app's actions enrol deals and companies).
PANEL_TYPES = ("deal", "company")
RECENT_ON_PAGE = 5
INPUT_PREFIX = "input_"


def _field(field: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    definition = field["typeDefinition"]
    name = definition["name"]
    option_labels = labels.get("inputFieldOptionLabels", {}).get(name, {})
    return {
        "name": name,
        "input_name": INPUT_PREFIX + name,
        "label": labels.get("inputFieldLabels", {}).get(name, name),
        "type": definition["type"],
        "widget": _widget(definition),
        "required": field["isRequired"],
        "options": [
            (option["value"], option_labels.get(option["value"], option["label"]))
            for option in definition.get("options") or []
        ],
    }


def _widget(definition: dict[str, Any]) -> str:
    """The HTML control for a field: select for options and booleans, date, number, else text."""
    if definition.get("options") or definition["type"] == "enumeration":
        return "select"
    return {"bool": "bool", "date": "date", "number": "number"}.get(definition["type"], "text")


def _actions(object_type: str) -> list[dict[str, Any]]:
    actions = []
    for item in definitions.definitions(object_type=object_type):
        config = item["component"]["config"]
        labels = config["labels"]["en"]
        actions.append(
            {
                "uid": item["uid"],
                "name": labels["actionName"],
                "description": labels.get("actionDescription", ""),
                "fields": [_field(field, labels) for field in config["inputFields"]],
            }
        )
    return actions


def panel(request: HttpRequest, hub_id: int, spec: ObjectTypeSpec, obj: CrmObject) -> dict[str, Any] | None:
    """The workflow panel's context for the record page, or None on types without one."""
    if spec.singular not in PANEL_TYPES or obj.archived:
        return None
    object_type = spec.singular.upper()
    shown = request.GET.get("callback", "")
    result = runs.execution_get(hub_id, shown) if shown else None
    return {
        "actions": _actions(object_type),
        "result": runs.execution_describe(result) if result else None,
        "recent": runs.executions_recent(hub_id, object_type=object_type, object_id=obj.object_id)[:RECENT_ON_PAGE],
        "run_url": reverse("hubspot_crm_pages_workflow_run", args=[hub_id, spec.name, obj.object_id]),
        "mark_won_url": (
            reverse("hubspot_crm_pages_mark_won", args=[hub_id, obj.object_id]) if spec.singular == "deal" else ""
        ),
        "won": spec.singular == "deal" and obj.properties.get("dealstage") == _won_stage(hub_id, obj),
    }


def _won_stage(hub_id: int, obj: CrmObject) -> str | None:
    return user_edits.closed_won_stage(hub_id, obj.properties.get("pipeline") or "default")


def _record_url(hub_id: int, spec_name: str, object_id: int, **query: str) -> str:
    url = reverse("hubspot_crm_pages_record", args=[hub_id, spec_name, object_id])
    return f"{url}?{urlencode(query)}#workflow-actions" if query else url


@require_POST
def workflow_run(request: HttpRequest, hub_id: int, object_type: str, object_id: int) -> HttpResponse:
    """Run the chosen action for this record with the submitted inputs; back to the page showing the outcome."""
    from sandbox.hubspot_crm.views.pages import record_page, resolve_spec

    spec = resolve_spec(object_type)
    inputs = {
        key.removeprefix(INPUT_PREFIX): value
        for key, value in request.POST.items()
        if key.startswith(INPUT_PREFIX) and value != ""
    }
    run = RunRequest(
        hub_id=hub_id,
        uid=request.POST.get("uid", ""),
        object_type=spec.singular.upper(),
        object_id=object_id,
        input_fields=inputs,
    )
    try:
        result = runs.workflow_action_run(run)
    except RunError as exc:
        return record_page(request, hub_id, spec, object_id, workflow_error=_("Not run: %(reason)s") % {"reason": exc})
    return redirect(_record_url(hub_id, spec.name, object_id, callback=result["callbackId"]))


@require_POST
def mark_won(request: HttpRequest, hub_id: int, object_id: int) -> HttpResponse:
    """Move the deal to its pipeline's closed-won stage as a HubSpot user."""
    from sandbox.hubspot_crm.views.pages import record_page, resolve_spec

    try:
        user_edits.deal_mark_won(hub_id, object_id)
    except HubSpotError as exc:
        error = _("Not marked won: %(reason)s") % {"reason": exc.message}
        return record_page(request, hub_id, resolve_spec("deals"), object_id, workflow_error=error)
    return redirect(_record_url(hub_id, "deals", object_id, edited="dealstage"))
