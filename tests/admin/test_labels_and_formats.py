"""Issue 14 point 10, labels and formats: one date-time format with its zone, names spelled as the products
spell them, schedules in words, the beat form naming our task, field labels without doubled brackets, the
state → city hint, default values fitted to the property type, and no 404s for the favicon or "View site"."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask

from integration import catalog
from integration.forms import MappingForm, default_value_error
from integration.models import SyncRun
from integration.selectors import interval_text
from tests.admin.conftest import make_portal
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db

ISO_WITH_ZONE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} (CET|CEST)"


def test_one_date_time_format_with_the_zone_in_templates_and_the_admin(admin_client):
    moment = dt.datetime(2026, 3, 14, 8, 5, tzinfo=dt.UTC)
    rendered = Template('{{ when|date:"DATETIME_FORMAT" }} | {{ when }}').render(Context({"when": moment}))
    assert rendered == "2026-03-14 09:05 CET | 2026-03-14 09:05 CET"
    summer = Template("{{ when }}").render(Context({"when": moment.replace(month=7)}))
    assert summer == "2026-07-14 10:05 CEST"
    portal = make_portal()
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="succeeded")
    html = admin_client.get(f"/admin/integration/syncrun/{run.pk}/change/").content.decode()
    local = timezone.localtime(run.started_at, zoneinfo.ZoneInfo("Europe/Stockholm"))
    assert f"{local:%Y-%m-%d %H:%M} {local:%Z}" in html
    assert not re.search(r"\b(a\.m\.|p\.m\.)", html)


def test_hubspot_is_spelled_as_hubspot_spells_it(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "HubSpot installations" in html
    assert "Hub spot" not in html and "hub spot" not in html


def test_intervals_read_as_words():
    with translation.override("en"):
        words = [interval_text(m) for m in (15, 30, 60, 240, 1440, 2880)]
    assert words == [
        "every 15 minutes",
        "every 30 minutes",
        "hourly",
        "every 4 hours",
        "daily",
        "every 2 days",
    ]


def test_a_daily_schedule_says_daily_in_the_admin(admin_client):
    portal = make_portal(enable=("products", "clients"))
    page = admin_client.get(f"/admin/integration/portal/{portal.pk}/change/").content.decode()
    assert ">daily</a>" in page and ">every 15 minutes</a>" in page
    tasks = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert '<td class="field-schedule">daily</td>' in tasks
    assert '<td class="field-schedule">every 15 minutes</td>' in tasks
    assert "field-interval" not in tasks and "field-scheduler" not in tasks


def test_the_beat_form_names_the_task_a_row_runs(admin_client):
    portal = make_portal(enable=("clients",))
    task = PeriodicTask.objects.get(name=f"sync:{portal.hub_id}:clients")
    html = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/").content.decode()
    select = re.search(r'<select name="regtask".*?</select>', html, re.S).group(0)
    assert '<option value="integration.tasks.object_sync_run" selected>' in select
    assert '<option value="integration.tasks.housekeeping_prune">' in select


def test_no_field_label_has_doubled_brackets():
    displays = [field.display for spec in catalog.REGISTRY.values() for field in spec.fields]
    assert [d for d in displays if ") (" in d] == []
    clients = catalog.get("clients")
    assert clients.field("address.country").display == "Country (address, address.country)"
    assert clients.field("address.zip-code").display == "Zip code (address.zip-code)"


def test_why_state_goes_to_city_is_said_on_the_tab():
    clients = catalog.get("clients")
    assert ("address.state", "city") in {
        (m.kleer_field, m.hubspot_property) for m in clients.default_target.default_mappings
    }
    assert "postal town" in clients.field("address.state").hint
    assert catalog.get("invoices").field("invoice-address.state").hint == clients.field("address.state").hint


def test_the_clients_tab_shows_the_hint_under_state():
    portal = make_portal()
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = portal.hub_id
    session.save()
    html = client.get(f"/portals/{portal.hub_id}/settings/clients/").content.decode()
    row = re.search(r"<td[^>]*>State \(address\.state\).*?</td>", html, re.S).group(0)
    assert "Kleer&#x27;s “state” holds the postal town of a Swedish address (e.g. Stockholm)" in row


PROPERTIES = [
    {
        "name": "kleer_delivery_method",
        "label": "Delivery method",
        "type": "enumeration",
        "fieldType": "select",
        "options": ["Mail", "Email", "Svefaktura"],
        "optionLabels": {"Mail": "Letter", "Email": "Email", "Svefaktura": "Svefaktura"},
    },
    {"name": "kleer_active", "label": "Active", "type": "bool", "fieldType": "booleancheckbox"},
    {"name": "kleer_start", "label": "Start", "type": "date", "fieldType": "date"},
    {"name": "kleer_seen", "label": "Seen", "type": "datetime", "fieldType": "date"},
    {"name": "kleer_note", "label": "Note", "type": "string", "fieldType": "text"},
]


def default_input(prop: str, value: str = "") -> str:
    form = MappingForm(
        initial={"hubspot_property": prop, "default_value": value},
        spec=catalog.get("clients"),
        properties=PROPERTIES,
    )
    return str(form["default_value"])


def test_an_option_property_offers_its_options_in_a_dropdown():
    html = default_input("kleer_delivery_method", "Email")
    assert html.startswith('<select name="default_value"')
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)
    assert options == [
        ("", "", "(no default)"),
        ("Mail", "", "Mail (Letter)"),
        ("Email", " selected", "Email"),
        ("Svefaktura", "", "Svefaktura"),
    ]


def test_yes_no_and_date_properties_get_fitting_inputs_and_text_stays_a_text_box():
    assert re.findall(r'<option value="(\w*)"', default_input("kleer_active")) == ["", "true", "false"]
    assert 'type="date"' in default_input("kleer_start", "2025-01-31")
    assert 'value="2025-01-31"' in default_input("kleer_start", "2025-01-31")
    assert default_input("kleer_note").startswith('<input type="text" name="default_value"')


def test_date_defaults_accept_a_plain_date():
    seen, start = PROPERTIES[3], PROPERTIES[2]
    assert default_value_error(seen, "2025-01-31") == ""
    assert default_value_error(start, "2025-01-31") == ""
    assert default_value_error(seen, "31/1") == (
        "Seen is a date and time property in HubSpot: enter a date (2025-01-31) or a date and time "
        "(2025-01-31T09:00:00Z)."
    )
    form = MappingForm(
        {"kleer_field": "", "hubspot_property": "kleer_seen", "default_value": "2025-01-31"},
        spec=catalog.get("clients"),
        properties=PROPERTIES,
    )
    assert form.is_valid(), form.errors


def test_the_dialog_asks_for_the_default_input_of_the_chosen_property(monkeypatch):
    from integration.views import settings_mappings

    portal = make_portal()
    monkeypatch.setattr(settings_mappings, "_properties", lambda object_sync, refresh=False: (PROPERTIES, ""))
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = portal.hub_id
    session.save()
    url = f"/portals/{portal.hub_id}/settings/clients/mappings/new"
    html = client.get(url, {"fragment": "default", "hubspot_property": "kleer_active", "default_value": "true"})
    fragment = html.content.decode()
    assert 'id="default-value" data-default-url="' in fragment
    assert '<option value="true" selected>' in fragment


def test_the_favicon_answers():
    response = Client().get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/favicon.svg")
    assert finders.find("favicon.svg") is not None


def test_the_admin_has_no_view_site_link_to_a_missing_page(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "View site" not in html
    assert Client().get("/").status_code == 404  # there is no site to view


def test_times_on_the_settings_page_are_in_the_portals_time_zone():
    portal = make_portal(time_zone="America/New_York")
    started = dt.datetime(2026, 1, 15, 17, 30, tzinfo=dt.UTC)
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="succeeded")
    SyncRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=started + dt.timedelta(minutes=1))
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = portal.hub_id
    session.save()
    html = client.get(f"/portals/{portal.hub_id}/settings/clients/").content.decode()
    assert '<time datetime="2026-01-15T12:30:00-05:00">2026-01-15 12:30 EST</time>' in html
