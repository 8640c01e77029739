"""Workflow-action executions: run one against the app, settle its outcome, complete it, read it back.

`workflow_action_run` is what `POST /_fake/portals/{hub}/workflow-actions/run` and the record pages call; the
rules of sending and reading the app's answer are in `execution.py`, the completion API's HTTP side in
`callbacks.py`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sandbox.hubspot import clock
from sandbox.hubspot.models import WorkflowExecution
from sandbox.hubspot.workflows import execution
from sandbox.hubspot.workflows.execution import RunError, RunRequest

RECENT_LIMIT = 50
EARLY_COMPLETION_DROPPED = "a completion arrived before the app's answer, which did not block; it was ignored"


def workflow_action_run(run: RunRequest) -> dict[str, Any]:
    """Run action `run.uid` for a record as HubSpot would; the execution as `execution_describe` shows it.

    Raises RunError (404/400) when the portal, action, record or a required input is missing; the app is then
    not called. The answer comes after the app's last answer (retries included).
    """
    if not 1 <= run.concurrent <= execution.MAX_CONCURRENT:
        raise RunError(400, f"concurrent must be from 1 to {execution.MAX_CONCURRENT}")
    row = execution.definition_for_run(run)
    inputs = execution.check_inputs(row, run.input_fields)
    started = execution.execution_start(run, row, inputs)
    body = execution.execution_body(started, row)
    copies = execution.send_copies(row.component["config"]["actionUrl"], body, run.concurrent)
    return execution_describe(_settle(started.pk, copies))


def _settle(pk: int, copies: list[execution.Copy]) -> WorkflowExecution:
    """Store the attempts and the first copy's outcome; apply a completion that came early to a BLOCK."""
    outcome = execution.outcome_of(copies[0])
    now = clock.now()
    with transaction.atomic():
        found = WorkflowExecution.objects.select_for_update().get(pk=pk)
        found.attempts = found.attempts + [attempt for copy in copies for attempt in copy.attempts]
        found.state, found.output_fields = outcome.state, outcome.output_fields
        found.failure_reason = outcome.failure_reason
        found.finished_at = None if outcome.state == WorkflowExecution.BLOCKED else now
        found.expires_at = now + outcome.expires_in if outcome.expires_in else None
        early, found.early_completion = found.early_completion, None
        if early is not None and outcome.state == WorkflowExecution.BLOCKED:
            _apply_completion(found, early)
        elif early is not None:
            found.failure_reason = "; ".join(filter(None, [found.failure_reason, EARLY_COMPLETION_DROPPED]))
        found.save()
    return found


def _apply_completion(found: WorkflowExecution, completion: dict[str, Any]) -> None:
    outputs = completion["outputFields"]
    found.state = execution.EXECUTION_STATES[outputs["hs_execution_state"]]
    found.output_fields = {**found.output_fields, **outputs}
    found.failure_reason = (
        execution.failure_reason(outputs, completion.get("failureReasonType") or "")
        if found.state == WorkflowExecution.FAILED
        else ""
    )
    found.finished_at, found.expires_at = clock.now(), None


def expire_if_due(found: WorkflowExecution) -> WorkflowExecution:
    """A BLOCKED execution whose `hs_expiration_duration` ran out (fake clock) fails, as HubSpot's would."""
    if found.state == WorkflowExecution.BLOCKED and found.expires_at and found.expires_at <= clock.now():
        updated = WorkflowExecution.objects.filter(pk=found.pk, state=WorkflowExecution.BLOCKED).update(
            state=WorkflowExecution.FAILED,
            failure_reason="expired: the app did not complete the callback in time",
            finished_at=found.expires_at,
        )
        if updated:
            found.refresh_from_db()
    return found


class CompletionError(Exception):
    """A completion HubSpot refuses: 404 unknown callback (or another portal's), 400 not waiting for one."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _completable(hub_id: int, callback_id: str) -> WorkflowExecution:
    """The portal's execution `callback_id`, locked; CompletionError unless it is waiting for a completion."""
    found = WorkflowExecution.objects.select_for_update().filter(callback_id=callback_id, hub_id=hub_id).first()
    if found is None:
        raise CompletionError(404, f"No callback found with id {callback_id}")
    expire_if_due(found)
    if found.state == WorkflowExecution.RUNNING and found.early_completion is None:
        return found
    if found.state != WorkflowExecution.BLOCKED:
        raise CompletionError(
            400, f"Callback {callback_id} cannot be completed: it is {found.state}, not waiting for completion"
        )
    return found


def callbacks_complete(hub_id: int, completions: list[dict[str, Any]]) -> None:
    """Complete the portal's blocked executions, all or none (bodies already validated by `callbacks.py`).

    A completion for an execution whose first answer is still on its way is kept and applied when the app
    answers BLOCK. Raises CompletionError.
    """
    with transaction.atomic():
        rows = [(_completable(hub_id, item["callbackId"]), item) for item in completions]
        ids = [found.callback_id for found, _ in rows]
        if len(set(ids)) != len(ids):
            raise CompletionError(400, "The same callbackId appears more than once")
        for found, item in rows:
            if found.state == WorkflowExecution.RUNNING:
                found.early_completion = item
            else:
                _apply_completion(found, item)
            found.save()


def execution_get(hub_id: int, callback_id: str) -> WorkflowExecution | None:
    """The portal's execution `callback_id` (expired if due), or None."""
    found = WorkflowExecution.objects.filter(hub_id=hub_id, callback_id=callback_id).select_related("definition")
    row = found.first()
    return expire_if_due(row) if row else None


def executions_recent(
    hub_id: int, *, object_type: str | None = None, object_id: int | None = None, limit: int = RECENT_LIMIT
) -> list[dict[str, Any]]:
    """The portal's latest executions, newest first (optionally of one record)."""
    rows = WorkflowExecution.objects.filter(hub_id=hub_id).select_related("definition").order_by("-pk")
    if object_type is not None:
        rows = rows.filter(object_type=object_type, object_id=object_id)
    return [execution_describe(expire_if_due(row)) for row in rows[:limit]]


def execution_describe(found: WorkflowExecution) -> dict[str, Any]:
    """An execution as the control endpoints answer it."""
    return {
        "callbackId": found.callback_id,
        "state": found.state,
        "outputFields": found.output_fields,
        "failureReason": found.failure_reason or None,
        "attempts": found.attempts,
        "uid": found.definition.uid,
        "actionDefinitionId": found.definition.definition_id,
        "actionDefinitionVersion": found.definition_version,
        "workflowId": found.workflow_id,
        "portalId": found.hub_id,
        "objectType": found.object_type,
        "objectId": str(found.object_id),
        "inputFields": found.input_fields,
        "expiresAt": clock.iso(found.expires_at) if found.expires_at else None,
        "createdAt": clock.iso(found.created_at),
        "finishedAt": clock.iso(found.finished_at) if found.finished_at else None,
    }
