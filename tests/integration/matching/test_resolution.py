"""Resolving an ambiguous match by picking a candidate (or a new record), from the admin and the settings tab."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integration.models import AuditEvent, RecordError, SyncedRecord, SyncRun
from integration.services.audit import Actor
from integration.services.matching import CREATE_NEW, MatchResolveError, record_error_match_resolve
from tests.integration.matching.support import (
    ambiguous_world,
    crm,
    dashed,
    last_log_id,
    orgno,
    run,
    writes_since,
)
from tests.integration.matching.support import hubspot as hubspot_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(email="root@example.com", password="pw-123456789"))
    return client


def _bind(client: Client, hub_id: int) -> Client:
    session = client.session
    session["portal_hub_id"] = hub_id
    session["portal_user_email"] = "ada@example.com"
    session.save()
    return client


def test_admin_links_the_chosen_candidate_and_the_queued_run_syncs_into_it(world_factory, staff_client):
    world, ids, crm_ids, error = ambiguous_world(world_factory)
    page = staff_client.get(reverse("admin:integration_recorderror_change", args=[error.pk])).content.decode()
    for candidate_id, name in zip(crm_ids, ("Acme", "Acme (old)"), strict=True):
        assert f"Link {name} ({candidate_id})" in page
        assert reverse("admin:integration_recorderror_match", args=[error.pk, candidate_id]) in page
    assert "Create new" in page
    assert f"HubSpot {crm_ids[1]} — Acme (old) (organisation number: {orgno(1)})" in page

    response = staff_client.post(reverse("admin:integration_recorderror_match", args=[error.pk, crm_ids[1]]))

    assert response.status_code == 302
    error.refresh_from_db()
    assert error.status == "resolved"
    companies = crm(world, "companies")
    assert len(companies) == 3
    chosen = companies[crm_ids[1]]["properties"]
    assert (chosen["kleer_id"], chosen["name"], chosen["kleer_orgno"]) == (ids[0], "Acme AB", dashed(1))
    assert companies[crm_ids[0]]["properties"].get("kleer_id") is None
    queued = SyncRun.objects.filter(portal=world.portal, trigger="manual").get()
    assert (queued.status, queued.updated, queued.created, queued.unchanged) == ("succeeded", 1, 0, 1)
    assert SyncedRecord.objects.get(portal=world.portal, kleer_id=ids[0]).hubspot_id == crm_ids[1]
    audit = AuditEvent.objects.get(action="record_error.match_resolved")
    assert (audit.actor_label, audit.target, audit.before, audit.after) == (
        "staff:root@example.com",
        f"Clients {ids[0]}",
        {"candidates": crm_ids},
        {"hubspot_id": crm_ids[1]},
    )
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages == [f"Linked to HubSpot record {crm_ids[1]}. A sync of clients is queued."]
    mark = last_log_id()
    assert run(world, "clients").unchanged == 2
    assert writes_since(world, mark) == []


def test_admin_create_new_makes_a_new_record_without_searching_again(world_factory, staff_client):
    world, _ids, crm_ids, error = ambiguous_world(world_factory)
    response = staff_client.post(reverse("admin:integration_recorderror_match", args=[error.pk, CREATE_NEW]))
    assert response.status_code == 302
    companies = crm(world, "companies")
    assert len(companies) == 4
    assert [companies[i]["properties"].get("kleer_id") for i in crm_ids] == [None, None]
    queued = SyncRun.objects.get(portal=world.portal, trigger="manual")
    assert (queued.created, queued.matched, queued.failed) == (1, 0, 0)
    assert not RecordError.objects.filter(portal=world.portal).exclude(status="resolved").exists()


def test_refused_choices_change_nothing(world_factory):
    world, ids, crm_ids, error = ambiguous_world(world_factory)
    actor = Actor(label="test")
    with pytest.raises(MatchResolveError, match=r"HubSpot record 999 is not one of this record's candidates\."):
        record_error_match_resolve(record_error=error, candidate_id="999", actor=actor)
    # Someone linked the candidate to another Kleer record meanwhile (HubSpot holds its kleer_id).
    hubspot = crm_ids[0]
    hubspot_client(world).batch_update("companies", [(hubspot, "x", {"kleer_id": "4242"})])
    with pytest.raises(MatchResolveError, match=f"HubSpot record {hubspot} now belongs to Kleer record 4242"):
        record_error_match_resolve(record_error=error, candidate_id=hubspot, actor=actor)
    error.refresh_from_db()
    assert error.status == "parked"
    assert not SyncedRecord.objects.filter(portal=world.portal, kleer_id=ids[0]).exists()
    assert not AuditEvent.objects.filter(action="record_error.match_resolved").exists()
    record_error_match_resolve(record_error=error, candidate_id=crm_ids[1], actor=actor)
    with pytest.raises(MatchResolveError, match=r"This match was already resolved\."):
        record_error_match_resolve(record_error=error, candidate_id=crm_ids[0], actor=actor)


def test_settings_tab_resolves_only_the_bound_portals_errors(world_factory):
    a_world, _, a_crm, a_error = ambiguous_world(world_factory, n=1)
    b_world, _, b_crm, b_error = ambiguous_world(world_factory, n=5)
    for world, crm_ids, error, other in ((a_world, a_crm, a_error, b_error), (b_world, b_crm, b_error, a_error)):
        client = _bind(Client(), world.hub_id)
        tab = client.get(f"/portals/{world.hub_id}/settings/clients/").content.decode()
        url = f"/portals/{world.hub_id}/settings/clients/errors/{error.pk}/match"
        assert f'action="{url}"' in tab
        assert f"Link Acme (old) (HubSpot {crm_ids[1]})" in tab
        assert 'name="csrfmiddlewaretoken"' in tab
        # The other portal's error, under this portal's URL or its own: not found, and nothing changes.
        other.refresh_from_db()
        other_status, audits = other.status, AuditEvent.objects.count()
        other_url = f"/portals/{world.hub_id}/settings/clients/errors/{other.pk}/match"
        assert client.post(other_url, {"candidate": "new"}).status_code == 404
        foreign = client.post(
            f"/portals/{other.portal.hub_id}/settings/clients/errors/{other.pk}/match", {"candidate": "new"}
        )
        assert foreign.status_code == 404
        other.refresh_from_db()
        assert (other.status, AuditEvent.objects.count()) == (other_status, audits)
        # Without the CSRF token: refused.
        strict = _bind(Client(enforce_csrf_checks=True), world.hub_id)
        assert strict.post(url, {"candidate": crm_ids[0]}).status_code == 403

        response = client.post(url, {"candidate": crm_ids[0]}, follow=True)

        assert response.redirect_chain[-1][0].endswith("/clients/#sync-status")
        assert f"Linked to HubSpot record {crm_ids[0]}. A sync of clients is queued." in response.content.decode()
        error.refresh_from_db()
        assert error.status == "resolved"
        linked = crm(world, "companies")[crm_ids[0]]["properties"]
        assert (linked["kleer_id"], linked["name"]) == (str(error.kleer_id), "Acme AB")
        audit = AuditEvent.objects.get(portal=world.portal, action="record_error.match_resolved")
        assert (audit.actor_label, audit.after) == (
            f"portal {world.hub_id}: ada@example.com",
            {"hubspot_id": crm_ids[0]},
        )
        again = client.post(url, {"candidate": crm_ids[1]}, follow=True)
        assert "This match was already resolved." in again.content.decode()
