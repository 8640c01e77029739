"""Database constraints make invalid states impossible; secrets never reach the column in clear."""

import pytest
from django.db import IntegrityError, connection, transaction

from integration import models
from tests.factories import KleerCredentialsFactory, ObjectSyncFactory, PortalFactory

pytestmark = pytest.mark.django_db


def raw_column(table: str, column: str, pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def test_kleer_api_key_is_encrypted_at_rest():
    creds = KleerCredentialsFactory(api_key="kl-SUPERSECRET-4711")
    raw = raw_column("integration_kleercredentials", "api_key", creds.pk)
    assert b"SUPERSECRET" not in raw
    assert b"kl-" not in raw
    assert len(raw) > 40
    assert models.KleerCredentials.objects.get(pk=creds.pk).api_key == "kl-SUPERSECRET-4711"


def test_hubspot_tokens_are_encrypted_and_not_in_repr():
    portal = PortalFactory()
    inst = models.HubSpotInstallation.objects.create(
        portal=portal, access_token="at-CLEARTEXT-1", refresh_token="rt-CLEARTEXT-2"
    )
    for column in ("access_token", "refresh_token"):
        raw = raw_column("integration_hubspotinstallation", column, inst.pk)
        assert b"CLEARTEXT" not in raw
    fresh = models.HubSpotInstallation.objects.get(pk=inst.pk)
    assert (fresh.access_token, fresh.refresh_token) == ("at-CLEARTEXT-1", "rt-CLEARTEXT-2")
    assert "CLEARTEXT" not in repr(fresh) + str(fresh)


def test_credentials_str_shows_only_the_mask():
    creds = KleerCredentialsFactory(api_key="abcdefgh1234", api_key_last4="1234", company_id=4875)
    assert str(creds) == "Kleer company 4875 (••••1234)"
    assert "abcdefgh" not in repr(creds)


def test_one_object_sync_per_portal_and_type():
    sync = ObjectSyncFactory(object_type="clients")
    with pytest.raises(IntegrityError), transaction.atomic():
        ObjectSyncFactory(portal=sync.portal, object_type="clients")
    ObjectSyncFactory(portal=sync.portal, object_type="products")
    assert models.ObjectSync.objects.filter(portal=sync.portal).count() == 2


def test_one_synced_record_per_kleer_id():
    portal = PortalFactory()
    fields = {"portal": portal, "object_type": "clients", "kleer_id": "17", "hubspot_object": "companies"}
    models.SyncedRecord.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        models.SyncedRecord.objects.create(**fields)


def test_at_most_one_running_sync_per_portal_and_object():
    portal = PortalFactory()
    models.SyncRun.objects.create(portal=portal, object_type="clients")
    with pytest.raises(IntegrityError), transaction.atomic():
        models.SyncRun.objects.create(portal=portal, object_type="clients")
    models.SyncRun.objects.create(portal=portal, object_type="products")
    models.SyncRun.objects.filter(portal=portal, object_type="clients").update(status="succeeded")
    models.SyncRun.objects.create(portal=portal, object_type="clients")
    assert models.SyncRun.objects.filter(status="running").count() == 2


def test_constant_mapping_needs_a_default_value():
    sync = ObjectSyncFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        models.FieldMapping.objects.create(object_sync=sync, kleer_field="", hubspot_property="x")
    models.FieldMapping.objects.create(
        object_sync=sync, kleer_field="", hubspot_property="lifecyclestage", default_value="customer"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        models.FieldMapping.objects.create(object_sync=sync, kleer_field="name", hubspot_property="lifecyclestage")


def test_one_unresolved_error_per_record():
    portal = PortalFactory()
    fields = {"portal": portal, "object_type": "clients", "kleer_id": "5", "message": "boom"}
    models.RecordError.objects.create(**fields, status="resolved")
    models.RecordError.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        models.RecordError.objects.create(**fields, status="parked")


def test_history_window_and_plan_are_checked_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        PortalFactory(invoice_history_months=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        PortalFactory(plan="gold")
