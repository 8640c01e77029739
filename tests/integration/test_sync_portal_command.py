"""`manage.py sync_portal`: what it prints, and an exit status scripts can trust."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from sandbox.kleer.testing import KleerApi

pytestmark = pytest.mark.django_db(transaction=True)


def sync_portal(world, *args: str) -> tuple[dict, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("sync_portal", str(world.hub_id), "--json", *args, stdout=out)
    except CommandError as exc:
        return json.loads(out.getvalue()), exc
    return json.loads(out.getvalue()), None


def test_a_failed_run_makes_the_command_fail_and_line_items_say_why_they_did_not_run(world_factory, live_server):
    world = world_factory(clients=3, products=1, invoices=5, agreements=0, projects=0)
    for object_type in ("clients", "invoices", "line_items"):
        world.portal.object_syncs.filter(object_type=object_type).update(enabled=True)
    api = KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)
    api.add_fault(method="GET", path="^/client/invoice$", status=403, body={"message": "Åtkomst nekad"}, count=10)

    printed, error = sync_portal(world)

    assert str(error) == "1 of 6 object types failed: invoices"
    objects = printed["objects"]
    assert (objects["clients"]["status"], objects["invoices"]["status"]) == ("succeeded", "failed")
    assert objects["line_items"]["status"] == "skipped"
    assert objects["line_items"]["error"].startswith("not synced, their parent runs did not finish: invoices failed")
    assert objects["line_items"]["read"] == 0


def test_a_clean_run_exits_normally(world_factory):
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    printed, error = sync_portal(world, "--object", "clients")
    assert error is None
    assert (printed["objects"]["clients"]["status"], printed["objects"]["clients"]["created"]) == ("succeeded", 2)
