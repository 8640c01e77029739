"""Webhook events from CRM writes: which writes enqueue which events, with which change source.

API writes (the app's token) carry changeSource INTEGRATION; user edits (control endpoint and the record page's
form) carry CRM_UI. Only changed, subscribed properties produce propertyChange events. The events are read back
through `GET /_fake/webhooks` (`event` is the body as it will be sent).
"""

from __future__ import annotations

import re

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sandbox.hubspot import clock, state
from sandbox.hubspot.models import Portal, WebhookEvent
from sandbox.hubspot.webhooks import config, events
from tests.sandbox.hubspot_crm.conftest import error, invalid
from tests.sandbox.webhook_receiver import component, lifecycle, prop_change

KLEER_ID = {
    "name": "kleer_id",
    "label": "Kleer id",
    "type": "string",
    "fieldType": "text",
    "groupName": "companyinformation",
    "hasUniqueValue": True,
}


def _configure(receiver, **lists) -> dict[tuple[str, str | None], int]:
    """Upload a component; returns subscription ids by (subscriptionType, propertyName)."""
    app = config.webhooks_configure(component(receiver.url, **lists))
    return {(sub["subscriptionType"], sub["propertyName"]): sub["id"] for sub in app.subscriptions}


def _events(api, **params) -> list[dict]:
    response = requests.get(f"{api.base}/_fake/webhooks", params={"hub_id": api.hub_id, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return [item["event"] for item in response.json()["events"]]


def _changes(found: list[dict]) -> list[tuple]:
    return sorted((e["objectId"], e["subscriptionType"], e.get("propertyName"), e.get("propertyValue")) for e in found)


def _company_ids(api, *names: str, **props: str) -> list[str]:
    inputs = [{"properties": {"name": name, **props}} for name in names]
    response = api.post(f"{api.objects('companies')}/batch/create", {"inputs": inputs})
    assert response.status_code == 201, response.text
    return [result["id"] for result in sorted(response.json()["results"], key=lambda r: r["properties"]["name"])]


def _integration(api, sub_id: int, object_id: str, name: str, value: str, now_ms: int) -> dict:
    return {
        "subscriptionId": sub_id,
        "portalId": api.hub_id,
        "appId": state.app_id(),
        "occurredAt": now_ms,
        "subscriptionType": "object.propertyChange",
        "attemptNumber": 0,
        "objectId": int(object_id),
        "objectTypeId": "0-2",
        "propertyName": name,
        "propertyValue": value,
        "changeSource": "INTEGRATION",
        "sourceId": str(state.app_id()),
    }


def test_batch_upsert_enqueues_one_event_per_changed_subscribed_property(v3, receiver, frozen):
    assert v3.post(v3.properties("companies"), KLEER_ID).status_code == 201
    inputs = [{"properties": {"name": f"C{n}", "kleer_id": f"K{n}", "phone": "0", "city": "Malmö"}} for n in (1, 2, 3)]
    created = v3.post(f"{v3.objects('companies')}/batch/create", {"inputs": inputs}).json()["results"]
    ids = {result["properties"]["kleer_id"]: result["id"] for result in created}
    subs = _configure(receiver, crm=[prop_change("company", "phone"), prop_change("company", "city")])
    assert _events(v3) == []  # nothing was subscribed when the companies were created

    upsert = [
        {
            "id": f"K{n}",
            "idProperty": "kleer_id",
            "properties": {"phone": f"+46 {n}", "city": "Lund", "description": "x"},
        }
        for n in (1, 2, 3)
    ]
    assert v3.post(f"{v3.objects('companies')}/batch/upsert", {"inputs": upsert}).status_code == 200

    found = _events(v3)
    now_ms = clock.to_ms(clock.now())
    expected = [
        _integration(v3, subs[("object.propertyChange", name)], ids[f"K{n}"], name, value, now_ms)
        for n in (1, 2, 3)
        for name, value in (("city", "Lund"), ("phone", f"+46 {n}"))
    ]
    event_ids = [event.pop("eventId") for event in found]
    assert event_ids == sorted(set(event_ids)) and len(event_ids) == 6
    assert found == expected


def test_a_write_that_changes_nothing_or_only_unsubscribed_properties_enqueues_nothing(v3, receiver):
    (company,) = _company_ids(v3, "Acme", phone="1", city="Lund")
    _configure(receiver, crm=[prop_change("company", "phone"), prop_change("company", "city")])
    path = f"{v3.objects('companies')}/{company}"
    assert v3.patch(path, {"properties": {"phone": "1", "city": "Lund"}}).status_code == 200
    assert v3.patch(path, {"properties": {"description": "new", "domain": "acme.se"}}).status_code == 200
    assert _events(v3) == []
    assert v3.patch(path, {"properties": {"city": ""}}).status_code == 200
    assert _changes(_events(v3)) == [(int(company), "object.propertyChange", "city", "")]


def test_creation_deletion_legacy_and_inactive_subscriptions(v3, receiver):
    subs = _configure(
        receiver,
        crm=[
            lifecycle("creation", "company"),
            lifecycle("deletion", "company"),
            prop_change("company", "phone", active=False),
        ],
        legacy=[{"subscriptionType": "company.propertyChange", "propertyName": "name", "active": True}],
    )
    created = v3.post(v3.objects("companies"), {"properties": {"name": "Acme", "phone": "1"}}).json()
    assert v3.delete(f"{v3.objects('companies')}/{created['id']}").status_code == 204
    assert v3.post(f"{v3.objects('companies')}/batch/archive", {"inputs": [{"id": created["id"]}]}).status_code == 204

    found = _events(v3)
    for event in found:
        assert (event.pop("eventId"), event.pop("occurredAt")) > (0, 0)
    common = {"portalId": v3.hub_id, "appId": state.app_id(), "attemptNumber": 0, "objectId": int(created["id"])}
    source = {"changeSource": "INTEGRATION", "sourceId": str(state.app_id())}
    assert found == [
        {
            "subscriptionId": subs[("object.creation", None)],
            **common,
            "subscriptionType": "object.creation",
            "objectTypeId": "0-2",
            "changeFlag": "CREATED",
            **source,
        },
        {
            "subscriptionId": subs[("company.propertyChange", "name")],
            **common,
            "subscriptionType": "company.propertyChange",
            "propertyName": "name",
            "propertyValue": "Acme",
            **source,
        },
        {
            "subscriptionId": subs[("object.deletion", None)],
            **common,
            "subscriptionType": "object.deletion",
            "objectTypeId": "0-2",
            "changeFlag": "DELETED",
            **source,
        },
    ]


def test_a_failed_batch_input_enqueues_nothing_for_that_input(v3, receiver):
    first, second = _company_ids(v3, "A", "B")
    _configure(receiver, crm=[prop_change("company", "phone")])
    inputs = [
        {"id": first, "properties": {"phone": "1"}, "objectWriteTraceId": "t1"},
        {"id": second, "properties": {"phone": "2", "nope": "x"}, "objectWriteTraceId": "t2"},
    ]
    assert v3.post(f"{v3.objects('companies')}/batch/update", {"inputs": inputs}).status_code == 207
    assert _changes(_events(v3)) == [(int(first), "object.propertyChange", "phone", "1")]
    # Without trace ids the batch is all-or-nothing: refused, no write, no event.
    for item in inputs:
        item.pop("objectWriteTraceId")
    inputs[0]["properties"]["phone"] = "3"
    assert v3.post(f"{v3.objects('companies')}/batch/update", {"inputs": inputs}).status_code == 400
    assert len(_events(v3)) == 1


def test_merge_enqueues_a_merge_event_and_the_primarys_property_changes(v3, receiver):
    primary, merged = _company_ids(v3, "A", "B")
    assert v3.patch(f"{v3.objects('companies')}/{merged}", {"properties": {"phone": "2"}}).status_code == 200
    subs = _configure(
        receiver, crm=[lifecycle("merge", "company"), lifecycle("deletion", "company"), prop_change("company", "phone")]
    )
    body = {"primaryObjectId": primary, "objectIdToMerge": merged}
    assert v3.post(f"{v3.objects('companies')}/merge", body).status_code == 200
    found = _events(v3)
    assert _changes(found) == [
        (int(primary), "object.merge", None, None),
        (int(primary), "object.propertyChange", "phone", "2"),
    ]
    merge = next(event for event in found if event["subscriptionType"] == "object.merge")
    assert (merge["subscriptionId"], merge["primaryObjectId"], merge["mergedObjectIds"]) == (
        subs[("object.merge", None)],
        int(primary),
        [int(merged)],
    )
    assert (merge["newObjectId"], merge["numberOfPropertiesMoved"], merge["changeSource"]) == (
        int(primary),
        1,
        "INTEGRATION",
    )


def test_enqueueing_is_one_insert_per_write_call(transactional_db):
    portal = state.portal_create()
    config.webhooks_configure(component("http://127.0.0.1:9/x", crm=[prop_change("company", n) for n in ("a", "b")]))
    capture = events.capture(portal.hub_id, events.app_source(), installed=True)
    with CaptureQueriesContext(connection) as queries, capture:
        for object_id in range(1, 51):
            events.note_write("0-2", object_id, {}, {"a": "1", "b": "2", "c": "3"}, clock.now(), created=False)
    inserts = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert WebhookEvent.objects.count() == 100


# -- user edits ----------------------------------------------------------------------------------------


def _user_edit(api, body: dict) -> requests.Response:
    return requests.post(f"{api.base}/_fake/portals/{api.hub_id}/user-edit", json=body, timeout=30)


def test_user_edit_changes_the_record_with_source_crm_ui(v3, receiver, frozen):
    (company,) = _company_ids(v3, "Acme", phone="1")
    subs = _configure(receiver, crm=[prop_change("company", "phone")])
    response = _user_edit(v3, {"objectType": "companies", "id": company, "properties": {"phone": "+46 8 123"}})
    assert response.status_code == 200, response.text
    names = ",".join(response.json()["properties"])
    assert response.json() == v3.get(f"{v3.objects('companies')}/{company}?properties={names}").json()
    assert response.json()["properties"]["phone"] == "+46 8 123"
    (event,) = _events(v3)
    event.pop("eventId")
    assert event == {
        "subscriptionId": subs[("object.propertyChange", "phone")],
        "portalId": v3.hub_id,
        "appId": state.app_id(),
        "occurredAt": clock.to_ms(clock.now()),
        "subscriptionType": "object.propertyChange",
        "attemptNumber": 0,
        "objectId": int(company),
        "objectTypeId": "0-2",
        "propertyName": "phone",
        "propertyValue": "+46 8 123",
        "changeSource": "CRM_UI",
        "sourceId": f"userId:{state.DEFAULT_USER_ID}",
    }
    history = v3.get(f"{v3.objects('companies')}/{company}?propertiesWithHistory=phone").json()
    assert history["propertiesWithHistory"]["phone"][0] == {
        "value": "+46 8 123",
        "timestamp": frozen,
        "sourceType": "CRM_UI",
        "updatedByUserId": state.DEFAULT_USER_ID,
    }
    _user_edit(v3, {"objectType": "company", "id": company, "properties": {"phone": "2"}, "userId": 42})
    assert _events(v3)[-1]["sourceId"] == "userId:42"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"objectType": "companies", "properties": {"phone": "2"}}, 400),
        ({"objectType": "companies", "id": "1", "properties": {}, "extra": 1}, 400),
        ({"objectType": "companies", "id": "1", "properties": {}, "userId": "me"}, 400),
    ],
)
def test_user_edit_refuses_a_malformed_body(v3, receiver, body, status):
    response = _user_edit(v3, body)
    assert response.status_code == status
    assert response.json()["status"] == "error"


def test_user_edit_validates_like_the_api_and_changes_nothing_when_refused(v3, receiver):
    (company,) = _company_ids(v3, "Acme", phone="1")
    _configure(receiver, crm=[prop_change("company", "phone"), prop_change("company", "lifecyclestage")])
    before = v3.get(f"{v3.objects('companies')}/{company}?propertiesWithHistory=phone").json()

    unknown = _user_edit(v3, {"objectType": "companies", "id": company, "properties": {"phone": "2", "nope": "x"}})
    assert unknown.status_code == 400
    assert unknown.json() == invalid(
        unknown, v3.hub_id, ("nope", "PROPERTY_DOESNT_EXIST", 'Property "nope" does not exist')
    )
    option = _user_edit(v3, {"objectType": "companies", "id": company, "properties": {"lifecyclestage": "bogus"}})
    assert option.status_code == 400
    assert option.json()["errors"][0]["code"] == "INVALID_OPTION"
    missing = _user_edit(v3, {"objectType": "companies", "id": "999", "properties": {"phone": "2"}})
    assert (missing.status_code, missing.json()) == (404, error(missing, "resource not found", "OBJECT_NOT_FOUND"))
    kind = _user_edit(v3, {"objectType": "spaceships", "id": company, "properties": {}})
    assert (kind.status_code, kind.json()) == (400, error(kind, "Unable to infer object type from: spaceships"))

    assert v3.get(f"{v3.objects('companies')}/{company}?propertiesWithHistory=phone").json() == before
    assert _events(v3) == []


def test_user_edit_in_a_portal_without_the_app_enqueues_nothing(v3, receiver):
    (company,) = _company_ids(v3, "Acme")
    _configure(receiver, crm=[prop_change("company", "phone")])
    state.portal_uninstall(portal=Portal.objects.get(hub_id=v3.hub_id))
    response = _user_edit(v3, {"objectType": "companies", "id": company, "properties": {"phone": "2"}})
    assert (response.status_code, response.json()["properties"]["phone"]) == (200, "2")
    assert _events(v3) == []


def _page(api, company: str) -> str:
    return f"{api.base}/_pages/{api.hub_id}/companies/{company}/"


def test_record_page_form_edits_as_a_user(v3, receiver):
    (company,) = _company_ids(v3, "Acme", phone="1")
    _configure(receiver, crm=[prop_change("company", "phone")])
    with requests.Session() as browser:
        page = browser.get(_page(v3, company), timeout=30)
        assert page.status_code == 200
        assert '<option value="phone">phone</option>' in page.text
        assert '<option value="hs_object_id">' not in page.text  # read-only properties are not offered
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"csrfmiddlewaretoken": token, "property": "phone", "value": "+46 70 000"}
        saved = browser.post(_page(v3, company), data=form, allow_redirects=False, timeout=30)
        assert (saved.status_code, saved.headers["Location"]) == (
            302,
            f"/sandbox/hubspot/_pages/{v3.hub_id}/companies/{company}/?edited=phone",
        )
        shown = browser.get(_page(v3, company) + "?edited=phone", timeout=30).text
        assert "Saved <code>phone</code>" in shown and "+46 70 000" in shown

        refused = browser.post(_page(v3, company), data={**form, "property": "nope"}, timeout=30)
        assert refused.status_code == 400
        assert "Not saved:" in refused.text and "does not exist" in refused.text.replace("&quot;", '"')
    (event,) = _events(v3)
    assert (event["propertyValue"], event["changeSource"], event["sourceId"]) == (
        "+46 70 000",
        "CRM_UI",
        f"userId:{state.DEFAULT_USER_ID}",
    )


def test_record_page_form_needs_the_csrf_token(v3, receiver):
    (company,) = _company_ids(v3, "Acme", phone="1")
    response = requests.post(_page(v3, company), data={"property": "phone", "value": "2"}, timeout=30)
    assert response.status_code == 403
    assert v3.get(f"{v3.objects('companies')}/{company}?properties=phone").json()["properties"]["phone"] == "1"
