"""`make run`'s first start: a demo portal on Pro with every object switched on, marked for its first sync."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from integration.catalog import Plan
from integration.catalog.workflow_actions import ACTIONS
from integration.hubspot_project import webhooks_component
from integration.management.commands import demo_setup
from integration.models import Portal
from sandbox.hubspot.webhooks.config import app_row, describe
from sandbox.hubspot.workflows import definitions

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_portal_shows_the_whole_product(sandbox_urls, settings, tmp_path, monkeypatch):
    settings.DEBUG = True
    marker = tmp_path / "demo-first-sync"
    monkeypatch.setattr(demo_setup, "FIRST_SYNC_MARKER", marker)

    call_command("demo_setup", "--invoices=20", stdout=io.StringIO())

    portal = Portal.objects.get()
    assert portal.plan == Plan.PRO
    assert sorted(portal.object_syncs.filter(enabled=True).values_list("object_type", flat=True)) == sorted(
        ["clients", "invoices", "agreements", "products", "line_items", "projects"]
    )
    assert marker.read_text() == str(portal.hub_id)
    # The app's webhooks are "deployed" to the fake HubSpot, so HubSpot edits flow back live.
    deployed = describe(app_row())
    assert deployed["targetUrl"] == f"{sandbox_urls}/hubspot/webhooks"
    assert deployed["component"] == webhooks_component(sandbox_urls)
    # And its workflow actions, so the sandbox's deal and company pages can run them against this server.
    actions = {d["uid"]: d for d in definitions.definitions()}
    assert sorted(actions) == sorted(a.uid for a in ACTIONS.values())
    assert actions["kleer_create_invoice"]["actionUrl"] == f"{sandbox_urls}/hubspot/workflow-actions/create-invoice"
    call_command("demo_setup", stdout=io.StringIO())  # a later start seeds nothing more
    assert Portal.objects.count() == 1
