"""Health signals tell the truth: a run that read Kleer verified the key; an expected 409 is not a failure."""

from __future__ import annotations

import pytest

from integration.clients.hubspot import HubSpotClient
from integration.models import KleerCredentials, ObjectSync
from integration.services.sync import object_sync_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_successful_run_marks_the_kleer_key_verified(world_factory):
    world = world_factory(clients=2, products=0, invoices=0, agreements=0, projects=0, enable=("clients",))
    assert KleerCredentials.objects.get(portal=world.portal).verified_at is None  # saved without a check

    run = object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type="clients").pk)

    verified = KleerCredentials.objects.get(portal=world.portal).verified_at
    assert verified is not None and run.started_at <= verified <= run.finished_at


def test_a_property_group_that_already_exists_is_not_a_failed_call(world_factory):
    world = world_factory(clients=1, products=0, invoices=0, agreements=0, projects=0)
    client = HubSpotClient(installation=world.portal.installation)

    client.property_group_create("companies", name="kleer", label="Kleer")
    client.property_group_create("companies", name="kleer", label="Kleer")

    assert (client.stats.calls, client.stats.errors, client.stats.by_status) == (2, 0, {201: 1, 409: 1})
