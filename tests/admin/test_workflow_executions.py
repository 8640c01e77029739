"""Workflow-action executions in the back office: counted per portal in the list, listed and filtered for support."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import WorkflowExecution
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, listed

pytestmark = pytest.mark.django_db
EXECUTIONS = "/admin/integration/workflowexecution/"


def execution(portal, n: int, state: str, hours_ago: float = 1, **fields) -> WorkflowExecution:
    row = WorkflowExecution.objects.create(
        portal=portal, hub_id=portal.hub_id, callback_id=f"cb-{n}", action="create-invoice", object_type="DEAL",
        object_id=str(500 + n), state=state, outcome="failed" if state == "failed" else "created", **fields,
    )  # fmt: skip
    WorkflowExecution.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours_ago))
    return row


def test_the_portal_list_counts_executions_and_failures_of_the_last_24_hours(support_client):
    portal = make_portal(plan="pro")
    quiet = make_portal(plan="pro")
    execution(portal, 1, "succeeded", kleer_id="3525001")
    execution(portal, 2, "failed", reason="The deal has no line items.")
    execution(portal, 3, "failed", hours_ago=30)  # older than 24 h

    response = support_client.get(PORTALS)

    rows = {p.hub_id: (p.workflow_24h, p.workflow_failed_24h) for p in listed(response)}
    assert rows == {portal.hub_id: (2, 1), quiet.hub_id: (0, 0)}
    html = response.content.decode()
    assert f'{EXECUTIONS}?portal={portal.hub_id}&amp;age=24h&amp;state__exact=failed">' in html
    assert "1 failed" in html


def test_support_sees_an_execution_with_its_inputs_outcome_and_kleer_id(support_client):
    portal = make_portal(plan="pro")
    row = execution(portal, 1, "failed", reason='"Invoice date" must be a date written YYYY-MM-DD.',
                    inputs={"invoice_date": "1 dec"})  # fmt: skip
    execution(portal, 2, "succeeded", kleer_id="3525009")

    failed = support_client.get(EXECUTIONS, {"portal": portal.hub_id, "state__exact": "failed"})
    assert [r.callback_id for r in failed.context["cl"].result_list] == ["cb-1"]
    page = support_client.get(f"{EXECUTIONS}{row.pk}/change/").content.decode()
    assert "&quot;invoice_date&quot;: &quot;1 dec&quot;" in page
    assert "must be a date written YYYY-MM-DD." in page
    assert support_client.get(EXECUTIONS, {"q": "3525009"}).context["cl"].result_count == 1
