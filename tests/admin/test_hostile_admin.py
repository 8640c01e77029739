"""Hostile input to the back office: each used to answer 500. Now a form error or a 4xx, and nothing written.

The test client re-raises a view's exception, so a case that still crashed would fail with its traceback.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration.models import AuditEvent, FieldMapping, ObjectSync, Portal
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, form_data, inline_prefix

pytestmark = pytest.mark.django_db

OBJECT_SYNCS = "/admin/integration/objectsync/"
TASKS = "/admin/django_celery_beat/periodictask/"
CHANGELISTS_WITH_PORTAL_BOX = [
    OBJECT_SYNCS,
    "/admin/integration/syncedrecord/",
    "/admin/integration/syncrun/",
    "/admin/integration/recorderror/",
    "/admin/integration/inboundevent/",
    "/admin/integration/auditevent/",
]
SEARCHABLE = [
    PORTALS,
    *CHANGELISTS_WITH_PORTAL_BOX,
    "/admin/integration/hubspotinstallation/",
    "/admin/integration/kleercredentials/",
    TASKS,
    "/admin/accounts/user/",
]
BAD_REQUEST = "The address holds a NUL character, which no filter or search takes."


def nothing_written(portal: Portal, mappings: dict[str, str]) -> None:
    assert AuditEvent.objects.filter(portal=portal).count() == 0
    assert not LogEntry.objects.exists()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    assert dict(clients.mappings.values_list("hubspot_property", "kleer_field")) == mappings


def mapping_page(client, object_sync: ObjectSync):
    response = client.get(f"{OBJECT_SYNCS}{object_sync.pk}/change/")
    prefix, forms = inline_prefix(response, "fieldmapping")
    return response, prefix, {form.instance.hubspot_property: n for n, form in enumerate(forms)}


# -- mappings ----------------------------------------------------------------------------------------------


def test_mapping_a_row_to_a_property_another_row_writes_is_a_form_error(admin_client_):
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    before = dict(clients.mappings.values_list("hubspot_property", "kleer_field"))
    response, prefix, rows = mapping_page(admin_client_, clients)
    data = form_data(response)
    data[f"{prefix}-{rows['phone']}-hubspot_property"] = "name"

    refused = admin_client_.post(f"{OBJECT_SYNCS}{clients.pk}/change/", data)

    assert refused.status_code == 200
    formset = refused.context["inline_admin_formsets"][0].formset
    assert formset.forms[rows["phone"]].errors["hubspot_property"] == [
        "name is written by another mapping of Clients; change or delete that one first."
    ]
    nothing_written(portal, before)


def test_a_new_row_for_a_property_already_mapped_is_a_form_error(admin_client_):
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    before = dict(clients.mappings.values_list("hubspot_property", "kleer_field"))
    response, prefix, rows = mapping_page(admin_client_, clients)
    data = form_data(response)
    total = len(rows)
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(total + 1),
            f"{prefix}-{total}-kleer_field": "contact",
            f"{prefix}-{total}-hubspot_property": "phone",
            f"{prefix}-{total}-default_value": "",
            f"{prefix}-{total}-object_sync": str(clients.pk),
        }
    )

    refused = admin_client_.post(f"{OBJECT_SYNCS}{clients.pk}/change/", data)

    assert refused.status_code == 200
    formset = refused.context["inline_admin_formsets"][0].formset
    assert formset.forms[total].errors["hubspot_property"] == [
        "phone is written by another mapping of Clients; change or delete that one first."
    ]
    nothing_written(portal, before)


def test_swapping_two_rows_properties_in_one_save_is_a_form_error(admin_client_):
    """Saved one by one, the first row would collide with the second's current property."""
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    before = dict(clients.mappings.values_list("hubspot_property", "kleer_field"))
    response, prefix, rows = mapping_page(admin_client_, clients)
    data = form_data(response)
    data[f"{prefix}-{rows['phone']}-hubspot_property"] = "kleer_email"
    data[f"{prefix}-{rows['kleer_email']}-hubspot_property"] = "phone"

    refused = admin_client_.post(f"{OBJECT_SYNCS}{clients.pk}/change/", data)

    assert refused.status_code == 200
    formset = refused.context["inline_admin_formsets"][0].formset
    assert formset.forms[rows["phone"]].errors["hubspot_property"] == [
        "kleer_email is written by another mapping of Clients; change or delete that one first."
    ]
    nothing_written(portal, before)


def test_a_row_freed_by_a_deleted_row_can_take_its_property(admin_client_):
    portal = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    response, prefix, rows = mapping_page(admin_client_, clients)
    data = form_data(response)
    data[f"{prefix}-{rows['kleer_email']}-DELETE"] = "on"
    data[f"{prefix}-{rows['phone']}-hubspot_property"] = "kleer_email"

    saved = admin_client_.post(f"{OBJECT_SYNCS}{clients.pk}/change/", data)

    assert saved.status_code == 302
    assert clients.mappings.get(hubspot_property="kleer_email").kleer_field == "phone"
    assert not clients.mappings.filter(hubspot_property="phone").exists()


@pytest.mark.parametrize("tampered", ["999999", "abc", "", "²"])
def test_a_tampered_mapping_row_id_is_a_form_error(admin_client_, tampered):
    portal = make_portal()
    other = make_portal()
    clients = ObjectSync.objects.get(portal=portal, object_type="clients")
    before = dict(clients.mappings.values_list("hubspot_property", "kleer_field"))
    foreign = FieldMapping.objects.filter(object_sync__portal=other).first()
    response, prefix, rows = mapping_page(admin_client_, clients)
    data = form_data(response)
    data[f"{prefix}-{rows['phone']}-id"] = tampered if tampered != "999999" else str(foreign.pk)
    data[f"{prefix}-{rows['phone']}-kleer_field"] = "contact"

    refused = admin_client_.post(f"{OBJECT_SYNCS}{clients.pk}/change/", data)

    assert refused.status_code == 200
    assert refused.context["inline_admin_formsets"][0].formset.forms[rows["phone"]].errors["id"]
    nothing_written(portal, before)
    assert foreign.object_sync.portal == other
    assert FieldMapping.objects.get(pk=foreign.pk).kleer_field == foreign.kleer_field


@pytest.mark.parametrize("tampered", ["foreign", "999999", "abc"])
def test_a_tampered_object_row_id_on_the_portal_page_is_a_form_error(admin_client_, tampered):
    portal = make_portal()
    other = make_portal()
    response = admin_client_.get(f"{PORTALS}{portal.pk}/change/")
    data = form_data(response)
    prefix, forms = inline_prefix(response, "objectsync")
    row = next(n for n, form in enumerate(forms) if form.instance.object_type == "products")
    foreign = ObjectSync.objects.get(portal=other, object_type="products")
    data[f"{prefix}-{row}-id"] = str(foreign.pk) if tampered == "foreign" else tampered
    data[f"{prefix}-{row}-enabled"] = "on"

    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)

    assert refused.status_code == 200
    assert ObjectSync.objects.filter(enabled=True).count() == 0
    assert AuditEvent.objects.count() == 0
    assert not LogEntry.objects.exists()


# -- lists: filters, search, actions ----------------------------------------------------------------------


@pytest.mark.parametrize("changelist", CHANGELISTS_WITH_PORTAL_BOX)
@pytest.mark.parametrize("value", ["²", "١٢", "12\x00", "𝟙"])
def test_a_portal_box_value_that_is_no_ascii_number_lists_nothing(admin_client_, changelist, value):
    make_portal(hub_id=12, enable=("clients",))

    response = admin_client_.get(changelist, {"portal": value})

    if "\x00" in value:
        assert (response.status_code, response.content.decode()) == (400, BAD_REQUEST)
    else:
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("changelist", SEARCHABLE)
def test_a_nul_in_the_search_box_is_a_400(admin_client_, changelist):
    make_portal()
    response = admin_client_.get(changelist, {"q": "Acme\x00"})
    assert (response.status_code, response.content.decode()) == (400, BAD_REQUEST)


@pytest.mark.parametrize(
    ("changelist", "parameter"),
    [
        (PORTALS, "status__exact"),
        (PORTALS, "plan__exact"),
        (OBJECT_SYNCS, "object_type__exact"),
        ("/admin/integration/syncrun/", "status__exact"),
        ("/admin/integration/recorderror/", "state"),
        ("/admin/integration/auditevent/", "action__exact"),
        ("/admin/integration/hubspotinstallation/", "status__exact"),
        (TASKS, "task"),
    ],
)
def test_a_nul_in_a_list_filter_value_is_a_400(admin_client_, changelist, parameter):
    make_portal()
    response = admin_client_.get(changelist, {parameter: "active\x00"})
    assert (response.status_code, response.content.decode()) == (400, BAD_REQUEST)


def test_the_portal_page_with_a_nul_in_its_address_is_a_400(admin_client_):
    portal = make_portal()
    response = admin_client_.get(f"{PORTALS}{portal.pk}/change/", {"_changelist_filters": "q=\x00"})
    assert (response.status_code, response.content.decode()) == (400, BAD_REQUEST)


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        (PORTALS, "pause"),
        (PORTALS, "sync_now"),
        ("/admin/integration/recorderror/", "retry_errors"),
        (TASKS, "enable_tasks"),
    ],
)
@pytest.mark.parametrize("selected", ["abc", "²", "1\x00", "9" * 40])
def test_a_non_numeric_selected_row_is_refused_and_nothing_changes(admin_client_, changelist, action, selected):
    portal = make_portal(enable=("clients",))
    tasks_before = list(PeriodicTask.objects.order_by("pk").values_list("pk", "enabled"))
    audit_before = AuditEvent.objects.count()

    response = admin_client_.post(changelist, {"action": action, ACTION_CHECKBOX_NAME: [selected], "index": 0})

    assert response.status_code == 400
    assert response.content.decode() == "The selected rows must be given by their numeric ids."
    portal.refresh_from_db()
    assert portal.status == "active"
    assert list(PeriodicTask.objects.order_by("pk").values_list("pk", "enabled")) == tasks_before
    assert AuditEvent.objects.count() == audit_before


# -- django-celery-beat's task form ------------------------------------------------------------------------


def task_form_data(**overrides: object) -> dict[str, object]:
    interval, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    data = {
        "name": "ops-made",
        "regtask": "integration.tasks.housekeeping_prune",
        "task": "",
        "enabled": "on",
        "interval": str(interval.pk),
        "args": "[]",
        "kwargs": "{}",
        "headers": "{}",
        "priority": "",
        "expire_seconds": "",
        "queue": "",
        "exchange": "",
        "routing_key": "",
        "description": "",
        "start_time_0": "",
        "start_time_1": "",
        "last_run_at_0": "",
        "last_run_at_1": "",
    }
    data.update(overrides)
    return data


def test_a_valid_periodic_task_form_saves(ops_client):
    response = ops_client.post(f"{TASKS}add/", task_form_data())
    assert response.status_code == 302
    assert PeriodicTask.objects.get(name="ops-made").task == "integration.tasks.housekeeping_prune"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"regtask": ""}, "__all__", "Need name of task"),
        ({"regtask": "", "task": "x" * 201}, "__all__", "Need name of task"),
        ({"headers": "null"}, "headers", "Enter a JSON object, e.g. {}."),
        ({"headers": "[1]"}, "headers", "Enter a JSON object, e.g. {}."),
        ({"kwargs": "null"}, "kwargs", "Enter a JSON object, e.g. {}."),
        ({"args": "null"}, "args", "Enter a JSON list, e.g. []."),
        ({"args": "{}"}, "args", "Enter a JSON list, e.g. []."),
    ],
)
def test_a_periodic_task_form_without_a_task_or_with_null_json_is_a_form_error(ops_client, overrides, field, message):
    response = ops_client.post(f"{TASKS}add/", task_form_data(**overrides))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not PeriodicTask.objects.filter(name="ops-made").exists()


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999", "-1", "x"])
@pytest.mark.parametrize("parameter", ["start_time__year", "start_time__month", "start_time__day"])
def test_a_bad_date_drill_down_value_is_a_400(ops_client, parameter, value):
    response = ops_client.get(TASKS, {"start_time__year": "2026", parameter: value})
    assert (response.status_code, response.content.decode()) == (
        400,
        "The date drill-down takes a year, month and day in digits.",
    )


def test_a_date_drill_down_in_digits_lists_the_tasks(ops_client):
    assert ops_client.get(TASKS, {"start_time__year": "2026", "start_time__month": "12"}).status_code == 200


@pytest.mark.parametrize("object_id", ["²", "١٢", "9" * 30, "-1", "abc"])
@pytest.mark.parametrize(
    "path",
    [
        PORTALS + "{}/change/",
        PORTALS + "{}/action/sync_now/",
        OBJECT_SYNCS + "{}/change/",
        "/admin/integration/recorderror/{}/retry/",
        "/admin/integration/syncrun/{}/change/",
        TASKS + "{}/change/",
    ],
)
def test_an_object_id_in_the_address_that_is_no_row_is_never_a_500(admin_client_, path, object_id):
    make_portal()
    audit_before = AuditEvent.objects.count()
    response = admin_client_.get(path.format(object_id))
    assert response.status_code in (302, 400, 404, 405)
    response = admin_client_.post(path.format(object_id), {})
    assert response.status_code in (302, 400, 403, 404, 405)
    assert AuditEvent.objects.count() == audit_before
