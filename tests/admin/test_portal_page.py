"""The portal page and the object-sync page: inlines, schedules, toggles, mappings and credentials replacement.

Every save is posted as a browser would (the unchanged form plus the edits) and must go through the services:
the audit log is the proof.
"""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.models import AuditEvent, FieldMapping, KleerCredentials, ObjectSync, Portal, SyncedRecord
from tests.admin.conftest import API_KEY, GOOD_NEW_KEY, make_portal
from tests.admin.helpers import PORTALS, form_data, inline_prefix, messages_of

pytestmark = pytest.mark.django_db
STAFF = "staff:root@example.com"


def page(client, portal: Portal):
    return client.get(f"{PORTALS}{portal.pk}/change/")


def inline_row(response, object_type: str) -> tuple[str, int]:
    prefix, forms = inline_prefix(response, "objectsync")
    for n, form in enumerate(forms):
        if form.instance.object_type == object_type:
            return f"{prefix}-{n}", n
    raise AssertionError(object_type)


def actions(portal: Portal) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(portal=portal).order_by("pk").values_list("actor_label", "action", "target"))


# -- what the page shows ---------------------------------------------------------------------------------


def test_inline_shows_the_effective_schedule_with_a_link_to_the_beat_task(admin_client_):
    portal = make_portal(plan="pro", enable=("clients", "invoices", "line_items"))
    task = PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:clients")
    html = page(admin_client_, portal).content.decode()

    link = (
        f'<a href="/admin/django_celery_beat/periodictask/{task.pk}/change/" title="{task.name}">every 15 minutes</a>'
    )
    assert link in html
    assert ">every 30 minutes</a>" in html  # invoices
    assert "<p>with invoices and agreements</p>" in html  # line items
    assert "<p>disabled</p>" in html  # products, switched off


def test_each_object_row_links_to_its_mappings_with_their_count(admin_client_):
    portal = make_portal()
    html = page(admin_client_, portal).content.decode()
    for object_sync in ObjectSync.objects.filter(portal=portal):
        count = object_sync.mappings.count()
        link = f'<a href="/admin/integration/objectsync/{object_sync.pk}/change/">{count} mappings</a>'
        assert link in html, object_sync.object_type
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    assert clients.mappings.count() > 0  # the install flow's defaults, editable one click away


def test_a_paused_portal_shows_disabled_schedules(admin_client_):
    portal = make_portal(enable=("clients",))
    from integration.services.audit import Actor
    from integration.services.portals import portal_set_status

    portal_set_status(portal=portal, status="paused", actor=Actor.system())
    assert ">disabled (portal paused)</a>" in page(admin_client_, portal).content.decode()


def test_the_page_links_to_settings_runs_errors_audit_and_beat_tasks(admin_client_):
    portal = make_portal()
    links = dict(page(admin_client_, portal).context["portal_links"])
    hub = portal.hub_id
    assert links == {
        "Customer settings page ↗": f"/portals/{hub}/settings/",
        "Sync runs": f"/admin/integration/syncrun/?portal={hub}",
        "Record errors": f"/admin/integration/recorderror/?portal={hub}",
        "Synced records": f"/admin/integration/syncedrecord/?portal={hub}",
        "Audit events": f"/admin/integration/auditevent/?portal={hub}",
        "Beat tasks": f"/admin/django_celery_beat/periodictask/?name__startswith=sync%3A{hub}%3A",
    }


def test_the_page_shows_the_last_error_of_an_object_and_of_recent_runs(admin_client_):
    portal = make_portal(enable=("clients",))
    from integration.models import SyncRun

    run = SyncRun.objects.create(portal=portal, object_type="clients", status="failed", error="Kleer: key revoked")
    ObjectSync.objects.filter(portal=portal, object_type="clients").update(
        last_outcome="failed", last_error="Kleer: key revoked", last_run_at=run.started_at
    )
    html = page(admin_client_, portal).content.decode()
    assert '<div class="kh-muted">Kleer: key revoked</div>' in html
    assert f'<a href="/admin/integration/syncrun/{run.pk}/change/">run {run.pk}</a>' in html


# -- toggles and targets ----------------------------------------------------------------------------------


def test_switching_an_object_on_goes_through_the_service(admin_client_):
    portal = make_portal()
    response = page(admin_client_, portal)
    data = form_data(response)
    prefix, _ = inline_row(response, "products")
    data[f"{prefix}-enabled"] = "on"

    saved = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert saved.status_code == 302
    products = ObjectSync.objects.select_related("periodic_task__interval").get(portal=portal, object_type="products")
    assert products.enabled is True
    assert (products.periodic_task.name, products.periodic_task.enabled) == (f"sync:{portal.hub_id}:products", True)
    assert (products.periodic_task.interval.every, products.periodic_task.interval.period) == (1440, "minutes")
    assert actions(portal) == [(STAFF, "object_sync.enabled", "Products")]


def test_switching_on_is_refused_with_the_reasons_and_nothing_changes(admin_client_):
    portal = make_portal(credentials=False)
    response = page(admin_client_, portal)
    data = form_data(response)
    prefix, n = inline_row(response, "clients")
    data[f"{prefix}-enabled"] = "on"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.status_code == 200
    errors = refused.context["inline_admin_formsets"][0].formset.forms[n].errors
    assert errors == {"enabled": ["Save your Kleer credentials first (General Configuration)."]}
    assert ObjectSync.objects.get(portal=portal, object_type="clients").enabled is False
    assert actions(portal) == []


def test_changing_the_target_resets_mappings_to_the_new_defaults(admin_client_):
    portal = make_portal()
    response = page(admin_client_, portal)
    data = form_data(response)
    prefix, _ = inline_row(response, "clients")
    data[f"{prefix}-hubspot_object"] = "contacts"

    saved = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    assert clients.hubspot_object == "contacts"
    defaults = {m.hubspot_property for m in clients.spec.target("contacts").default_mappings}
    assert set(clients.mappings.values_list("hubspot_property", flat=True)) == defaults
    assert actions(portal) == [(STAFF, "object_sync.target_changed", "Clients")]
    assert messages_of(saved)[0] == (
        "warning",
        "Clients now sync to contacts; the mappings were reset to that object's defaults.",
    )


def test_editing_portal_settings_is_audited(admin_client_):
    portal = make_portal()
    old_name = portal.name
    data = form_data(page(admin_client_, portal))
    data.update(name="Renamed AB", invoice_history_months="24")

    admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    portal.refresh_from_db()
    assert (portal.name, portal.invoice_history_months) == ("Renamed AB", 24)
    event = AuditEvent.objects.get(portal=portal, action="portal.updated")
    assert (event.actor_label, event.before, event.after) == (
        STAFF,
        {"name": old_name, "invoice_history_months": 12},
        {"name": "Renamed AB", "invoice_history_months": 24},
    )


# -- mappings (object-sync page) --------------------------------------------------------------------------


def sync_page(client, object_sync: ObjectSync):
    return client.get(f"/admin/integration/objectsync/{object_sync.pk}/change/")


def mapping_rows(response) -> tuple[str, dict[str, int]]:
    prefix, forms = inline_prefix(response, "fieldmapping")
    return prefix, {form.instance.hubspot_property: n for n, form in enumerate(forms)}


def test_mapping_add_edit_and_delete_go_through_the_services(admin_client_):
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    response = sync_page(admin_client_, clients)
    data = form_data(response)
    prefix, rows = mapping_rows(response)
    total = len(rows)
    data[f"{prefix}-{rows['phone']}-kleer_field"] = "contact"  # edit
    data[f"{prefix}-{rows['kleer_email']}-DELETE"] = "on"  # delete
    data.update(  # add a constant
        {
            f"{prefix}-TOTAL_FORMS": str(total + 1),
            f"{prefix}-{total}-kleer_field": "",
            f"{prefix}-{total}-hubspot_property": "lifecyclestage",
            f"{prefix}-{total}-default_value": "customer",
            f"{prefix}-{total}-object_sync": str(clients.pk),
        }
    )

    saved = admin_client_.post(f"/admin/integration/objectsync/{clients.pk}/change/", data)

    assert saved.status_code == 302
    mappings = {m.hubspot_property: (m.kleer_field, m.default_value) for m in clients.mappings.all()}
    assert mappings["phone"] == ("contact", "")
    assert mappings["lifecyclestage"] == ("", "customer")
    assert "kleer_email" not in mappings
    assert sorted(a for _, a, _ in actions(portal)) == ["mapping.created", "mapping.deleted", "mapping.updated"]
    assert {label for label, _, _ in actions(portal)} == {STAFF}


def test_a_mapping_the_service_refuses_shows_its_message_and_saves_nothing(admin_client_):
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    response = sync_page(admin_client_, clients)
    data = form_data(response)
    prefix, rows = mapping_rows(response)
    data[f"{prefix}-{rows['phone']}-hubspot_property"] = "kleer_id"

    refused = admin_client_.post(f"/admin/integration/objectsync/{clients.pk}/change/", data)

    assert refused.status_code == 200
    form = refused.context["inline_admin_formsets"][0].formset.forms[rows["phone"]]
    assert form.non_field_errors() == ["kleer_id is written by the sync itself and cannot be mapped."]
    assert clients.mappings.filter(hubspot_property="phone").exists()
    assert actions(portal) == []


def test_the_required_mapping_cannot_be_deleted_while_the_object_is_on(admin_client_):
    portal = make_portal(enable=("clients",))
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    response = sync_page(admin_client_, clients)
    data = form_data(response)
    prefix, rows = mapping_rows(response)
    data[f"{prefix}-{rows['name']}-DELETE"] = "on"

    refused = admin_client_.post(f"/admin/integration/objectsync/{clients.pk}/change/", data)

    assert refused.status_code == 200
    formset = refused.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == ["Name (name) is required while Clients sync is on."]
    assert clients.mappings.filter(hubspot_property="name").exists()


def test_switching_on_from_the_object_sync_page(admin_client_):
    portal = make_portal()
    products = ObjectSync.objects.get(portal=portal, object_type="products")
    data = form_data(sync_page(admin_client_, products))
    data["enabled"] = "on"

    admin_client_.post(f"/admin/integration/objectsync/{products.pk}/change/", data)

    assert ObjectSync.objects.get(pk=products.pk).enabled is True
    assert actions(portal) == [(STAFF, "object_sync.enabled", "Products")]


# -- credentials ------------------------------------------------------------------------------------------


def test_replacing_the_key_checks_it_with_kleer_and_saves_it_audited(admin_client_, kleer_check):
    portal = make_portal()
    company_id = KleerCredentials.objects.get(portal=portal).company_id
    data = form_data(page(admin_client_, portal))
    data["kleer_api_key"] = GOOD_NEW_KEY

    saved = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert saved.status_code == 302
    creds = KleerCredentials.objects.get(portal=portal)
    assert (creds.api_key, creds.api_key_last4, creds.company_id) == (GOOD_NEW_KEY, "8765", company_id)
    assert kleer_check.calls == [(company_id, GOOD_NEW_KEY), (company_id, GOOD_NEW_KEY)]  # form check + service
    event = AuditEvent.objects.get(portal=portal, action="credentials.saved")
    assert (event.actor_label, event.after) == (STAFF, {"company_id": company_id, "api_key_change": "changed"})
    assert ("success", f"Kleer credentials saved and verified (company {company_id}, key ••••8765).") in messages_of(
        saved
    )


def test_a_key_kleer_refuses_shows_kleers_message_and_changes_nothing(admin_client_, kleer_check):
    portal = make_portal()
    company_id = KleerCredentials.objects.get(portal=portal).company_id
    data = form_data(page(admin_client_, portal))
    data["kleer_api_key"] = "kleer-wrong-key-0000"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "kleer_api_key": [f"Kleer refused these credentials: Kleer rejected the API key for company {company_id}"]
    }
    assert "kleer-wrong-key-0000" not in refused.content.decode()
    assert KleerCredentials.objects.get(portal=portal).api_key == API_KEY
    assert not AuditEvent.objects.filter(action="credentials.saved").exists()


def test_a_key_with_characters_no_kleer_key_has_is_a_form_error(admin_client_, kleer_check):
    portal = make_portal()
    data = form_data(page(admin_client_, portal))
    data["kleer_api_key"] = "nyckel-åäö-1234"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.status_code == 200
    assert (
        refused.context["adminform"]
        .form.errors["kleer_api_key"][0]
        .startswith("A Kleer API key contains only letters, digits and punctuation")
    )
    assert kleer_check.calls == []
    assert KleerCredentials.objects.get(portal=portal).api_key == API_KEY


def test_a_blank_key_keeps_the_stored_one_and_calls_nobody(admin_client_, kleer_check):
    portal = make_portal()
    admin_client_.post(f"{PORTALS}{portal.pk}/change/", form_data(page(admin_client_, portal)))
    assert KleerCredentials.objects.get(portal=portal).api_key == API_KEY
    assert kleer_check.calls == []


def test_a_new_company_id_is_checked_with_the_stored_key(admin_client_, kleer_check):
    portal = make_portal()
    data = form_data(page(admin_client_, portal))
    data["kleer_company_id"] = "777"

    admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    creds = KleerCredentials.objects.get(portal=portal)
    assert (creds.company_id, creds.api_key) == (777, API_KEY)
    assert kleer_check.calls == [(777, API_KEY), (777, API_KEY)]
    assert AuditEvent.objects.get(action="credentials.saved").after == {"company_id": 777, "api_key_change": "kept"}


def test_a_new_company_id_is_refused_while_the_portal_holds_synced_records(admin_client_, kleer_check):
    portal = make_portal()
    company_id = KleerCredentials.objects.get(portal=portal).company_id
    SyncedRecord.objects.create(portal=portal, object_type="clients", kleer_id="1", hubspot_object="companies")
    data = form_data(page(admin_client_, portal))
    data["kleer_company_id"] = "777"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.context["adminform"].form.errors == {
        "kleer_company_id": [
            f"This portal holds 1 record synced from Kleer company {company_id}. Connecting company 777 would mark "
            f"it deleted in HubSpot and could overwrite records with the same Kleer ids. Keep company "
            f"{company_id}, or ask support to detach the synced records first; nothing was saved."
        ]
    }
    assert KleerCredentials.objects.get(portal=portal).company_id == company_id
    assert kleer_check.calls == []


def test_first_credentials_need_both_fields(admin_client_, kleer_check):
    portal = make_portal(credentials=False)
    data = form_data(page(admin_client_, portal))
    data["kleer_company_id"] = "4242"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.context["adminform"].form.errors == {"kleer_api_key": ["Enter the Kleer API key."]}
    assert not KleerCredentials.objects.filter(portal=portal).exists()
    assert IntervalSchedule.objects.count() == 0
    assert FieldMapping.objects.filter(object_sync__portal=portal).count() > 0
