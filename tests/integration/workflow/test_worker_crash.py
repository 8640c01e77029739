"""A real Celery worker killed between the Kleer write and the write-back: the retry finds the Kleer record by the
intent recorded before the write, and never creates a second one. Skipped without TEST_REDIS_URL or PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from integration.clients.http import sessions_close
from integration.models import WorkflowExecution
from tests.integration.celery_processes import CeleryCluster, redis_url_or_skip, wait_for
from tests.integration.workflow.conftest import Crm, kleer_api, kleer_list
from tests.integration.workflow.test_actions import agreement_items, client_world, synced_company

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TASK = "integration.tasks.workflow_execution_run"
TIMEOUT = 60.0


@pytest.fixture
def cluster(live_server, transactional_db, tmp_path) -> Iterator[CeleryCluster]:
    redis_url = redis_url_or_skip()
    cluster = CeleryCluster(redis_url=redis_url, live_server_url=live_server.url, log_dir=tmp_path)
    yield cluster
    cluster.stop()
    sessions_close()
    print(cluster.logs())


def test_a_worker_killed_after_the_kleer_write_leaves_one_agreement_and_the_retry_writes_it_back(
    cluster, world_factory, live_server
):
    world = client_world(world_factory)
    crm = Crm(world.hub_id)
    company, _client = synced_company(world, live_server, crm)
    deal = crm.deal(company, agreement_items())
    # What the door stores for an execution it answered BLOCK (tests/…/test_agreements drive the door itself).
    execution = WorkflowExecution.objects.create(
        portal=world.portal, hub_id=world.hub_id, callback_id="ap-crash-1", action="create-agreement",
        object_type="DEAL", object_id=deal, inputs={"start_invoice_date": "2027-01-01"},
    )  # fmt: skip
    api = kleer_api(world, live_server)
    # Kleer takes 4 s to answer the create, then creates the agreement anyway: the worker dies in between.
    api.add_fault(method="PUT", path="^/client/agreement$", delay_seconds=4)
    doomed = cluster.start_worker(name="doomed")

    cluster.producer.send_task(TASK, args=[execution.pk], queue=cluster.queue)
    puts = lambda: [r for r in api.requests_log() if r["method"] == "PUT"]  # noqa: E731
    wait_for(lambda: WorkflowExecution.objects.get(pk=execution.pk).state == "writing", timeout=TIMEOUT,
             what="the intent to be recorded")  # fmt: skip
    wait_for(lambda: any(f["remaining"] == 0 for f in api.control("GET", "/faults").json()["faults"]),
             timeout=TIMEOUT, what="the create to reach Kleer")  # fmt: skip
    cluster.kill(doomed)

    [agreement] = wait_for(lambda: kleer_list(world, live_server, "/client/agreement", "client-agreements"),
                           timeout=TIMEOUT, what="Kleer to finish the create")  # fmt: skip
    crashed = WorkflowExecution.objects.get(pk=execution.pk)
    assert (crashed.state, crashed.kleer_id, agreement["foreign-id"]) == ("writing", "", crashed.reference)
    assert crm.read("deals", deal, "kleer_agreement_id").get("kleer_agreement_id") in (None, "")
    assert [m["headers"]["task"] for m in cluster.unacked_messages()] == [TASK]  # late ack: to be redelivered
    # The broker redelivers after its visibility timeout, which is longer than the dead worker's lease: let that
    # time pass for the lease, and send the task again instead of waiting an hour.
    past = timezone.now() - dt.timedelta(seconds=1)
    WorkflowExecution.objects.filter(pk=execution.pk).update(leased_until=past)
    cluster.start_worker(name="fresh")
    cluster.producer.send_task(TASK, args=[execution.pk], queue=cluster.queue)

    done = wait_for(lambda: WorkflowExecution.objects.filter(pk=execution.pk, state="succeeded").first(),
                    timeout=TIMEOUT, what="the retry")  # fmt: skip
    assert (done.outcome, done.kleer_id, done.attempts) == ("created", str(agreement["id"]), 2)
    assert len(kleer_list(world, live_server, "/client/agreement", "client-agreements")) == 1
    assert len(puts()) == 1  # found by its reference: never sent again
    assert crm.read("deals", deal, "kleer_agreement_id")["kleer_agreement_id"] == str(agreement["id"])
