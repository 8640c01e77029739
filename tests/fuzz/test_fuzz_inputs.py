"""Property-based fuzzing (Hypothesis) of every form and endpoint an outsider or a staff member can reach.

For each generated request: never a 500 (the test client re-raises a view's exception, so a crash fails with
its traceback), and never a change without its audit record: a snapshot of everything the product's forms
can change is compared before and after, and when it differs an AuditEvent (or, for django-celery-beat's own
forms, an admin LogEntry) must have been written by that request. Each test draws few examples so the
directory stays well under a minute; the strategies lean on the inputs that broke things before (NUL,
non-ASCII digits, huge numbers, control characters, JSON of the wrong shape).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration import catalog
from integration.models import AuditEvent, FieldMapping, HubSpotInstallation, KleerCredentials, ObjectSync, Portal
from integration.signatures import signature_v3
from tests.admin.conftest import make_portal
from tests.admin.helpers import PORTALS, form_data
from tests.conftest import build_world, portal_session

FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure in CI reproduces locally
)
NASTY = st.sampled_from(
    ["", "0", "-1", "²", "١٢", "𝟙", "9" * 30, "1e309", "\x00", "a\x00b", " 12 ", "null", "[]", "{}", "é" * 300]
)
TEXT = st.one_of(NASTY, st.text(max_size=60), st.integers(min_value=-(10**20), max_value=10**20).map(str))
OBJECTS = list(catalog.REGISTRY)


def snapshot() -> tuple:
    """Everything the settings page and the admin can change (secrets by their last four only)."""
    return (
        list(Portal.objects.order_by("pk").values_list("pk", "status", "plan", "name", "invoice_history_months")),
        list(Portal.objects.order_by("pk").values_list("archive_deleted", "conflict_rule", "match_rule")),
        list(KleerCredentials.objects.order_by("pk").values_list("portal_id", "company_id", "api_key_last4")),
        list(HubSpotInstallation.objects.order_by("pk").values_list("portal_id", "status")),
        list(
            ObjectSync.objects.order_by("pk").values_list(
                "pk", "enabled", "hubspot_object", "pipeline_id", "stage_id", "inbound_enabled"
            )
        ),
        list(FieldMapping.objects.order_by("pk").values_list("pk", "kleer_field", "hubspot_property", "default_value")),
    )


def audits() -> int:
    return AuditEvent.objects.count() + LogEntry.objects.count()


def assert_safe(send: Any) -> Any:
    """Run one request: no 500, and any change comes with an audit record."""
    before, audited = snapshot(), audits()
    response = send()
    assert response.status_code < 500, response.status_code
    if snapshot() != before:
        assert audits() > audited, "a change without an audit record"
    return response


# -- the settings page ------------------------------------------------------------------------------------


@pytest.fixture
def bound(sandbox_urls):
    world = build_world(clients=2, products=1, invoices=0, agreements=0, projects=0, enable=("clients",))
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = world.hub_id
    session["portal_user_email"] = "fuzz@example.com"
    session.save()
    mapping = FieldMapping.objects.filter(object_sync__portal=world.portal).first()
    return client, world, mapping


SETTINGS_FORMS = {
    "credentials": ("company_id", "api_key"),
    "sync-configuration": ("invoice_history_months", "archive_deleted"),
    "conflicts-and-matching": ("conflict_rule", "match_rule"),
    "{object}/toggle": ("enabled",),
    "{object}/inbound": ("enabled",),
    "{object}/target": ("hubspot_object", "confirm"),
    "{object}/pipeline": ("pipeline_id", "stage_id"),
    "{object}/sync": (),
    "{object}/mappings/new": (
        "action",
        "kleer_field",
        "hubspot_property",
        "default_value",
        "direction",
        "new_property_label",
        "new_property_name",
    ),
    "{object}/mappings/{mapping}/": ("action", "kleer_field", "hubspot_property", "default_value", "direction"),
    "{object}/mappings/{mapping}/delete": (),
}


@pytest.mark.django_db(transaction=True)
@FUZZ
@given(
    form=st.sampled_from(sorted(SETTINGS_FORMS)),
    object_type=st.one_of(st.sampled_from(OBJECTS), NASTY),
    values=st.lists(TEXT, min_size=7, max_size=7),
    extra=st.dictionaries(st.text(max_size=10), TEXT, max_size=2),
)
def test_settings_forms_never_fail_and_never_change_unaudited(bound, form, object_type, values, extra):
    client, world, mapping = bound
    path = form.format(object=object_type.replace("/", "") or "clients", mapping=mapping.pk)
    data = {**extra, **dict(zip(SETTINGS_FORMS[form], values, strict=False))}
    if form.endswith("mappings/new") or form.endswith("/"):
        data["action"] = "save"
    assert_safe(lambda: client.post(f"/portals/{world.hub_id}/settings/{path}", data))


# -- OAuth callback, launch, webhooks ---------------------------------------------------------------------


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["code", "state", "error", "error_description", "x"]), TEXT))
def test_the_oauth_callback_never_fails_and_installs_nothing_unasked(client, db, params):
    response = assert_safe(lambda: client.get("/hubspot/oauth/callback", params))
    assert response.status_code in (302, 400, 403, 502)
    assert not Portal.objects.exists()


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(["portalId", "userId", "userEmail", "appId", "x"]), TEXT),
    signature=TEXT,
    timestamp=st.one_of(TEXT, st.just(str(int(time.time() * 1000)))),
)
def test_the_launch_url_never_fails_and_binds_nothing_unsigned(client, db, params, signature, timestamp):
    make_portal(hub_id=4242) if not Portal.objects.filter(hub_id=4242).exists() else None
    headers = {"HTTP_X_HUBSPOT_SIGNATURE_V3": signature, "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp}
    response = assert_safe(lambda: client.get("/hubspot/launch", params, **headers))
    assert response.status_code in (400, 401, 403, 404)
    assert "portal_hub_id" not in portal_session(client)


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=12,
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        key: st.one_of(JSON, TEXT)
        for key in (
            "eventId",
            "subscriptionId",
            "portalId",
            "appId",
            "occurredAt",
            "subscriptionType",
            "attemptNumber",
            "objectId",
            "propertyName",
            "propertyValue",
            "changeSource",
        )
    },
)


@FUZZ
@given(body=st.one_of(st.lists(EVENT, max_size=3), JSON), signed=st.booleans(), raw=st.binary(max_size=40))
def test_the_webhooks_endpoint_never_fails(client, db, settings, body, signed, raw):
    settings.PUBLIC_BASE_URL = "https://kleer.example.com"
    payload = json.dumps(body).encode() if signed or not raw else raw
    headers = {}
    if signed:  # a correctly signed body reaches the parser: the interesting half
        timestamp = str(int(time.time() * 1000))
        uri = "https://kleer.example.com/hubspot/webhooks"
        headers = {
            "HTTP_X_HUBSPOT_SIGNATURE_V3": signature_v3(
                secret=settings.HUBSPOT_CLIENT_SECRET, method="POST", uri=uri, body=payload, timestamp=timestamp
            ),
            "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp,
        }
    response = assert_safe(
        lambda: client.post("/hubspot/webhooks", payload, content_type="application/json", **headers)
    )
    assert response.status_code in (200, 204, 400, 401, 413), response.content


# -- the admin, as Support and as Ops ---------------------------------------------------------------------

CHANGELISTS = [
    PORTALS,
    "/admin/integration/objectsync/",
    "/admin/integration/syncrun/",
    "/admin/integration/recorderror/",
    "/admin/integration/auditevent/",
    "/admin/django_celery_beat/periodictask/",
]
ACTIONS = [
    "sync_now",
    "full_resync",
    "retry_parked",
    "pause",
    "resume",
    "switch_to_pro",
    "switch_to_free",
    "detach_synced_records",
    "disconnect",
    "retry",
    "enable_tasks",
    "run_tasks",
    "delete_selected",
    "x",
]


@pytest.fixture(params=["support_client", "ops_client"])
def staff(request, db, enqueued, kleer_check):
    client = request.getfixturevalue(request.param)
    portal = make_portal(enable=("clients",))
    return client, portal


@FUZZ
@given(
    changelist=st.sampled_from(CHANGELISTS),
    params=st.dictionaries(
        st.sampled_from(
            ["q", "portal", "health", "status__exact", "state", "o", "p", "e", "start_time__year", "start_time__month"]
        ),
        TEXT,
    ),
    action=st.sampled_from(ACTIONS),
    selected=st.lists(st.one_of(TEXT, st.just("pk")), max_size=3),
)
def test_admin_lists_and_actions_never_fail(staff, changelist, params, action, selected):
    client, portal = staff
    assert_safe(lambda: client.get(changelist, params))
    chosen = [str(portal.pk) if s == "pk" else s for s in selected]
    assert_safe(lambda: client.post(changelist, {"action": action, ACTION_CHECKBOX_NAME: chosen, "index": "0"}))


@FUZZ
@given(
    edits=st.dictionaries(
        st.sampled_from(
            ["name", "invoice_history_months", "plan", "status", "company_id", "api_key", "archive_deleted", "x"]
        ),
        TEXT,
        max_size=4,
    )
)
def test_the_admin_portal_form_never_fails_and_audits_what_it_saves(staff, edits):
    client, portal = staff
    page = client.get(f"{PORTALS}{portal.pk}/change/")
    data = form_data(page) if page.status_code == 200 and page.context else {}
    data.update(edits)
    assert_safe(lambda: client.post(f"{PORTALS}{portal.pk}/change/", data))
