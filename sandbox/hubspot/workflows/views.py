"""Control endpoints of the fake's workflow actions (`/sandbox/hubspot/_fake/…`; JSON, no CSRF, no auth):

- `GET/PUT /apps/workflow-actions`: the app's action definitions (PUT `{"components": [...]}` = `hs project upload`
  of the `workflow-actions/*-hsmeta.json` files; 400 names the invalid field).
- `POST /portals/{hub}/workflow-actions/run`: run an action for a record as a workflow would; answers the execution
  after the app's last answer.
- `GET /portals/{hub}/workflow-actions/executions[/{callbackId}]`: recent executions / one, in their current state.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot.control import ControlError, control
from sandbox.hubspot.workflows import definitions, runs
from sandbox.hubspot.workflows.execution import RunError, RunRequest


@control("GET", "PUT")
def app_workflow_actions(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """GET: the deployed actions. PUT `{"components": [...]}`: replace them (validated first)."""
    if request.method == "PUT":
        if "components" not in data:
            raise ControlError(400, 'send {"components": [<workflow-action *-hsmeta.json>, ...]}')
        found = definitions.workflow_actions_deploy(data["components"])
    else:
        found = definitions.definitions()
    return JsonResponse({"definitions": found})


def _run_request(hub_id: int, data: dict[str, Any]) -> RunRequest:
    for name in ("uid", "objectType"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ControlError(400, f"{name} is required")
    object_id, callback_id = str(data.get("objectId", "")), data.get("callbackId")
    if not object_id.isdigit():
        raise ControlError(400, "objectId must be a record id")
    if callback_id is not None and (not isinstance(callback_id, str) or not callback_id):
        raise ControlError(400, "callbackId must be a non-empty string")
    numbers = {name: data.get(name) for name in ("concurrent", "workflowId")}
    for name, value in numbers.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ControlError(400, f"{name} must be a positive integer")
    return RunRequest(
        hub_id=hub_id,
        uid=data["uid"],
        object_type=data["objectType"],
        object_id=int(object_id),
        input_fields=data.get("inputFields", {}),
        callback_id=callback_id,
        concurrent=numbers["concurrent"] or 1,
        workflow_id=numbers["workflowId"],
    )


@control("POST")
def run(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """POST `{uid, objectType, objectId, inputFields, callbackId?, concurrent?, workflowId?}`."""
    try:
        return JsonResponse(runs.workflow_action_run(_run_request(hub_id, data)))
    except RunError as exc:
        raise ControlError(exc.status, str(exc)) from None


@control("GET")
def executions(request: HttpRequest, data: dict[str, Any], hub_id: int) -> HttpResponse:
    """GET: the portal's recent executions, newest first."""
    return JsonResponse({"executions": runs.executions_recent(hub_id)})


@control("GET")
def execution(request: HttpRequest, data: dict[str, Any], hub_id: int, callback_id: str) -> HttpResponse:
    """GET: one execution in its current state."""
    found = runs.execution_get(hub_id, callback_id)
    if found is None:
        raise ControlError(404, f"no execution {callback_id} in portal {hub_id}")
    return JsonResponse(runs.execution_describe(found))
