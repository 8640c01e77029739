"""The remaining list filters (portal list, runs and record errors are covered next to their columns):
object syncs, run trigger, synced records, inbound events, audit events and HubSpot installations.

Each filter is asserted by the exact rows it leaves, as a person using the sidebar would see them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import AuditEvent, HubSpotInstallation, InboundEvent, ObjectSync, SyncedRecord, SyncRun
from integration.services.audit import Actor, audit_record
from tests.admin.conftest import make_portal
from tests.admin.helpers import listed

pytestmark = pytest.mark.django_db


def pks(client, url: str, params: dict) -> set[int]:
    response = client.get(url, params)
    assert response.status_code == 200
    return {obj.pk for obj in listed(response)}


def aged(model, row, field: str, hours: float):
    model.objects.filter(pk=row.pk).update(**{field: timezone.now() - dt.timedelta(hours=hours)})
    return row


def test_object_sync_filters_by_portal_object_enabled_and_last_outcome(admin_client_):
    url = "/admin/integration/objectsync/"
    a = make_portal(enable=("clients",))
    b = make_portal()
    ObjectSync.objects.filter(portal=a, object_type="clients").update(last_outcome="failed")
    ObjectSync.objects.filter(portal=b, object_type="products").update(last_outcome="succeeded")

    def syncs(**filters) -> set[int]:
        return set(ObjectSync.objects.filter(**filters).values_list("pk", flat=True))

    assert pks(admin_client_, url, {"portal": a.hub_id}) == syncs(portal=a)
    assert pks(admin_client_, url, {"object_type__exact": "products"}) == syncs(object_type="products")
    assert pks(admin_client_, url, {"enabled__exact": "1"}) == syncs(portal=a, object_type="clients")
    assert pks(admin_client_, url, {"last_outcome__exact": "failed"}) == syncs(portal=a, object_type="clients")
    assert pks(admin_client_, url, {"portal": b.hub_id, "last_outcome__exact": "failed"}) == set()


def test_sync_run_filters_by_trigger(admin_client_):
    portal = make_portal()
    manual = SyncRun.objects.create(portal=portal, object_type="clients", status="succeeded", trigger="manual")
    SyncRun.objects.create(portal=portal, object_type="clients", status="succeeded", trigger="schedule")
    full = SyncRun.objects.create(portal=portal, object_type="products", status="failed", trigger="full")
    url = "/admin/integration/syncrun/"
    assert pks(admin_client_, url, {"trigger__exact": "manual"}) == {manual.pk}
    assert pks(admin_client_, url, {"trigger__exact": "full"}) == {full.pk}


def test_synced_record_filters_by_portal_object_and_deleted_in_kleer(admin_client_):
    a, b = make_portal(), make_portal()

    def record(portal, object_type: str, kleer_id: str, deleted: bool = False) -> SyncedRecord:
        return SyncedRecord.objects.create(
            portal=portal, object_type=object_type, kleer_id=kleer_id, hubspot_object="x", deleted_in_kleer=deleted
        )

    client_a = record(a, "clients", "1")
    gone_a = record(a, "products", "2", deleted=True)
    client_b = record(b, "clients", "1")
    url = "/admin/integration/syncedrecord/"
    assert pks(admin_client_, url, {"portal": a.hub_id}) == {client_a.pk, gone_a.pk}
    assert pks(admin_client_, url, {"object_type__exact": "clients"}) == {client_a.pk, client_b.pk}
    assert pks(admin_client_, url, {"deleted_in_kleer__exact": "1"}) == {gone_a.pk}
    assert pks(admin_client_, url, {"q": "1", "portal": b.hub_id}) == {client_b.pk}


def test_inbound_event_filters_by_portal_source_and_age(admin_client_):
    a, b = make_portal(), make_portal()
    hook = aged(InboundEvent, InboundEvent.objects.create(portal=a, source="webhook", event_id="1"), "received_at", 0.5)
    action = aged(InboundEvent, InboundEvent.objects.create(portal=b, source="action", event_id="2"), "received_at", 30)
    old = aged(
        InboundEvent, InboundEvent.objects.create(portal=a, source="action", event_id="3"), "received_at", 24 * 9
    )
    url = "/admin/integration/inboundevent/"
    assert pks(admin_client_, url, {"portal": a.hub_id}) == {hook.pk, old.pk}
    assert pks(admin_client_, url, {"source__exact": "action"}) == {action.pk, old.pk}
    assert pks(admin_client_, url, {"age": "24h"}) == {hook.pk}
    assert pks(admin_client_, url, {"age": "older"}) == {old.pk}


def test_audit_event_filters_by_portal_actor_action_and_age(admin_client_, superuser):
    a, b = make_portal(), make_portal()
    AuditEvent.objects.all().delete()  # make_portal's own system events are not what this test is about
    staff = audit_record(portal=a, actor=Actor.staff(superuser), action="portal.paused")
    customer = audit_record(portal=b, actor=Actor.portal_user(hub_id=b.hub_id), action="mapping.created")
    system = aged(AuditEvent, audit_record(portal=a, actor=Actor.system(), action="portal.paused"), "created_at", 30)
    url = "/admin/integration/auditevent/"
    assert pks(admin_client_, url, {"portal": a.hub_id}) == {staff.pk, system.pk}
    assert pks(admin_client_, url, {"actor": "staff"}) == {staff.pk}
    assert pks(admin_client_, url, {"actor": "customer"}) == {customer.pk}
    assert pks(admin_client_, url, {"actor": "system"}) == {system.pk}
    assert pks(admin_client_, url, {"action__exact": "portal.paused"}) == {staff.pk, system.pk}
    assert pks(admin_client_, url, {"age": "24h"}) == {staff.pk, customer.pk}


def test_hubspot_installation_filters_by_status(admin_client_):
    connected, disconnected = make_portal(), make_portal(connected=False)
    url = "/admin/integration/hubspotinstallation/"
    by_portal = dict(HubSpotInstallation.objects.values_list("portal_id", "pk"))
    assert pks(admin_client_, url, {"status__exact": "connected"}) == {by_portal[connected.pk]}
    assert pks(admin_client_, url, {"status__exact": "disconnected"}) == {by_portal[disconnected.pk]}
