"""Custom workflow actions (DESIGN §5): receiving HubSpot's execution requests, running each exactly once, and
completing it through HubSpot's callback-completion API.

Receiving (`workflow_execution_receive`, while HubSpot waits): the request is stored first, unique per portal and
`callbackId`, so a redelivery is answered from the stored row. What can be decided without an API call (unknown or
disconnected portal, no Kleer credentials, a Pro action on the Free plan, an input HubSpot users can fix) fails at
once; everything else answers BLOCK and a worker runs it (`workflow_execution_run`).

Running: the enrolled record, its company and line items are read from HubSpot; a Kleer id already on the record
means the record exists and nothing is created; otherwise the execution claims the record (one claim per record
and Kleer type, a unique constraint) and records its intent (`reference`, sent as the new record's `foreign-id`)
before Kleer is called, so a retry after a crash finds the Kleer record instead of creating a second. The new id
is written back to HubSpot, the object's normal sync is queued so the record shows up at once, and the outcome goes
to HubSpot (SUCCESS, or FAIL_CONTINUE with the reason the workflow history shows).

Execution request and answers: hubspot-api.md §8.2; https://developers.hubspot.com/docs/api-reference/
automation-actions-v4-v4/custom-action-guide; completion: hubspot-openapi-2026-03/automation-actions.json.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integration.catalog import Plan, workflow_actions
from integration.catalog.workflow_actions import EXECUTION_STATE, WorkflowAction
from integration.clients.errors import PermanentError, TransientError
from integration.clients.hubspot import HubSpotClient
from integration.clients.kleer import KleerClient
from integration.models import HubSpotInstallation, Portal, WorkflowExecution
from integration.services import workflow_records as records
from integration.services.workflow_inputs import ActionFailed, inputs_validate

logger = logging.getLogger("integration.workflow_actions")

# HubSpot holds a blocked execution until it is completed or this ISO-8601 duration passes (hubspot-api.md §8.2).
EXPIRATION = "P1D"
BLOCK = {EXECUTION_STATE: "BLOCK", "hs_expiration_duration": EXPIRATION}
OBJECT_TYPES = {"COMPANY": "company", "DEAL": "deal"}
MAX_ID = 50
# How long a worker waits for a concurrent execution of the same record before retrying later instead.
HOLDER_WAIT_SECONDS = 15.0
State = WorkflowExecution.State


class MalformedRequest(ValueError):
    """The body is not a workflow-action execution request; nothing is stored."""


class Busy(TransientError):
    """Another execution is creating the same Kleer record right now: try again once it has finished."""


@dataclass(frozen=True)
class ExecutionRequest:
    """The fields of HubSpot's execution request that the product reads."""

    callback_id: str
    hub_id: int
    object_type: str
    object_id: str
    workflow_id: str
    input_fields: Mapping[str, Any]


def _id_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise MalformedRequest(f"{what} is missing or not an id")
    text = str(value).strip()
    if len(text) > MAX_ID * 5 or "\x00" in text:
        raise MalformedRequest(f"{what} is not a valid id")
    return text


def request_parse(body: Any) -> ExecutionRequest:
    """HubSpot's execution request (`callbackId`, `origin.portalId`, `object`, `inputFields`); MalformedRequest
    for anything else."""
    if not isinstance(body, Mapping):
        raise MalformedRequest("the body must be a JSON object")
    origin, obj, context = body.get("origin"), body.get("object"), body.get("context") or {}
    inputs = body.get("inputFields", {})
    if not isinstance(origin, Mapping) or not isinstance(obj, Mapping) or not isinstance(context, Mapping):
        raise MalformedRequest("origin and object must be JSON objects")
    if not isinstance(inputs, Mapping):
        raise MalformedRequest("inputFields must be a JSON object")
    hub_id = _id_text(origin.get("portalId"), "origin.portalId")
    object_id = _id_text(obj.get("objectId"), "object.objectId")
    if not hub_id.isdigit() or len(hub_id) > 18 or not object_id.isdigit() or len(object_id) > MAX_ID:
        raise MalformedRequest("origin.portalId and object.objectId must be numbers")
    return ExecutionRequest(
        callback_id=_id_text(body.get("callbackId"), "callbackId"),
        hub_id=int(hub_id),
        object_type=str(obj.get("objectType") or "").upper()[:20],
        object_id=object_id,
        workflow_id=str(context.get("workflowId") or "")[:MAX_ID],
        input_fields=dict(inputs),
    )


# -- answers ------------------------------------------------------------------------------------------------------


def output_fields(execution: WorkflowExecution) -> dict[str, str]:
    """What HubSpot gets for an execution: BLOCK while it runs, else its outcome (all values are strings)."""
    if not execution.finished:
        return dict(BLOCK)
    state = "SUCCESS" if execution.state == State.SUCCEEDED else "FAIL_CONTINUE"
    fields = {EXECUTION_STATE: state, "outcome": execution.outcome}
    if execution.kleer_id:
        fields["kleer_id"] = execution.kleer_id
    if execution.state == State.FAILED:
        fields["failure_reason"] = execution.reason  # declared output: later workflow steps can branch on it
        # What the workflow history shows for the failure [unverified name; the fake HubSpot reads it too].
        fields["hs_default_error"] = execution.reason
    return fields


# -- receiving ----------------------------------------------------------------------------------------------------


def _portal_blocker(action: WorkflowAction, portal: Portal | None) -> str:
    if portal is None:
        return "This HubSpot portal has not installed the Kleer app."
    installation = getattr(portal, "installation", None)
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return "The Kleer app is not connected to this HubSpot portal; reconnect it from the app's settings."
    if not hasattr(portal, "kleer_credentials"):
        return "Kleer is not connected: enter the Kleer company id and API key in the app's settings."
    if action.plan == Plan.PRO and portal.plan != Plan.PRO:
        return f'"{action.name}" needs the Pro plan; this portal is on the Free plan.'
    if portal.status == Portal.Status.PAUSED:
        return "The Kleer integration is paused for this portal."
    return ""


def _blocker(action: WorkflowAction, portal: Portal | None, request: ExecutionRequest) -> str:
    reason = _portal_blocker(action, portal)
    if reason:
        return reason
    if request.object_type != action.object_type:
        wanted = OBJECT_TYPES[action.object_type]
        return f'"{action.name}" runs on {wanted} records; this workflow enrolled a {request.object_type.lower()}.'
    try:
        inputs_validate(action=action, raw=request.input_fields)
    except ActionFailed as exc:
        return str(exc)
    return ""


def _stored_inputs(request: ExecutionRequest) -> dict[str, str]:
    """The inputs as received, for support: short strings only (inputs carry no secrets)."""
    items = list(request.input_fields.items())[:100]
    return {str(k)[:100]: str(v)[:500] for k, v in items if v is not None and not isinstance(v, dict | list)}


def workflow_execution_receive(*, action: WorkflowAction, request: ExecutionRequest) -> dict[str, Any]:
    """Store an execution request (or find the stored one for a redelivered `callbackId`) and answer it: a failure
    at once when it cannot succeed, else BLOCK with the work queued after commit."""
    existing = WorkflowExecution.objects.filter(hub_id=request.hub_id, callback_id=request.callback_id).first()
    if existing is not None:
        if not existing.finished:
            # HubSpot repeats a request it got no answer to (our 5xx, a timeout): the work may never have been
            # queued. Queuing it again is safe: a running execution is leased, a finished one only completes.
            _enqueue(existing.pk)
        return {"outputFields": output_fields(existing)}
    portal = Portal.objects.select_related("installation", "kleer_credentials").filter(hub_id=request.hub_id).first()
    reason = _blocker(action, portal, request)
    execution = WorkflowExecution(
        portal=portal, hub_id=request.hub_id, callback_id=request.callback_id, action=action.key,
        object_type=request.object_type, object_id=request.object_id, workflow_id=request.workflow_id,
        inputs=_stored_inputs(request),
    )  # fmt: skip
    if reason:
        now = timezone.now()
        execution.state, execution.outcome, execution.reason = State.FAILED, "failed", reason
        execution.finished_at = execution.completed_at = now  # this answer is the outcome: nothing to complete
    try:
        with transaction.atomic():
            execution.save()
            if not reason:
                transaction.on_commit(lambda: _enqueue(execution.pk))
    except IntegrityError:  # the same callbackId delivered twice at once: the other request stored it
        execution = WorkflowExecution.objects.get(hub_id=request.hub_id, callback_id=request.callback_id)
    logger.info("workflow action %s for %s %s: %s", action.key, request.hub_id, request.object_id, execution.state)
    return {"outputFields": output_fields(execution)}


def _enqueue(execution_id: int) -> None:
    from integration.tasks import workflow_execution_run  # tasks import services; enqueueing is this one call

    workflow_execution_run.delay(execution_id)


# -- running ------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One attempt at an execution: its row, action, checked inputs and the two API clients."""

    execution: WorkflowExecution
    action: WorkflowAction
    inputs: dict[str, str]
    kleer: KleerClient
    hubspot: HubSpotClient
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def portal(self) -> Portal:
        return self.execution.portal  # type: ignore[return-value]


@dataclass(frozen=True)
class Outcome:
    outcome: str
    kleer_id: str
    message: str


def _load(execution_id: int) -> WorkflowExecution:
    return WorkflowExecution.objects.select_related("portal", "portal__installation", "portal__kleer_credentials").get(
        pk=execution_id
    )


def workflow_execution_run(*, execution_id: int, final_attempt: bool = True) -> WorkflowExecution:
    """Run one queued execution (safe to repeat: a finished one is only completed again if HubSpot has not
    acknowledged it) and send its outcome to HubSpot.

    Transient Kleer or HubSpot errors (5xx, 423, 429, timeouts) and a concurrent execution of the same record are
    raised for the task to retry with backoff, unless `final_attempt`: then the execution fails with the reason."""
    execution = _load(execution_id)
    if not execution.finished and _lease(execution):
        try:
            execution.refresh_from_db()  # what a worker that held the lease before us recorded
            _attempt(execution, final_attempt)
        finally:
            WorkflowExecution.objects.filter(pk=execution.pk).update(leased_until=None)
    if execution.completed_at is None:
        _complete(execution)
    return execution


def _lease(execution: WorkflowExecution) -> bool:
    """Take the unfinished execution for this worker (True). False when another worker finished it meanwhile;
    Busy when another worker runs it now (a task delivered twice)."""
    now = timezone.now()
    taken = (
        WorkflowExecution.objects.filter(pk=execution.pk)
        .exclude(state__in=[State.SUCCEEDED, State.FAILED])
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))
    )
    if taken:
        return True
    execution.refresh_from_db()
    if execution.finished:
        return False
    raise Busy("this execution is already running on another worker", service="Kleer")


def _attempt(execution: WorkflowExecution, final_attempt: bool) -> None:
    from integration.services.sync import clients_for

    action = workflow_actions.get(execution.action)
    WorkflowExecution.objects.filter(pk=execution.pk).update(attempts=execution.attempts + 1)
    execution.attempts += 1
    try:
        blocker = _portal_blocker(action, execution.portal)
        if blocker:
            raise ActionFailed(blocker)
        kleer, hubspot = clients_for(execution.portal)  # type: ignore[arg-type]
        run = Run(execution, action, inputs_validate(action=action, raw=execution.inputs), kleer, hubspot)
        outcome = RUNNERS[action.key](run)
    except ActionFailed as exc:
        _finish(execution, State.FAILED, "failed", str(exc))
    except TransientError as exc:
        if not final_attempt:
            raise
        _finish(execution, State.FAILED, "failed", f"Kleer or HubSpot did not answer after several tries: {exc}")
    except PermanentError as exc:
        _finish(execution, State.FAILED, "failed", f"{exc.service} refused it: {exc.message}")
    else:
        _finish(execution, State.SUCCEEDED, outcome.outcome, outcome.message, kleer_id=outcome.kleer_id)
        records.record_push(portal=execution.portal, object_type=action.kleer_object)  # type: ignore[arg-type]


def _finish(execution: WorkflowExecution, state: str, outcome: str, reason: str, *, kleer_id: str = "") -> None:
    execution.state, execution.outcome, execution.reason = state, outcome, reason[:5000]
    execution.kleer_id = kleer_id or execution.kleer_id
    execution.finished_at = timezone.now()
    # A failure before the intent was recorded leaves nothing in Kleer: the record is free for the next execution.
    # After it, the claim stays, so the next execution takes it over and looks the record up first.
    if state == State.FAILED and not execution.reference:
        execution.claim = None
    execution.save(update_fields=["state", "outcome", "reason", "kleer_id", "finished_at", "claim", "updated_at"])
    logger.info("workflow execution %s %s: %s", execution.pk, state, reason)


def _complete(execution: WorkflowExecution) -> None:
    """Send the outcome through HubSpot's callback-completion API (transient errors raise for a retry)."""
    portal = execution.portal
    if portal is None or getattr(portal, "installation", None) is None:
        return
    hubspot = HubSpotClient(installation=portal.installation)
    try:
        hubspot.callback_complete(execution.callback_id, output_fields(execution))
    except PermanentError as exc:
        # HubSpot no longer waits for it (expired, or already completed): nothing more can be sent.
        logger.warning("HubSpot refused the completion of workflow execution %s: %s", execution.pk, exc)
        return
    execution.completed_at = timezone.now()
    execution.save(update_fields=["completed_at", "updated_at"])


# -- exactly once ---------------------------------------------------------------------------------------------------


def _claim_key(execution: WorkflowExecution, action: WorkflowAction) -> str:
    return f"{action.hubspot_object}:{execution.object_id}:{action.kleer_object}"


def _take_over(execution: WorkflowExecution, holder: WorkflowExecution, key: str) -> None:
    """A failed holder whose Kleer write may have happened: its intent moves here, so the lookup finds the
    record it may have created."""
    WorkflowExecution.objects.filter(pk=holder.pk).update(claim=None)
    execution.reference, execution.intent = holder.reference, holder.intent
    execution.claim = key
    execution.save(update_fields=["reference", "intent", "claim", "updated_at"])


def claim_record(execution: WorkflowExecution, action: WorkflowAction) -> WorkflowExecution | None:
    """Make this execution the only one that may create the record's Kleer object; None when it is, else the
    execution that holds the claim (succeeded: the record exists; still running: try again later)."""
    key = _claim_key(execution, action)
    if execution.claim == key:
        return None
    with transaction.atomic():
        holder = WorkflowExecution.objects.select_for_update().filter(portal_id=execution.portal_id, claim=key).first()
        if holder is not None and holder.state != State.FAILED:
            return holder
        try:
            with transaction.atomic():
                if holder is not None:
                    _take_over(execution, holder, key)
                else:
                    WorkflowExecution.objects.filter(pk=execution.pk).update(claim=key)
                    execution.claim = key
        except IntegrityError:  # another execution claimed it between our read and our write
            return WorkflowExecution.objects.get(portal_id=execution.portal_id, claim=key)
    return None


def _wait_for(holder: WorkflowExecution) -> WorkflowExecution:
    """Give a concurrent execution of the same record a few seconds to finish (its Kleer create usually takes
    well under a second), so this one can answer with what it created instead of being retried minutes later."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while not holder.finished and time.monotonic() < deadline:
        time.sleep(0.25)
        holder.refresh_from_db(fields=["state", "kleer_id"])
    return holder


def create_once(
    run: Run, *, existing: str, build: Callable[[], dict[str, Any]], find: Callable[[Run], str | None]
) -> Outcome:
    """Create the action's Kleer record exactly once for the enrolled record, write its id back, and say so.

    `existing` is the Kleer id already on the record; `build` makes the Kleer body (ActionFailed for bad data);
    `find` looks the record up in Kleer by the intent of an earlier attempt."""
    action, execution = run.action, run.execution
    noun = records.NOUNS[action.kleer_object]
    if existing:
        message = f"Kleer {noun} {existing} already exists for this record ({action.write_back}); nothing was created."
        return Outcome("exists", existing, message)
    body = build()
    holder = claim_record(execution, action)
    if holder is not None and not holder.finished:
        holder = _wait_for(holder)
    if holder is not None and holder.state == State.SUCCEEDED:
        message = f"Kleer {noun} {holder.kleer_id} was already created for this record by an earlier execution."
        return Outcome("exists", holder.kleer_id, message + " Nothing was created.")
    if holder is not None:
        raise Busy(f"another execution is creating the Kleer {noun} for this record", service="Kleer")
    kleer_id = execution.kleer_id or (find(run) if execution.reference else None) or _kleer_create(run, body)
    if not execution.kleer_id:
        execution.kleer_id = kleer_id
        execution.save(update_fields=["kleer_id", "updated_at"])
    records.write_back(run=run, kleer_id=kleer_id)
    return Outcome("created", kleer_id, f"Created Kleer {noun} {kleer_id}.")


def _kleer_create(run: Run, body: dict[str, Any]) -> str:
    """Record the intent (committed), then create; the id is stored at once by the caller."""
    execution = run.execution
    execution.reference = execution.reference or f"hubspot-wf-{uuid.uuid4().hex[:24]}"
    execution.state = State.WRITING
    execution.save(update_fields=["reference", "intent", "state", "updated_at"])
    kind = run.action.kleer_object
    if kind != "projects":  # client projects have no foreign-id (kleer-api.md §2.7): found by the intent instead
        body = {**body, "foreign-id": execution.reference}
    return run.kleer.create(records.KLEER_PATHS[kind], body)


RUNNERS: dict[str, Callable[[Run], Outcome]] = {}


def runner(key: str) -> Callable[[Callable[[Run], Outcome]], Callable[[Run], Outcome]]:
    def register(function: Callable[[Run], Outcome]) -> Callable[[Run], Outcome]:
        RUNNERS[key] = function
        return function

    return register


# The seven runners register themselves in RUNNERS (they use the helpers above).
from integration.services import workflow_runners  # noqa: E402, F401
