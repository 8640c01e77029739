"""Pipelines and stages of deals and projects, on both path styles."""

from __future__ import annotations

import uuid

from tests.sandbox.hubspot_crm.conftest import error

EPOCH = "1970-01-01T00:00:00.000Z"


def _stage(stage_id: str, label: str, order: int, metadata: dict) -> dict:
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def test_the_default_deal_pipeline(api):
    response = api.get(api.pipelines("deals"))
    assert response.status_code == 200
    pipeline = response.json()["results"][0]
    assert len(response.json()["results"]) == 1
    assert {k: v for k, v in pipeline.items() if k != "stages"} == {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": False,
    }
    assert [s["id"] for s in pipeline["stages"]] == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    assert pipeline["stages"][5] == _stage("closedwon", "Closed Won", 5, {"probability": "1.0", "isClosed": "true"})
    assert api.get(f"{api.pipelines('0-3')}/default").json() == pipeline
    assert api.get(f"{api.pipelines('deals')}/default/stages").json() == {"results": pipeline["stages"]}
    stage = api.get(f"{api.pipelines('deals')}/default/stages/closedlost")
    assert stage.json() == _stage("closedlost", "Closed Lost", 6, {"probability": "0.0", "isClosed": "true"})


def test_project_pipeline_ids_must_be_read_from_the_api(api):
    pipeline = api.get(api.pipelines("projects")).json()["results"][0]
    expected_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hubspot-fake:{api.hub_id}:projects"))
    assert (pipeline["id"], pipeline["label"]) == (expected_id, "Projects")
    assert [s["label"] for s in pipeline["stages"]] == ["Planning", "In progress", "On hold", "Completed"]
    first = pipeline["stages"][0]["id"]
    body = {"properties": {"hs_name": "Build", "hs_pipeline": pipeline["id"], "hs_pipeline_stage": first}}
    assert api.post(api.objects("projects"), body).status_code == 201


def test_unknown_pipelines_and_types_without_pipelines(v3):
    missing = v3.get(f"{v3.pipelines('deals')}/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        error(missing, "Pipeline nope does not exist", "OBJECT_NOT_FOUND"),
    )
    stage = v3.get(f"{v3.pipelines('deals')}/default/stages/nope")
    assert stage.json() == error(stage, "Stage nope does not exist in pipeline default", "OBJECT_NOT_FOUND")
    companies = v3.get(v3.pipelines("companies"))
    assert companies.json() == error(companies, "Object type 0-2 has no pipelines")
