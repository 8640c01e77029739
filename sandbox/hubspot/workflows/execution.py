"""Running a custom workflow action against the app, as HubSpot's workflows engine does, and its outcome.

Rules (hubspot-api.md §7.2, §8.2; https://developers.hubspot.com/docs/api-reference/automation-actions-v4-v4/
custom-action-guide and https://developers.hubspot.com/docs/api/error-handling):
- HubSpot POSTs `{"callbackId", "origin": {"portalId", "actionDefinitionId", "actionDefinitionVersion"},
  "context": {"source": "WORKFLOWS", "workflowId"}, "object": {"objectId", "objectType"}, "inputFields"}` to the
  action's `actionUrl`, signed with v3 (`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`) and v2
  (`X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v2`; the custom-action guide names v2).
- The app answers `{"outputFields": {…}}`; `hs_execution_state` SUCCESS (or absent) succeeds, FAIL_CONTINUE fails
  the action (the workflow continues), BLOCK parks it until the app calls the completion API (`callbacks.py`) or
  `hs_expiration_duration` (ISO 8601, default one week **[recalled]**) runs out.
- A 429 is retried after `Retry-After`, in **milliseconds** here; 5xx, dropped connections and answers slower than
  the timeout are retried with exponential backoff (HubSpot: starting at a minute and for up to three days
  **[recalled]**); any other 4xx is final. Every retry carries the same `callbackId`.

The fake runs synchronously: `workflow_action_run` returns after the app's last answer, so the control endpoint and
the pages can show the outcome. Its retries are therefore bounded (`max_attempts()`) and compressed
(`retry_base_seconds()`): settings `SANDBOX_WORKFLOW_ACTIONS_MAX_ATTEMPTS` (5),
`SANDBOX_WORKFLOW_ACTIONS_RETRY_BASE_SECONDS` (1.0), `SANDBOX_WORKFLOW_ACTIONS_TIMEOUT_SECONDS` (20,
**[unverified]** HubSpot's figure) and `SANDBOX_WORKFLOW_ACTIONS_MAX_WAIT_SECONDS` (60, the cap on one wait,
`Retry-After` included). Threads that send make no database calls; the execution row is committed before the
first request, so the app may complete a blocked callback at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_duration

from sandbox.hubspot import clock, signatures, state
from sandbox.hubspot.models import Portal, WorkflowActionDefinition, WorkflowExecution
from sandbox.hubspot.workflows import definitions
from sandbox.hubspot_crm import registry
from sandbox.hubspot_crm.models import CrmObject

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 1.0
TIMEOUT_SECONDS = 20.0
MAX_WAIT_SECONDS = 60.0
MAX_CONCURRENT = 10
DEFAULT_EXPIRATION = timedelta(days=7)  # [recalled] "one week" when the app sends no hs_expiration_duration
BODY_EXCERPT = 2000
USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - automation-actions"  # [unverified]
# The workflow object type names the fake can enrol: the CRM types it models.
OBJECT_TYPE_NAMES = {spec.singular.upper(): spec.type_id for spec in registry.OBJECT_TYPES.values()}
EXECUTION_STATES = {"SUCCESS": WorkflowExecution.SUCCEEDED, "FAIL_CONTINUE": WorkflowExecution.FAILED}
# Where the fake reads a failure's reason: the completion's `failureReasonType`, else these output fields.
FAILURE_REASON_FIELDS = ("hs_default_error", "errorCode", "errorMessage")


class RunError(ValueError):
    """A run the fake refuses before calling the app (no portal, no action, no record, missing input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def max_attempts() -> int:
    """Requests per copy before giving up: setting SANDBOX_WORKFLOW_ACTIONS_MAX_ATTEMPTS, else MAX_ATTEMPTS."""
    return int(getattr(settings, "SANDBOX_WORKFLOW_ACTIONS_MAX_ATTEMPTS", MAX_ATTEMPTS))


def retry_base_seconds() -> float:
    """The first backoff: setting SANDBOX_WORKFLOW_ACTIONS_RETRY_BASE_SECONDS, else RETRY_BASE_SECONDS."""
    return float(getattr(settings, "SANDBOX_WORKFLOW_ACTIONS_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS))


def timeout_seconds() -> float:
    """How long the app may take: setting SANDBOX_WORKFLOW_ACTIONS_TIMEOUT_SECONDS, else TIMEOUT_SECONDS."""
    return float(getattr(settings, "SANDBOX_WORKFLOW_ACTIONS_TIMEOUT_SECONDS", TIMEOUT_SECONDS))


def max_wait_seconds() -> float:
    """The longest single wait between attempts: setting SANDBOX_WORKFLOW_ACTIONS_MAX_WAIT_SECONDS."""
    return float(getattr(settings, "SANDBOX_WORKFLOW_ACTIONS_MAX_WAIT_SECONDS", MAX_WAIT_SECONDS))


@dataclass(frozen=True)
class RunRequest:
    """What `POST /_fake/portals/{hub}/workflow-actions/run` asks for."""

    hub_id: int
    uid: str
    object_type: str
    object_id: int
    input_fields: dict[str, Any]
    callback_id: str | None = None
    concurrent: int = 1
    workflow_id: int | None = None


@dataclass
class Copy:
    """One of the identical requests of a run (several with `concurrent`) and every attempt it made."""

    index: int
    attempts: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    body: bytes = b""
    error: str = ""


# -- checks --------------------------------------------------------------------------------------------


def definition_for_run(run: RunRequest) -> WorkflowActionDefinition:
    portal = Portal.objects.filter(hub_id=run.hub_id).first()
    if portal is None:
        raise RunError(404, f"no fake portal {run.hub_id}")
    if not portal.installed:
        raise RunError(400, f"the app is not installed in portal {run.hub_id}")
    row = definitions.definition_get(run.uid)
    if row is None:
        raise RunError(404, f"no deployed workflow action with uid {run.uid!r}")
    if run.object_type not in row.component["config"]["objectTypes"]:
        raise RunError(400, f"action {run.uid!r} does not enrol {run.object_type} records")
    type_id = OBJECT_TYPE_NAMES.get(run.object_type)
    live = CrmObject.objects.filter(hub_id=run.hub_id, object_type_id=type_id, object_id=run.object_id, archived=False)
    if type_id is None or not live.exists():
        raise RunError(404, f"no {run.object_type} {run.object_id} in portal {run.hub_id}")
    return row


def check_inputs(row: WorkflowActionDefinition, inputs: Any) -> dict[str, Any]:
    """The run's input values against the action's fields: known names, required ones given, option values."""
    if not isinstance(inputs, dict):
        raise RunError(400, "inputFields must be an object of input names to values")
    fields = {field["typeDefinition"]["name"]: field for field in row.component["config"]["inputFields"]}
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        raise RunError(400, f"action {row.uid!r} has no input field(s) {', '.join(unknown)}")
    for name, spec in fields.items():
        value = inputs.get(name)
        if value is None or value == "":
            if spec["isRequired"]:
                raise RunError(400, f"inputFields.{name} is required by action {row.uid!r}")
            continue
        if isinstance(value, dict | list):
            raise RunError(400, f"inputFields.{name} must be a single value")
        options = [option["value"] for option in spec["typeDefinition"].get("options") or []]
        if options and str(value) not in options:
            raise RunError(400, f"inputFields.{name} must be one of {', '.join(options)}, not {value!r}")
    return {name: value for name, value in inputs.items() if value is not None and value != ""}


# -- the execution row ---------------------------------------------------------------------------------


def _workflow_id(hub_id: int, uid: str) -> int:
    """A stable fake workflow id per portal and action (the fake has no workflows of its own)."""
    digest = hashlib.sha256(f"{hub_id}|{uid}".encode()).digest()
    return 100_000_000 + int.from_bytes(digest[:4], "big") % 900_000_000


def new_callback_id() -> str:
    """`ap-{appId}-{executionId}-{step}-0`, the shape of HubSpot's ids **[unverified]**."""
    return f"ap-{state.app_id()}-{10_000_000_000 + secrets.randbelow(90_000_000_000)}-1-0"


def execution_start(run: RunRequest, row: WorkflowActionDefinition, inputs: dict[str, Any]) -> WorkflowExecution:
    """Create the execution (or take up an existing callbackId, as HubSpot's retry) in state RUNNING."""
    with transaction.atomic():
        execution = None
        if run.callback_id:
            execution = WorkflowExecution.objects.select_for_update().filter(callback_id=run.callback_id).first()
        if execution is None:
            execution = WorkflowExecution(
                callback_id=run.callback_id or new_callback_id(),
                hub_id=run.hub_id,
                definition=row,
                workflow_id=run.workflow_id or _workflow_id(run.hub_id, row.uid),
                created_at=clock.now(),
            )
        elif (execution.hub_id, execution.definition_id, execution.object_type, execution.object_id) != (
            run.hub_id,
            row.pk,
            run.object_type,
            run.object_id,
        ):
            raise RunError(400, f"callbackId {run.callback_id} belongs to another execution")
        execution.definition_version = row.version
        execution.object_type, execution.object_id, execution.input_fields = run.object_type, run.object_id, inputs
        execution.state, execution.expires_at, execution.finished_at = WorkflowExecution.RUNNING, None, None
        execution.early_completion = None
        execution.save()
    return execution


def execution_body(execution: WorkflowExecution, row: WorkflowActionDefinition) -> bytes:
    """The request body HubSpot sends to `actionUrl`, compact JSON."""
    body = {
        "callbackId": execution.callback_id,
        "origin": {
            "portalId": execution.hub_id,
            "actionDefinitionId": row.definition_id,
            "actionDefinitionVersion": execution.definition_version,
        },
        "context": {"source": "WORKFLOWS", "workflowId": execution.workflow_id},
        "object": {"objectId": execution.object_id, "objectType": execution.object_type},
        "inputFields": execution.input_fields,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


# -- sending -------------------------------------------------------------------------------------------


def _headers(url: str, body: bytes, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signatures.signed_request_headers(
            client_secret=secret, method="POST", url=url, body=body, legacy_version="v2"
        ),
    }


def _excerpt(raw: bytes) -> Any:
    """An answer's body for the attempt list: parsed JSON when it is JSON, else text (cut)."""
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text[:BODY_EXCERPT]


def _attempt(copy: Copy, url: str, body: bytes, secret: str, timeout: float) -> dict[str, Any]:
    """One signed POST (fresh timestamp); what happened, as listed in `attempts`."""
    started = time.monotonic()
    copy.status, copy.body, copy.error = None, b"", ""
    try:
        response = requests.post(url, data=body, headers=_headers(url, body, secret), timeout=timeout)
    except requests.Timeout:
        copy.error = f"no answer within {timeout:g} s"
        retry_after = None
    except requests.RequestException as exc:
        copy.error = f"connection error: {type(exc).__name__}"
        retry_after = None
    else:
        copy.status, copy.body = response.status_code, response.content
        retry_after = response.headers.get("Retry-After")
        if time.monotonic() - started > timeout:
            copy.error = f"answered after more than {timeout:g} s"
    attempt = {
        "copy": copy.index,
        "attempt": len(copy.attempts) + 1,
        "status": copy.status,
        "body": _excerpt(copy.body),
        "error": copy.error or None,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    if retry_after is not None:
        attempt["retryAfter"] = retry_after
    copy.attempts.append(attempt)
    return attempt


def _wait_before_retry(copy: Copy, attempt: dict[str, Any]) -> float | None:
    """Seconds to wait before the next attempt, or None when HubSpot would not retry this answer."""
    status = copy.status
    if status is not None and not copy.error and status < 500 and status != 429:
        return None  # an answer in time that is 2xx, 3xx or a 4xx other than 429: final
    backoff = retry_base_seconds() * 2 ** (len(copy.attempts) - 1)
    if status == 429 and str(attempt.get("retryAfter", "")).isdigit():
        backoff = int(attempt["retryAfter"]) / 1000  # milliseconds, for workflow actions
    return min(backoff, max_wait_seconds())


def _deliver(copy: Copy, url: str, body: bytes, secret: str, timeout: float) -> Copy:
    for number in range(1, max_attempts() + 1):
        attempt = _attempt(copy, url, body, secret, timeout)
        wait = _wait_before_retry(copy, attempt)
        if wait is None or number == max_attempts():
            break
        time.sleep(wait)
    return copy


def send_copies(url: str, body: bytes, count: int) -> list[Copy]:
    """`count` identical deliveries at the same time, each retrying on its own."""
    secret, timeout = settings.HUBSPOT_CLIENT_SECRET, timeout_seconds()
    copies = [Copy(index) for index in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(lambda copy: _deliver(copy, url, body, secret, timeout), copies))
    return copies


# -- outcome -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the app's last answer (of the first copy) means for the execution."""

    state: str
    output_fields: dict[str, Any] = field(default_factory=dict)
    failure_reason: str = ""
    expires_in: timedelta | None = None


def failure_reason(output_fields: dict[str, Any], reason_type: str = "") -> str:
    """The reason shown for a FAILED execution (see FAILURE_REASON_FIELDS)."""
    if reason_type:
        return reason_type
    for name in FAILURE_REASON_FIELDS:
        if output_fields.get(name):
            return str(output_fields[name])
    return ""


def _unanswered(copy: Copy) -> Outcome:
    tries = f"{len(copy.attempts)} attempt(s)"
    if copy.status is None:
        return Outcome(WorkflowExecution.ERROR, failure_reason=f"{copy.error} ({tries})")
    if copy.error:
        return Outcome(WorkflowExecution.ERROR, failure_reason=f"the app {copy.error} ({tries})")
    if copy.status == 429 or copy.status >= 500:
        return Outcome(WorkflowExecution.ERROR, failure_reason=f"the app answered {copy.status} ({tries})")
    return Outcome(WorkflowExecution.ERROR, failure_reason=f"the app answered {copy.status}; HubSpot does not retry it")


def outcome_of(copy: Copy) -> Outcome:
    """Read the first copy's final answer as HubSpot would."""
    if copy.status is None or copy.error or not 200 <= copy.status < 300:
        return _unanswered(copy)
    if not copy.body.strip():
        return Outcome(WorkflowExecution.SUCCEEDED)
    try:
        data = json.loads(copy.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return Outcome(WorkflowExecution.ERROR, failure_reason="the app's answer is not JSON")
    outputs = data.get("outputFields", {}) if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        return Outcome(WorkflowExecution.ERROR, failure_reason="the app's answer has no outputFields object")
    execution_state = outputs.get("hs_execution_state", "SUCCESS")
    if execution_state == "BLOCK":
        return _blocked(outputs)
    if execution_state not in EXECUTION_STATES:
        return Outcome(WorkflowExecution.ERROR, outputs, f"unknown hs_execution_state {execution_state!r}")
    found = EXECUTION_STATES[execution_state]
    reason = failure_reason(outputs) if found == WorkflowExecution.FAILED else ""
    return Outcome(found, outputs, reason)


def _blocked(outputs: dict[str, Any]) -> Outcome:
    raw = outputs.get("hs_expiration_duration")
    duration = DEFAULT_EXPIRATION if raw is None else parse_duration(str(raw)) if str(raw).startswith("P") else None
    if duration is None or duration <= timedelta(0):
        return Outcome(WorkflowExecution.ERROR, outputs, f"hs_expiration_duration {raw!r} is not an ISO 8601 duration")
    return Outcome(WorkflowExecution.BLOCKED, outputs, expires_in=duration)
