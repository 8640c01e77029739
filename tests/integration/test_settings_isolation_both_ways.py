"""Isolation with each portal as the bound one, for every tab and form.

The older isolation tests bind the first portal created, so a look-up that ignored the portal (returning the
first portal's row) would pass them. Here both portals hold a marker mapping on every object tab and each is
bound in turn: every page shows only its own marker, and every form changes only its own rows.
"""

from __future__ import annotations

import pytest
from django.test import Client

from integration import catalog
from integration.models import AuditEvent, FieldMapping, ObjectSync, Portal
from tests.integration.test_settings_access import bind, install

pytestmark = pytest.mark.django_db
OBJECT_TYPES = list(catalog.REGISTRY)


@pytest.fixture
def portals() -> dict[str, Portal]:
    """Two installed portals (first and second created), each with a marker mapping on every object tab."""
    made = {"first": install(31), "second": install(32)}
    Portal.objects.update(plan="pro")
    for portal in made.values():
        for object_sync in ObjectSync.objects.filter(portal=portal):
            FieldMapping.objects.create(
                object_sync=object_sync, kleer_field="", hubspot_property=f"marker_{portal.hub_id}", default_value="x"
            )
    return made


def both(portals: dict[str, Portal], bound: str) -> tuple[Portal, Portal]:
    other = "second" if bound == "first" else "first"
    return portals[bound], portals[other]


@pytest.mark.parametrize("bound", ["first", "second"])
@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_every_object_tab_shows_the_bound_portals_rows_only(portals, bound, object_type):
    own, other = both(portals, bound)
    client = bind(Client(), own.hub_id)

    page = client.get(f"/portals/{own.hub_id}/settings/{object_type}/").content.decode()

    assert f"marker_{own.hub_id}" in page
    assert f"marker_{other.hub_id}" not in page


@pytest.mark.parametrize("bound", ["first", "second"])
def test_the_general_tab_shows_the_bound_portal(portals, bound):
    own, other = both(portals, bound)
    client = bind(Client(), own.hub_id)

    page = client.get(f"/portals/{own.hub_id}/settings/").content.decode()

    assert f"HubSpot portal <strong>{own.hub_id}</strong>" in page
    assert str(other.hub_id) not in page


@pytest.mark.parametrize("bound", ["first", "second"])
@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_every_object_form_changes_the_bound_portals_rows_only(portals, bound, object_type):
    own, other = both(portals, bound)
    ObjectSync.objects.update(enabled=True)
    client = bind(Client(), own.hub_id)
    base = f"/portals/{own.hub_id}/settings/{object_type}/"
    marker = FieldMapping.objects.get(
        object_sync__portal=own, object_sync__object_type=object_type, hubspot_property=f"marker_{own.hub_id}"
    )

    assert client.get(f"{base}mappings/{marker.pk}/").status_code == 200
    assert client.get(f"{base}mappings/{marker.pk}/delete").status_code == 200
    assert client.post(f"{base}mappings/{marker.pk}/delete", {}).status_code == 302
    assert client.post(f"{base}toggle", {"enabled": "0"}).status_code == 302

    assert not FieldMapping.objects.filter(pk=marker.pk).exists()
    assert (
        FieldMapping.objects.filter(object_sync__portal=other, hubspot_property=f"marker_{other.hub_id}").count() == 6
    )
    assert ObjectSync.objects.get(portal=own, object_type=object_type).enabled is False
    assert ObjectSync.objects.filter(portal=other, enabled=True).count() == len(OBJECT_TYPES)
    assert not AuditEvent.objects.filter(portal=other).exclude(action="portal.installed").exists()
    assert AuditEvent.objects.filter(portal=own).exclude(action="portal.installed").count() == 2


@pytest.mark.parametrize("bound", ["first", "second"])
def test_the_general_forms_change_the_bound_portal_only(portals, bound):
    own, other = both(portals, bound)
    client = bind(Client(), own.hub_id)

    response = client.post(f"/portals/{own.hub_id}/settings/sync-configuration", {"invoice_history_months": 7})

    assert response.status_code == 302
    assert Portal.objects.get(pk=own.pk).invoice_history_months == 7
    assert Portal.objects.get(pk=other.pk).invoice_history_months == 12
