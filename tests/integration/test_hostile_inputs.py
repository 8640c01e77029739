"""Inputs that used to reach PostgreSQL or HubSpot half-checked: refused before anything changes."""

from __future__ import annotations

import pytest

from integration.models import AuditEvent, ObjectSync
from integration.services.audit import Actor, audit_record
from integration.services.hubspot_properties import hubspot_property_create
from integration.services.mappings import MappingError
from sandbox.hubspot_crm.selectors import property_of
from tests.conftest import install_sandbox_portal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("label", ["Kleer\x00GLN", "Kleer\nGLN", "K" * 101])
def test_a_property_label_with_control_characters_is_refused_before_hubspot_is_called(sandbox_urls, label):
    portal = install_sandbox_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")

    with pytest.raises(MappingError, match="A property label is at most 100 characters, without control characters"):
        hubspot_property_create(
            object_sync=clients, name="kleer_gln", label=label, kleer_field="gln", actor=Actor(label="t")
        )

    assert property_of(portal.hub_id, "companies", "kleer_gln") is None
    assert not AuditEvent.objects.filter(action="hubspot_property.created").exists()


def test_an_audit_event_with_a_nul_character_is_stored_not_lost():
    """PostgreSQL's jsonb refuses \\u0000: the event is written with the visible escape instead of failing."""
    event = audit_record(
        portal=None, actor=Actor(label="a\x00b"), action="x", target="t\x00", after={"k\x00": ["v\x00"]}
    )
    event.refresh_from_db()
    assert (event.actor_label, event.target, event.after) == ("a\\u0000b", "t\\u0000", {"k\\u0000": ["v\\u0000"]})


@pytest.mark.parametrize(
    "path",
    [
        "/portals/99999999999999999999999/settings/",
        "/portals/99999999999999999999999/settings/clients/mappings/99999999999999999999999/",
        "/portals/1/settings/clients/mappings/99999999999999999999999/delete",
        "/hubspot/launch?portalId=99999999999999999999999",
    ],
)
def test_numbers_too_large_for_the_database_in_addresses_are_never_a_500(client, path):
    install_sandbox_portal()
    assert client.get(path).status_code in (400, 401, 403, 404)
