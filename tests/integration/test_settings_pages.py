"""The settings page tab by tab (Django test client). Calls to Kleer and HubSpot are stubbed at the service
boundary here; test_settings_sandbox.py and tests/browser/ drive the same pages against the sandbox over HTTP.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from integration.catalog import Plan
from integration.clients.errors import PermanentError
from integration.models import AuditEvent, FieldMapping, HubSpotInstallation, KleerCredentials, RecordError, SyncRun
from integration.services import credentials as credentials_service
from integration.services.audit import Actor
from integration.services.installations import portal_install
from integration.services.mappings import MappingError
from integration.views import settings_mappings, settings_objects
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db

HUB = 31
BASE = f"/portals/{HUB}/settings/"
KEY = "kleer-key-never-shown-1234"
ACTOR = f"portal {HUB}: ada@example.com"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture(autouse=True)
def _hubspot_not_asked(monkeypatch):
    """Switching on and changing the target ask HubSpot whether the portal has the object; these page tests have
    no HubSpot (test_settings_sandbox.py asks the sandbox)."""
    monkeypatch.setattr(settings_objects, "_hubspot", lambda object_sync: None)


@pytest.fixture
def portal():
    return portal_install(
        hub_id=HUB, access_token="at", refresh_token="rt", expires_in=1800, scopes=["oauth"], installed_by="o@x.se"
    )


@pytest.fixture
def client(portal):
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = HUB
    session["portal_user_email"] = "ada@example.com"
    session.save()
    return client


@pytest.fixture
def kleer(monkeypatch):
    """Stub Kleer's credential check: a key starting with "bad" is refused with Kleer's message."""
    checked = []

    def check(*, company_id: int, api_key: str) -> str:
        checked.append((company_id, api_key))
        if api_key.startswith("bad"):
            raise credentials_service.CredentialsError(f"Kleer rejected the API key for company {company_id}")
        return "Test AB"

    monkeypatch.setattr(credentials_service, "credentials_check", check)
    return checked


@pytest.fixture
def configured(portal, kleer):
    credentials_service.credentials_save(portal=portal, company_id=4711, api_key=KEY, actor=Actor.system())
    portal.refresh_from_db()
    return portal


PROPERTIES = [
    {"name": "name", "label": "Company name", "type": "string", "fieldType": "text"},
    {"name": "phone", "label": "Phone Number", "type": "string", "fieldType": "phonenumber"},
    {"name": "description", "label": "Description", "type": "string", "fieldType": "textarea"},
    {"name": "numberofemployees", "label": "Employees", "type": "number", "fieldType": "number", "options": []},
    {"name": "is_partner", "label": "Partner", "type": "bool", "fieldType": "booleancheckbox", "options": []},
    {"name": "first_deal", "label": "First deal", "type": "date", "fieldType": "date", "options": []},
    {"name": "last_call", "label": "Last call", "type": "datetime", "fieldType": "date", "options": []},
    {
        "name": "tier",
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "select",
        "options": ["gold", "silver"],
        "optionLabels": {"gold": "Gold", "silver": "Silver"},
    },
    {
        "name": "regions",
        "label": "Regions",
        "type": "enumeration",
        "fieldType": "checkbox",
        "options": ["se", "no"],
        "optionLabels": {"se": "Sweden", "no": "Norway"},
    },
]


@pytest.fixture
def hubspot(monkeypatch):
    """Stub the portal's property list and property creation (the service layer is tested elsewhere)."""

    class Fake:
        properties = list(PROPERTIES)
        refreshed = 0
        created: list = []

        def list(self, *, object_sync, refresh=False):
            self.refreshed += refresh
            return list(self.properties)

        def create(self, *, object_sync, name, label, kleer_field, actor):
            self.created.append((object_sync.hubspot_object, name, label, kleer_field, actor.label))
            self.properties.append({"name": name, "label": label, "type": "string", "fieldType": "text"})
            return {"name": name}

    fake = Fake()
    monkeypatch.setattr(settings_mappings, "hubspot_properties", fake.list)
    monkeypatch.setattr(settings_mappings, "hubspot_property_create", fake.create)
    return fake


# -- General Configuration ------------------------------------------------------------------------------------


def test_general_tab_shows_connection_and_unconfigured_credentials(client):
    page = client.get(BASE).content.decode()
    assert "HubSpot portal <strong>31</strong>" in page
    assert '<span class="badge badge--ok">Connected</span>' in page
    assert "Not configured" in page
    assert 'name="invoice_history_months"' in page and 'value="12"' in page
    assert 'name="archive_deleted"' in page and "checked" not in page.split('name="archive_deleted"')[1][:80]


def test_disconnected_portal_shows_reconnect(client, portal):
    HubSpotInstallation.objects.filter(portal=portal).update(status="disconnected", disconnected_reason="revoked")
    page = client.get(BASE).content.decode()
    assert "Disconnected" in page
    assert 'href="/hubspot/install"' in page and "Reconnect HubSpot" in page


def test_saving_credentials_checks_kleer_then_shows_configured(client, portal, kleer):
    response = client.post(f"{BASE}credentials", {"company_id": "4711", "api_key": KEY})
    assert response.status_code == 302
    assert kleer == [(4711, KEY)]
    creds = KleerCredentials.objects.get(portal=portal)
    assert (creds.company_id, creds.api_key, creds.api_key_last4) == (4711, KEY, "1234")
    page = client.get(response["Location"]).content.decode()
    assert "Kleer credentials saved: Kleer accepted the key." in page
    assert page.count("Configured") >= 3  # section + both fields
    assert "••••1234" in page
    assert KEY not in page
    event = AuditEvent.objects.get(portal=portal, action="credentials.saved")
    assert (event.actor_label, event.after) == (ACTOR, {"company_id": 4711, "api_key_change": "changed"})
    assert KEY not in str(event.before) + str(event.after)


def test_refused_key_shows_kleers_message_and_changes_nothing(client, configured, kleer):
    response = client.post(f"{BASE}credentials", {"company_id": "4711", "api_key": "bad-key-0000"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kleer rejected the API key for company 4711" in page
    assert "bad-key-0000" not in page and KEY not in page
    creds = KleerCredentials.objects.get(portal=configured)
    assert creds.api_key == KEY
    assert AuditEvent.objects.filter(action="credentials.saved").count() == 1  # the fixture's save only


@pytest.mark.parametrize(
    ("bad_key", "message"),
    [
        ("nyckel-åäö-1234", "A Kleer API key contains only letters, digits and punctuation"),
        ("key with spaces", "A Kleer API key contains only letters, digits and punctuation"),
        ("ключ", "A Kleer API key contains only letters, digits and punctuation"),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
def test_a_key_that_cannot_be_a_kleer_key_is_a_form_error_not_a_500(client, configured, kleer, bad_key, message):
    """A non-Latin-1 key used to raise UnicodeEncodeError while the X-Token header was built."""
    response = client.post(f"{BASE}credentials", {"company_id": "4711", "api_key": bad_key})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert KleerCredentials.objects.get(portal=configured).api_key == KEY
    assert AuditEvent.objects.filter(action="credentials.saved").count() == 1  # the fixture's save only


def test_switching_company_under_synced_records_is_refused_until_support_detaches_them(client, configured, kleer):
    from integration.models import SyncedRecord
    from integration.services.portals import portal_detach_synced_records

    for kleer_id in ("1", "2"):
        SyncedRecord.objects.create(
            portal=configured, object_type="clients", kleer_id=kleer_id, hubspot_object="companies", hubspot_id="9"
        )
    response = client.post(f"{BASE}credentials", {"company_id": "4712", "api_key": ""})
    assert response.status_code == 200
    assert (
        "This portal holds 2 records synced from Kleer company 4711. Connecting company 4712 would mark them "
        "deleted in HubSpot and could overwrite records with the same Kleer ids. Keep company 4711, or ask "
        "support to detach the synced records first; nothing was saved."
    ) in response.content.decode()
    assert KleerCredentials.objects.get(portal=configured).company_id == 4711
    assert kleer == [(4711, KEY)]  # the fixture's save only: the refusal asks Kleer nothing
    # The same company with a new key is not a switch.
    assert client.post(f"{BASE}credentials", {"company_id": "4711", "api_key": "new-key-5678"}).status_code == 302

    assert portal_detach_synced_records(portal=configured, actor=Actor.system()) == 2
    assert client.post(f"{BASE}credentials", {"company_id": "4712", "api_key": ""}).status_code == 302
    assert KleerCredentials.objects.get(portal=configured).company_id == 4712


def test_blank_key_keeps_the_stored_one(client, configured, kleer):
    response = client.post(f"{BASE}credentials", {"company_id": "4712", "api_key": ""})
    assert response.status_code == 302
    creds = KleerCredentials.objects.get(portal=configured)
    assert (creds.company_id, creds.api_key) == (4712, KEY)
    assert kleer[-1] == (4712, KEY)  # the kept key is still checked against the new company


def test_first_save_needs_a_key(client, portal, kleer):
    response = client.post(f"{BASE}credentials", {"company_id": "4711", "api_key": ""})
    assert response.status_code == 200
    assert "Enter the Kleer API key." in response.content.decode()
    assert not KleerCredentials.objects.filter(portal=portal).exists()
    assert kleer == []


@pytest.mark.parametrize(
    ("company_id", "message"),
    [
        ("0", "The Kleer Company ID is a positive number."),
        ("-5", "The Kleer Company ID is a positive number."),
        ("abc", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_bad_company_id_changes_nothing(client, portal, kleer, company_id, message):
    response = client.post(f"{BASE}credentials", {"company_id": company_id, "api_key": KEY})
    assert response.status_code == 200
    assert response.context["credentials_form"].errors["company_id"] == [message]
    assert not KleerCredentials.objects.filter(portal=portal).exists()
    assert KEY not in response.content.decode()


def test_sync_configuration_saves_and_audits(client, portal):
    response = client.post(f"{BASE}sync-configuration", {"invoice_history_months": "36", "archive_deleted": "on"})
    assert response.status_code == 302
    portal.refresh_from_db()
    assert (portal.invoice_history_months, portal.archive_deleted) == (36, True)
    event = AuditEvent.objects.get(portal=portal, action="portal.sync_settings_changed")
    assert event.actor_label == ACTOR
    assert event.after == {"invoice_history_months": 36, "archive_deleted": True}


@pytest.mark.parametrize("months", ["0", "121", "-1", "twelve", ""])
def test_invalid_history_window_is_refused(client, portal, months):
    response = client.post(f"{BASE}sync-configuration", {"invoice_history_months": months})
    assert response.status_code == 200
    assert "Enter a number of months from 1 to 120." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    portal.refresh_from_db()
    assert portal.invoice_history_months == 12
    assert not AuditEvent.objects.filter(action="portal.sync_settings_changed").exists()


# -- Object tabs ----------------------------------------------------------------------------------------------


def test_tabs_are_in_catalog_order_with_pro_badges_on_a_free_portal(client):
    page = client.get(f"{BASE}clients/").content.decode()
    nav = page.split('aria-label="Settings sections"')[1].split("</nav>")[0]
    labels = ["General Configuration", "Clients", "Invoices", "Agreements", "Products", "Line Items", "Projects"]
    positions = [nav.index(label) for label in labels]
    assert positions == sorted(positions)
    assert nav.count("badge--pro") == 4
    assert 'aria-current="page"' in nav.split("Clients")[0].rsplit("<a", 1)[1] + "Clients"


def test_clients_tab_shows_mappings_with_labels_and_direction_badges(client):
    page = client.get(f"{BASE}clients/").content.decode()
    assert "Name (name)" in page
    assert "Org. number (orgno)" in page
    row = page.split("Org. number (orgno)")[1].split("</tr>")[0]
    assert "kleer_orgno" in row and ">Two-way<" in row and "One-way" not in row  # HubSpot notifies us about it
    row = page.split("Email (email)")[1].split("</tr>")[0]
    assert "kleer_email" in row and ">Two-way<" in row
    assert 'role="switch"' in page and 'aria-checked="false"' in page


def test_object_type_selector_offers_the_catalogs_targets_only(client):
    page = client.get(f"{BASE}clients/").content.decode()
    select = page.split('name="hubspot_object"')[1].split("</select>")[0]
    assert '<option value="companies" selected>Companies</option>' in select
    assert '<option value="contacts">Contacts</option>' in select
    assert select.count("<option") == 2
    # Products have one target: no selector, a sentence instead.
    page = client.get(f"{BASE}products/").content.decode()
    assert 'name="hubspot_object"' not in page and "Change…" not in page
    assert "Products always sync to HubSpot products: it is the only HubSpot object that fits them." in page


def test_one_way_objects_show_no_direction_badges(client):
    page = client.get(f"{BASE}products/").content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    assert rows and not any("One-way" in row or "Two-way" in row for row in rows)


def test_toggle_refused_without_credentials_with_the_exact_message(client, portal):
    response = client.post(f"{BASE}clients/toggle", {"enabled": "1"}, follow=True)
    page = response.content.decode()
    assert "Clients sync was not switched on. Save your Kleer credentials first (General Configuration)." in page
    assert not portal.object_syncs.get(object_type="clients").enabled


def test_toggle_refused_when_a_required_mapping_is_missing(client, configured):
    configured.object_syncs.get(object_type="clients").mappings.filter(kleer_field="name").delete()
    response = client.post(f"{BASE}clients/toggle", {"enabled": "1"}, follow=True)
    assert "Clients sync was not switched on. Map the required field Name (name) first." in response.content.decode()
    assert not configured.object_syncs.get(object_type="clients").enabled


def test_toggle_refused_for_pro_objects_on_a_free_portal(client, configured):
    response = client.post(f"{BASE}invoices/toggle", {"enabled": "1"}, follow=True)
    assert "Invoices sync was not switched on. Invoices sync needs the Pro plan." in response.content.decode()


def test_toggle_refused_when_hubspot_is_disconnected(client, configured):
    HubSpotInstallation.objects.filter(portal=configured).update(status="disconnected")
    response = client.post(f"{BASE}clients/toggle", {"enabled": "1"}, follow=True)
    assert "HubSpot is disconnected; reconnect the app first." in response.content.decode()


def test_toggle_on_and_off_schedules_and_audits(client, configured):
    response = client.post(f"{BASE}clients/toggle", {"enabled": "1"}, follow=True)
    assert "Clients sync is ON." in response.content.decode()
    assert 'aria-checked="true"' in response.content.decode()
    sync = configured.object_syncs.get(object_type="clients")
    assert sync.enabled and sync.periodic_task.enabled
    client.post(f"{BASE}clients/toggle", {"enabled": "0"})
    sync.refresh_from_db()
    sync.periodic_task.refresh_from_db()
    assert not sync.enabled and not sync.periodic_task.enabled
    actions = list(AuditEvent.objects.filter(action__startswith="object_sync.").values_list("action", "actor_label"))
    assert sorted(actions) == [("object_sync.disabled", ACTOR), ("object_sync.enabled", ACTOR)]


def test_blockers_are_listed_before_switching_on(client):
    page = client.get(f"{BASE}invoices/").content.decode()
    assert "To switch Invoices sync on:" in page
    assert "Invoices sync needs the Pro plan." in page
    assert "Save your Kleer credentials first (General Configuration)." in page


def test_changing_the_target_needs_confirmation(client, configured):
    configured.plan = Plan.PRO
    configured.save()
    sync = configured.object_syncs.get(object_type="invoices")
    before = list(sync.mappings.values_list("hubspot_property", flat=True))
    page = client.get(f"{BASE}invoices/target", {"hubspot_object": "deals"}).content.decode()
    assert "Sync invoices to HubSpot deals instead of invoices?" in page
    assert f"The {len(before)} current mappings of this tab are replaced by the default mappings for deals" in page
    assert "The 0 records already synced to HubSpot invoices stay there" in page
    sync.refresh_from_db()
    assert sync.hubspot_object == "invoices"
    # Without the explicit confirmation nothing changes either.
    client.post(f"{BASE}invoices/target", {"hubspot_object": "deals"})
    sync.refresh_from_db()
    assert sync.hubspot_object == "invoices"
    response = client.post(f"{BASE}invoices/target", {"hubspot_object": "deals", "confirm": "yes"}, follow=True)
    assert "Invoices now sync to HubSpot Deals." in response.content.decode()
    sync.refresh_from_db()
    assert sync.hubspot_object == "deals"
    assert "dealname" in list(sync.mappings.values_list("hubspot_property", flat=True))
    event = AuditEvent.objects.get(action="object_sync.target_changed")
    assert (event.actor_label, event.before, event.after) == (
        ACTOR,
        {"hubspot_object": "invoices"},
        {"hubspot_object": "deals"},
    )


def test_target_not_allowed_for_the_object_is_refused(client, configured):
    response = client.post(f"{BASE}products/target", {"hubspot_object": "companies", "confirm": "yes"}, follow=True)
    assert "Products can sync to Products only." in response.content.decode()
    assert configured.object_syncs.get(object_type="products").hubspot_object == "products"


def test_pipeline_and_stage_for_deal_targets(client, configured, monkeypatch):
    pipelines = [
        {"id": "default", "label": "Sales", "displayOrder": 0, "stages": [{"id": "s1", "label": "New"}]},
        {"id": "p2", "label": "Renewals", "displayOrder": 1, "stages": [{"id": "r1", "label": "Due"}, {"id": "r2"}]},
    ]
    monkeypatch.setattr(settings_objects, "_pipelines", lambda object_sync: (pipelines, ""))
    sync = configured.object_syncs.get(object_type="projects")
    page = client.get(f"{BASE}projects/").content.decode()
    assert "Pipeline and stage" in page and "Renewals" in page
    bad = client.post(f"{BASE}projects/pipeline", {"pipeline_id": "default", "stage_id": "r1"})
    assert "That stage is not in the chosen pipeline." in bad.content.decode()
    client.post(f"{BASE}projects/pipeline", {"pipeline_id": "p2", "stage_id": ""})
    sync.refresh_from_db()
    assert (sync.pipeline_id, sync.stage_id) == ("p2", "r1")
    event = AuditEvent.objects.get(action="object_sync.pipeline_changed")
    assert event.after == {"pipeline_id": "p2", "stage_id": "r1"} and event.actor_label == ACTOR


def test_sync_now_refused_with_the_reason(client, configured):
    response = client.post(f"{BASE}clients/sync", follow=True)
    assert "Clients sync is switched off." in response.content.decode()


def test_sync_now_queues_one_run_after_commit_and_audits(client, configured, django_capture_on_commit_callbacks):
    client.post(f"{BASE}clients/toggle", {"enabled": "1"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"{BASE}clients/sync", follow=True)
    assert "Clients sync is queued; this page shows when it runs." in response.content.decode()
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="sync.requested")
    assert (event.target, event.after, event.actor_label) == ("Clients", {"trigger": "manual"}, ACTOR)


def test_line_items_explain_they_run_with_invoices_and_agreements(client):
    page = client.get(f"{BASE}line_items/").content.decode()
    assert "Line Items are not synced on their own: they run with invoices and agreements" in page
    assert "Sync now" not in page


def test_sync_status_shows_last_run_counts_next_run_and_record_errors(client, configured):
    sync = configured.object_syncs.get(object_type="clients")
    client.post(f"{BASE}clients/toggle", {"enabled": "1"})
    run = SyncRun.objects.create(
        portal=configured, object_type="clients", status="partial", read=8, created=6, updated=1, failed=1
    )
    RecordError.objects.create(
        portal=configured, object_type="clients", kleer_id="17", run=run, message="Property values were not valid"
    )
    page = client.get(f"{BASE}clients/").content.decode()
    assert "Partial (some records failed)" in page
    assert "8 read" in page and "6 created" in page and "1 failed" in page
    assert "Kleer 17</strong>: Property values were not valid" in page
    sync.refresh_from_db()
    assert sync.periodic_task.enabled
    # Switched on just now: beat fires it at its next tick, whatever the interval (issue 14 point 4).
    assert "Now: the scheduler starts it within seconds" in page
    # Beat has run it: the next run is its last start plus the 15-minute interval.
    last = timezone.now() - dt.timedelta(minutes=5)
    sync.periodic_task.last_run_at = last
    sync.periodic_task.save()
    page = client.get(f"{BASE}clients/").content.decode()
    expected = timezone.localtime(last + dt.timedelta(minutes=15))
    assert f'<time datetime="{expected.isoformat()}">{expected:%Y-%m-%d %H:%M %Z}</time>' in page


# -- Mappings -------------------------------------------------------------------------------------------------


def test_add_mapping_page_lists_the_portals_properties(client, hubspot):
    page = client.get(f"{BASE}clients/mappings/new").content.decode()
    assert '<option value="description">Description (description)</option>' in page
    assert 'data-suggest-name="kleer_foreign_id"' in page
    assert "Create new property" in page
    assert "<html" in page  # a page of its own without JavaScript


def test_dialog_requests_get_the_form_alone(client, hubspot):
    page = client.get(f"{BASE}clients/mappings/new", HTTP_X_DIALOG="1").content.decode()
    assert "<html" not in page and 'class="mapping-form"' in page


def test_add_mapping_saves_and_audits(client, portal, hubspot):
    data = {"action": "save", "kleer_field": "contact", "hubspot_property": "description", "default_value": "-"}
    response = client.post(f"{BASE}clients/mappings/new", data)
    assert response.status_code == 302
    mapping = FieldMapping.objects.get(object_sync__portal=portal, hubspot_property="description")
    assert (mapping.kleer_field, mapping.default_value) == ("contact", "-")
    event = AuditEvent.objects.get(action="mapping.created")
    assert event.actor_label == ACTOR and event.after["hubspot_property"] == "description"


def test_dialog_save_answers_204_with_the_location(client, portal, hubspot):
    data = {"action": "save", "kleer_field": "contact", "hubspot_property": "description"}
    response = client.post(f"{BASE}clients/mappings/new", data, HTTP_X_DIALOG="1")
    assert response.status_code == 204
    assert response["X-Location"] == f"{BASE}clients/#mappings"


def test_none_field_needs_a_default_value(client, portal, hubspot):
    data = {"action": "save", "kleer_field": "", "hubspot_property": "description", "default_value": ""}
    response = client.post(f"{BASE}clients/mappings/new", data)
    assert response.status_code == 200
    assert "With &quot;None&quot; as the Kleer field, enter the default value to write." in response.content.decode()
    data["default_value"] = "Kleer"
    assert client.post(f"{BASE}clients/mappings/new", data).status_code == 302
    mapping = FieldMapping.objects.get(object_sync__portal=portal, hubspot_property="description")
    assert (mapping.kleer_field, mapping.default_value) == ("", "Kleer")
    page = client.get(f"{BASE}clients/").content.decode()
    assert "<em>None</em>" in page


@pytest.mark.parametrize(
    ("hubspot_property", "default", "message"),
    [
        ("numberofemployees", "ten", "Employees is a number property in HubSpot: enter a number such as 12 or 12.5."),
        ("numberofemployees", "1,5", "Employees is a number property in HubSpot: enter a number such as 12 or 12.5."),
        ("is_partner", "yes", "Partner is a yes/no property in HubSpot: enter true or false."),
        (
            "first_deal",
            "31.01.2025",
            "First deal is a date property in HubSpot: enter the date as YYYY-MM-DD, e.g. 2025-01-31.",
        ),
        (
            "first_deal",
            "2025-02-30",
            "First deal is a date property in HubSpot: enter the date as YYYY-MM-DD, e.g. 2025-01-31.",
        ),
        (
            "last_call",
            "tomorrow",
            "Last call is a date and time property in HubSpot: enter a date (2025-01-31) or a date and time "
            "(2025-01-31T09:00:00Z).",
        ),
        (  # "²".isdigit() is true; int("²") fails at sync time
            "last_call",
            "²",
            "Last call is a date and time property in HubSpot: enter a date (2025-01-31) or a date and time "
            "(2025-01-31T09:00:00Z).",
        ),
        (
            "last_call",
            "١٧٠٠٠٠٠٠٠٠٠٠٠",
            "Last call is a date and time property in HubSpot: enter a date (2025-01-31) or a date and time "
            "(2025-01-31T09:00:00Z).",
        ),
        (
            "tier",
            "Gold",
            'Tier takes one of its options in HubSpot (the internal values): gold, silver. "Gold" is the label: '
            "enter gold.",
        ),
        (
            "regions",
            "se;Norway",
            "Regions takes one of its options in HubSpot (the internal values): se (Sweden), no (Norway). "
            '"Norway" is the label: enter no.',
        ),
        (
            "regions",
            "se;dk",
            "Regions takes one of its options in HubSpot (the internal values): se (Sweden), no (Norway).",
        ),
    ],
)
def test_default_value_hubspot_would_refuse_is_refused(client, portal, hubspot, hubspot_property, default, message):
    data = {"action": "save", "kleer_field": "", "hubspot_property": hubspot_property, "default_value": default}
    response = client.post(f"{BASE}clients/mappings/new", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_default_value_error"><li>{escape(message)}</li></ul>' in page
    assert 'aria-invalid="true"' in page.split('name="default_value"')[1].split(">")[0]
    assert not FieldMapping.objects.filter(object_sync__portal=portal, hubspot_property=hubspot_property).exists()
    assert not AuditEvent.objects.filter(action="mapping.created").exists()


@pytest.mark.parametrize(
    ("hubspot_property", "default"),
    [
        ("numberofemployees", "12.5"),
        ("numberofemployees", "-3"),
        ("is_partner", "false"),
        ("first_deal", "2025-01-31"),
        ("last_call", "2025-01-31T09:00:00Z"),
        ("last_call", "1738314000000"),
        ("tier", "gold"),
        ("regions", "se;no"),
        ("description", "anything at all"),
    ],
)
def test_default_value_hubspot_accepts_is_saved(client, portal, hubspot, hubspot_property, default):
    data = {"action": "save", "kleer_field": "", "hubspot_property": hubspot_property, "default_value": default}
    assert client.post(f"{BASE}clients/mappings/new", data).status_code == 302
    mapping = FieldMapping.objects.get(object_sync__portal=portal, hubspot_property=hubspot_property)
    assert (mapping.kleer_field, mapping.default_value) == ("", default)


def test_duplicate_property_is_refused_with_the_services_message(client, portal, hubspot):
    data = {"action": "save", "kleer_field": "contact", "hubspot_property": "phone"}
    response = client.post(f"{BASE}clients/mappings/new", data)
    assert "phone is already mapped on this tab; edit that mapping instead." in response.content.decode()


def test_edit_mapping_keeps_a_property_hubspot_does_not_list_yet(client, portal, hubspot):
    mapping = FieldMapping.objects.get(object_sync__portal=portal, hubspot_property="kleer_orgno")
    page = client.get(f"{BASE}clients/mappings/{mapping.pk}/").content.decode()
    assert '<option value="kleer_orgno" selected>kleer_orgno</option>' in page
    data = {"action": "save", "kleer_field": "vat-nr", "hubspot_property": "kleer_orgno", "default_value": ""}
    assert client.post(f"{BASE}clients/mappings/{mapping.pk}/", data).status_code == 302
    mapping.refresh_from_db()
    assert mapping.kleer_field == "vat-nr"
    event = AuditEvent.objects.get(action="mapping.updated")
    assert event.before["kleer_field"] == "orgno" and event.after["kleer_field"] == "vat-nr"


def test_refresh_reloads_the_property_list_and_keeps_the_input(client, hubspot):
    data = {"action": "refresh", "kleer_field": "contact", "hubspot_property": "", "default_value": "x"}
    page = client.post(f"{BASE}clients/mappings/new", data).content.decode()
    assert hubspot.refreshed == 1
    assert "Property list refreshed from HubSpot." in page
    assert '<option value="contact" selected data-suggest-label="Kleer Contact"' in page


def test_create_new_property_with_the_suggestion_and_select_it(client, portal, hubspot):
    data = {"action": "create_property", "kleer_field": "foreign-id", "new_property_label": "", "new_property_name": ""}
    page = client.post(f"{BASE}clients/mappings/new", data).content.decode()
    assert hubspot.created == [("companies", "kleer_foreign_id", "Kleer Foreign ID", "foreign-id", ACTOR)]
    assert "Created <code>kleer_foreign_id</code> in HubSpot and selected it." in page
    assert '<option value="kleer_foreign_id" selected>Kleer Foreign ID (kleer_foreign_id)</option>' in page


@pytest.mark.parametrize(
    "name", ["Kleer Foreign", "1kleer", "kleer-foreign", "kleer foreign", "KLEER_X", "k" * 100, "_kleer"]
)
def test_bad_property_name_is_refused_as_hubspot_would(client, portal, hubspot, name):
    data = {
        "action": "create_property",
        "kleer_field": "foreign-id",
        "new_property_label": "X",
        "new_property_name": name,
    }
    page = client.post(f"{BASE}clients/mappings/new", data).content.decode()
    assert "Names for properties should be lowercase and have less than 100 characters" in page
    assert hubspot.created == []


def test_creating_a_property_hubspot_refuses_shows_hubspots_message(client, portal, hubspot, monkeypatch):
    def refuse(**kwargs):
        raise PermanentError("Property already exists with a different type", service="HubSpot", status=400)

    monkeypatch.setattr(settings_mappings, "hubspot_property_create", refuse)
    data = {"action": "create_property", "kleer_field": "gln", "new_property_label": "", "new_property_name": ""}
    page = client.post(f"{BASE}clients/mappings/new", data).content.decode()
    assert "HubSpot did not create it: Property already exists with a different type" in page


def test_property_list_unavailable_falls_back_to_typing_the_name(client, portal, monkeypatch):
    def unavailable(**kwargs):
        raise PermanentError("This app hasn't been granted all required scopes", service="HubSpot", status=403)

    monkeypatch.setattr(settings_mappings, "hubspot_properties", unavailable)
    page = client.get(f"{BASE}clients/mappings/new").content.decode()
    assert "Could not read the properties from HubSpot (This app hasn&#x27;t been granted all required scopes)" in page
    assert '<input type="text" name="hubspot_property"' in page


def test_delete_mapping_asks_then_deletes(client, portal, hubspot):
    mapping = FieldMapping.objects.get(object_sync__portal=portal, hubspot_property="phone")
    page = client.get(f"{BASE}clients/mappings/{mapping.pk}/delete").content.decode()
    assert "Delete mapping?" in page
    assert FieldMapping.objects.filter(pk=mapping.pk).exists()
    response = client.post(f"{BASE}clients/mappings/{mapping.pk}/delete", follow=True)
    assert "Mapping to phone deleted." in response.content.decode()
    assert not FieldMapping.objects.filter(pk=mapping.pk).exists()
    assert AuditEvent.objects.get(action="mapping.deleted").actor_label == ACTOR


def test_required_mapping_cannot_be_deleted_while_on(client, configured):
    client.post(f"{BASE}clients/toggle", {"enabled": "1"})
    mapping = FieldMapping.objects.get(
        object_sync__portal=configured, object_sync__object_type="clients", kleer_field="name"
    )
    response = client.post(f"{BASE}clients/mappings/{mapping.pk}/delete", follow=True)
    assert "Name (name) is required while Clients sync is on." in response.content.decode()
    assert FieldMapping.objects.filter(pk=mapping.pk).exists()


def test_required_mapping_cannot_be_remapped_to_another_field_while_on(client, configured):
    client.post(f"{BASE}clients/toggle", {"enabled": "1"})
    mapping = FieldMapping.objects.get(
        object_sync__portal=configured, object_sync__object_type="clients", kleer_field="name"
    )
    data = {"action": "save", "kleer_field": "contact", "hubspot_property": "name", "default_value": ""}
    response = client.post(f"{BASE}clients/mappings/{mapping.pk}/", data)
    assert response.status_code == 200
    assert "Name (name) is required while Clients sync is on." in response.content.decode()
    mapping.refresh_from_db()
    assert mapping.kleer_field == "name"
    assert not AuditEvent.objects.filter(action="mapping.updated").exists()


def test_mapping_error_type_is_what_the_view_catches():
    assert issubclass(MappingError, ValueError)
