"""Custom workflow actions in the fake HubSpot, over real HTTP: deploying definitions as `hs project upload`
validates them, running an action against a real receiving server (signatures checked independently, retries,
duplicates), and HubSpot's callback-completion API with its errors."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from sandbox.hubspot import state
from sandbox.hubspot.models import Portal, WorkflowActionDefinition
from sandbox.hubspot.workflows import workflow_actions_deploy
from sandbox.hubspot.workflows.definitions import DefinitionError
from tests.sandbox.action_receiver import Reply, action_component, assert_signed
from tests.sandbox.hubspot.conftest import COMPLETE
from tests.sandbox.hubspot.conftest import WORKFLOW_SECRET as SECRET
from tests.sandbox.hubspot_crm.conftest import make_api

BATCH = "/automation/actions/callbacks/2026-03/complete"


BLOCK = {"outputFields": {"hs_execution_state": "BLOCK", "hs_expiration_duration": "PT1H"}}
DONE = {"outputFields": {"hs_execution_state": "SUCCESS", "kleer_invoice_id": "42"}}


# -- deploying ----------------------------------------------------------------------------------------------


def test_deploy_lists_definitions_with_ids_and_keeps_them_on_reupload(wf):
    [first] = wf.hs.control("GET", "/apps/workflow-actions").json()["definitions"]
    assert (first["uid"], first["version"], first["objectTypes"], first["actionName"]) == (
        "create_invoice",
        1,
        ["DEAL"],
        "Create Kleer Invoice",
    )
    assert isinstance(first["definitionId"], int)
    changed = action_component(wf.receiver.url, object_types=("DEAL", "COMPANY"))
    other = action_component(wf.receiver.url, uid="create_client", object_types=("COMPANY",))
    listed = wf.deploy(changed, other).json()["definitions"]
    assert [(d["uid"], d["definitionId"] == first["definitionId"], d["version"]) for d in listed] == [
        ("create_invoice", True, 2),
        ("create_client", False, 1),
    ]
    assert [d["uid"] for d in workflow_actions_deploy([other])] == ["create_client"]
    assert WorkflowActionDefinition.objects.get(uid="create_invoice").archived is True


def _broken(change) -> dict[str, Any]:
    component = action_component("https://kleer.example.com/hubspot/workflow-actions/create-invoice")
    change(component)
    return component


INVALID = [
    (lambda c: c.pop("uid"), "uid is required"),
    (lambda c: c.update(type="webhooks"), 'type must be "workflow-action"'),
    (lambda c: c["config"].update(actionUrl="http://kleer.example.com/x"), "config.actionUrl must be an https URL"),
    (lambda c: c["config"].pop("isPublished"), "config.isPublished is required"),
    (lambda c: c["config"].update(supportedClients=[{"client": "CHATBOTS"}]), "supportedClients[0].client"),
    (lambda c: c["config"].update(objectTypes=["deal"]), "config.objectTypes"),
    (lambda c: c["config"]["inputFields"][0]["typeDefinition"].pop("name"), "inputFields[0].typeDefinition.name"),
    (lambda c: c["config"]["inputFields"][0]["typeDefinition"].update(type="text"), "typeDefinition.type must be"),
    (lambda c: c["config"]["inputFields"][1]["typeDefinition"].pop("options"), "options is required"),
    (lambda c: c["config"]["inputFields"][0].pop("isRequired"), "inputFields[0].isRequired is required"),
    (lambda c: c["config"]["inputFields"][0].update(supportedValueTypes=["X"]), "supportedValueTypes"),
    (lambda c: c["config"]["inputFields"].append(c["config"]["inputFields"][0]), "'invoice_date' is used twice"),
    (lambda c: c["config"]["labels"].pop("en"), "config.labels.en is required"),
    (lambda c: c["config"]["labels"]["en"].pop("actionName"), "config.labels.en.actionName is required"),
    (lambda c: c["config"]["labels"]["en"]["inputFieldLabels"].pop("currency"), "no label for: currency"),
    (lambda c: c["config"].update(colour="red"), "config has unknown field(s): colour"),
]


@pytest.mark.parametrize(("change", "message"), INVALID)
def test_deploy_refuses_an_invalid_file_naming_the_field_and_changes_nothing(wf, change, message):
    before = wf.hs.control("GET", "/apps/workflow-actions").json()
    response = wf.deploy(_broken(change))
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert wf.hs.control("GET", "/apps/workflow-actions").json() == before


def test_deploy_refuses_a_repeated_uid():
    component = action_component("https://kleer.example.com/a")
    with pytest.raises(DefinitionError, match=r"components\[1\]: uid 'create_invoice' is used by another"):
        workflow_actions_deploy([component, copy.deepcopy(component)])


# -- running -------------------------------------------------------------------------------------------------


def test_a_successful_run_sends_hubspots_signed_body_and_stores_the_outputs(wf):
    wf.receiver.reply(Reply(200, DONE))
    result = wf.ran(inputFields={"invoice_date": "2026-12-03", "currency": "EUR"})
    [received] = wf.receiver.requests
    assert_signed(received, SECRET, wf.receiver.url)
    [definition] = wf.hs.control("GET", "/apps/workflow-actions").json()["definitions"]
    assert received.json == {
        "callbackId": result["callbackId"],
        "origin": {
            "portalId": wf.api.hub_id,
            "actionDefinitionId": definition["definitionId"],
            "actionDefinitionVersion": 1,
        },
        "context": {"source": "WORKFLOWS", "workflowId": result["workflowId"]},
        "object": {"objectId": int(wf.deal_id), "objectType": "DEAL"},
        "inputFields": {"invoice_date": "2026-12-03", "currency": "EUR"},
    }
    assert (result["state"], result["outputFields"], result["failureReason"]) == (
        "SUCCEEDED",
        DONE["outputFields"],
        None,
    )
    assert [(a["status"], a["body"]) for a in result["attempts"]] == [(200, DONE)]
    assert wf.execution(result["callbackId"])["state"] == "SUCCEEDED"
    listed = wf.hs.control("GET", f"/portals/{wf.api.hub_id}/workflow-actions/executions").json()
    assert [item["callbackId"] for item in listed["executions"]] == [result["callbackId"]]


def test_fail_continue_fails_with_the_reason(wf):
    wf.receiver.reply(
        Reply(200, {"outputFields": {"hs_execution_state": "FAIL_CONTINUE", "errorCode": "NO_KLEER_CLIENT"}})
    )
    result = wf.ran()
    assert (result["state"], result["failureReason"]) == ("FAILED", "NO_KLEER_CLIENT")


def test_an_empty_200_succeeds_without_outputs(wf):
    wf.receiver.reply(Reply(200, None))
    result = wf.ran()
    assert (result["state"], result["outputFields"], result["attempts"][0]["body"]) == ("SUCCEEDED", {}, None)


def test_retries_5xx_and_429_with_the_same_callback_id(wf):
    wf.receiver.reply(Reply(503, {"message": "down"}), Reply(429, None, {"Retry-After": "50"}), Reply(200, DONE))
    result = wf.ran()
    assert [a["status"] for a in result["attempts"]] == [503, 429, 200]
    assert result["attempts"][1]["retryAfter"] == "50"
    assert {r.json["callbackId"] for r in wf.receiver.requests} == {result["callbackId"]}
    assert result["state"] == "SUCCEEDED"


def test_gives_up_after_the_last_attempt(wf, settings):
    settings.SANDBOX_WORKFLOW_ACTIONS_MAX_ATTEMPTS = 3
    wf.receiver.reply(Reply(500), Reply(502), Reply(504))
    result = wf.ran()
    assert (result["state"], result["failureReason"]) == ("ERROR", "the app answered 504 (3 attempt(s))")
    assert len(wf.receiver.requests) == 3


def test_a_400_is_not_retried(wf):
    wf.receiver.reply(Reply(400, {"message": "bad date"}))
    result = wf.ran()
    assert [(a["status"], a["body"]) for a in result["attempts"]] == [(400, {"message": "bad date"})]
    assert (result["state"], result["failureReason"]) == ("ERROR", "the app answered 400; HubSpot does not retry it")
    assert len(wf.receiver.requests) == 1


def test_a_slow_answer_is_a_timeout_and_retried(wf, settings):
    settings.SANDBOX_WORKFLOW_ACTIONS_TIMEOUT_SECONDS = 0.3
    wf.receiver.reply(Reply(200, DONE, pause=1.0), Reply(200, DONE))
    result = wf.ran()
    assert [(a["status"], a["error"]) for a in result["attempts"]] == [(None, "no answer within 0.3 s"), (200, None)]
    assert result["state"] == "SUCCEEDED"


def test_reusing_a_callback_id_is_hubspot_retrying_the_same_execution(wf):
    wf.receiver.reply(Reply(503), Reply(503), Reply(503), Reply(503), Reply(503), Reply(200, DONE))
    first = wf.ran()
    assert first["state"] == "ERROR"
    again = wf.ran(callbackId=first["callbackId"])
    assert (again["callbackId"], again["state"], len(again["attempts"])) == (first["callbackId"], "SUCCEEDED", 6)
    assert len({r.json["callbackId"] for r in wf.receiver.requests}) == 1
    assert wf.run(callbackId=first["callbackId"], objectType="COMPANY", objectId=wf.company_id).status_code == 400


def test_concurrent_duplicates_arrive_at_the_same_time(wf):
    wf.receiver.default = Reply(200, DONE, pause=0.3)
    result = wf.ran(concurrent=3)
    assert len(wf.receiver.requests) == 3
    assert {r.body for r in wf.receiver.requests} == {wf.receiver.requests[0].body}
    assert wf.receiver.max_in_flight == 3
    assert sorted(a["copy"] for a in result["attempts"]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"uid": "nope"}, 404, "no deployed workflow action with uid 'nope'"),
        ({"objectType": "COMPANY"}, 400, "does not enrol COMPANY records"),
        ({"objectId": "999999"}, 404, "no DEAL 999999"),
        ({"inputFields": {}}, 400, "inputFields.invoice_date is required"),
        ({"inputFields": {"invoice_date": "2026-01-01", "po": "1"}}, 400, "no input field(s) po"),
        ({"inputFields": {"invoice_date": "2026-01-01", "currency": "NOK"}}, 400, "must be one of SEK, EUR"),
        ({"concurrent": 0}, 400, "concurrent must be a positive integer"),
    ],
)
def test_a_run_hubspot_would_not_start_is_refused_without_calling_the_app(wf, body, status, message):
    response = wf.run(**body)
    assert (response.status_code, message in response.json()["error"]) == (status, True), response.text
    assert wf.receiver.requests == []


def test_no_run_in_a_portal_without_the_app(wf):
    assert wf.run(hub_id=99_999_999).status_code == 404
    state.portal_uninstall(portal=Portal.objects.get(hub_id=wf.api.hub_id))
    response = wf.run()
    assert (response.status_code, response.json()["error"]) == (
        400,
        f"the app is not installed in portal {wf.api.hub_id}",
    )


# -- blocking and completion ---------------------------------------------------------------------------------


def test_block_then_complete(wf):
    wf.receiver.reply(Reply(200, BLOCK))
    blocked = wf.ran()
    assert (blocked["state"], blocked["expiresAt"] is not None) == ("BLOCKED", True)
    response = wf.complete(blocked["callbackId"], DONE)
    assert (response.status_code, response.content) == (204, b"")
    done = wf.execution(blocked["callbackId"])
    assert (done["state"], done["outputFields"]["kleer_invoice_id"], done["expiresAt"]) == ("SUCCEEDED", "42", None)
    again = wf.complete(blocked["callbackId"], DONE)
    assert again.status_code == 400
    body = again.json()
    assert (body["status"], body["category"], set(body)) == (
        "error",
        "VALIDATION_ERROR",
        {"status", "message", "correlationId", "category"},
    )
    assert "SUCCEEDED, not waiting for completion" in body["message"]


@pytest.mark.parametrize(
    "path",
    [
        BATCH,
        "/automation/v4/actions/callbacks/complete",
        "/automation/actions/2026-03/callbacks/complete",
    ],
)
def test_batch_completion_with_a_failure_reason(wf, path):
    wf.receiver.reply(Reply(200, BLOCK), Reply(200, BLOCK))
    first, second = wf.ran(), wf.ran()
    failed = {"hs_execution_state": "FAIL_CONTINUE"}
    inputs = [
        {"callbackId": first["callbackId"], "outputFields": DONE["outputFields"], "typedOutputs": {}},
        {"callbackId": second["callbackId"], "outputFields": failed, "failureReasonType": "KLEER_DOWN"},
    ]
    response = wf.hs.api("POST", path, wf.api.token, json={"inputs": inputs})
    assert response.status_code == 204, response.text
    assert wf.execution(first["callbackId"])["state"] == "SUCCEEDED"
    assert (wf.execution(second["callbackId"])["state"], wf.execution(second["callbackId"])["failureReason"]) == (
        "FAILED",
        "KLEER_DOWN",
    )


@pytest.mark.parametrize(
    "path", ["/automation/v4/actions/callbacks/{}/complete", "/automation/actions/2026-03/callbacks/{}/complete"]
)
def test_single_completion_on_the_other_paths(wf, path):
    wf.receiver.reply(Reply(200, BLOCK))
    blocked = wf.ran()
    assert wf.complete(blocked["callbackId"], DONE, path=path).status_code == 204
    assert wf.execution(blocked["callbackId"])["state"] == "SUCCEEDED"


def test_a_batch_with_one_bad_callback_completes_none(wf):
    wf.receiver.reply(Reply(200, BLOCK))
    blocked = wf.ran()
    inputs = [
        {"callbackId": blocked["callbackId"], "outputFields": DONE["outputFields"]},
        {"callbackId": "ap-1-2-3-0", "outputFields": DONE["outputFields"]},
    ]
    assert wf.hs.api("POST", BATCH, wf.api.token, json={"inputs": inputs}).status_code == 404
    assert wf.execution(blocked["callbackId"])["state"] == "BLOCKED"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "outputFields is required"),
        ({"outputFields": {"hs_execution_state": "BLOCK"}}, "must be SUCCESS or FAIL_CONTINUE"),
        ({"outputFields": {"hs_execution_state": "SUCCESS", "n": 1}}, "outputFields must be an object of strings"),
        ({"outputFields": {"hs_execution_state": "SUCCESS"}, "typedOutputs": []}, "typedOutputs must be an object"),
        ({"outputFields": {"hs_execution_state": "SUCCESS"}, "extra": 1}, "unknown field(s): extra"),
        (
            {"outputFields": {"hs_execution_state": "SUCCESS"}, "requestContext": {"source": "X", "workflowId": 1}},
            'requestContext.source must be "WORKFLOWS"',
        ),
    ],
)
def test_an_invalid_completion_is_400_and_changes_nothing(wf, body, message):
    wf.receiver.reply(Reply(200, BLOCK))
    blocked = wf.ran()
    response = wf.complete(blocked["callbackId"], body)
    assert (response.status_code, response.json()["category"]) == (400, "VALIDATION_ERROR")
    assert message in response.json()["message"]
    assert wf.execution(blocked["callbackId"])["state"] == "BLOCKED"


def test_completion_errors_unknown_other_portal_auth_and_scope(wf, live_server):
    wf.receiver.reply(Reply(200, BLOCK))
    blocked = wf.ran()
    unknown = wf.complete("ap-1-2-3-0", DONE)
    assert (unknown.status_code, unknown.json()["category"]) == (404, "OBJECT_NOT_FOUND")
    other = make_api(live_server)
    assert wf.complete(blocked["callbackId"], DONE, token=other.token).status_code == 404
    assert wf.hs.api("POST", COMPLETE.format(blocked["callbackId"]), json=DONE).status_code == 401
    narrow = state.token_issue(portal=Portal.objects.get(hub_id=wf.api.hub_id), scopes=["oauth"]).token
    response = wf.complete(blocked["callbackId"], DONE, token=narrow)
    assert (response.status_code, response.json()["category"]) == (403, "MISSING_SCOPES")
    assert wf.execution(blocked["callbackId"])["state"] == "BLOCKED"


def test_a_blocked_execution_expires_on_the_fake_clock(wf):
    wf.receiver.reply(Reply(200, {"outputFields": {"hs_execution_state": "BLOCK", "hs_expiration_duration": "PT10M"}}))
    blocked = wf.ran()
    assert wf.execution(blocked["callbackId"])["state"] == "BLOCKED"
    assert wf.hs.control("POST", "/clock", {"advance_seconds": 601}).status_code == 200
    expired = wf.execution(blocked["callbackId"])
    assert (expired["state"], expired["failureReason"]) == (
        "FAILED",
        "expired: the app did not complete the callback in time",
    )
    assert wf.complete(blocked["callbackId"], DONE).status_code == 400


def test_a_completion_racing_the_block_answer_is_applied_when_it_lands(wf):
    outcome: dict[str, int] = {}

    def complete_first(body: dict[str, Any]) -> None:
        # The app finished in the background before its BLOCK answer reached HubSpot.
        thread = threading.Thread(
            target=lambda: outcome.update(status=wf.complete(body["callbackId"], DONE).status_code)
        )
        thread.start()
        thread.join()

    wf.receiver.reply(Reply(200, BLOCK, before=complete_first))
    result = wf.ran()
    assert (outcome["status"], result["state"], result["outputFields"]["kleer_invoice_id"]) == (204, "SUCCEEDED", "42")


def test_an_invalid_expiration_is_an_error(wf):
    wf.receiver.reply(Reply(200, {"outputFields": {"hs_execution_state": "BLOCK", "hs_expiration_duration": "1d"}}))
    result = wf.ran()
    assert (result["state"], result["failureReason"]) == (
        "ERROR",
        "hs_expiration_duration '1d' is not an ISO 8601 duration",
    )
