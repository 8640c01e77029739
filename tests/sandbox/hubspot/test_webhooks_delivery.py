"""Webhook delivery to a real receiving server: signatures, batching, retries, give-up, concurrency, faults,
the app-uninstall event and the background deliverer.

The receiver (`tests/sandbox/webhook_receiver.py`) checks nothing itself: the tests verify the v1 and v3
signatures with `hashlib`/`hmac` as HubSpot's docs describe them. Delivery is driven with
`POST /_fake/webhooks/deliver`; retries become due by advancing the fake clock (or, where said, by a base delay
compressed to milliseconds).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox.hubspot import state
from sandbox.hubspot.webhooks import autodeliver
from tests.sandbox.hubspot.conftest import FakeHubSpot, postgres_only
from tests.sandbox.hubspot_crm.conftest import Api, make_api
from tests.sandbox.webhook_receiver import (
    SECRET,
    Receiver,
    component,
    lifecycle,
    v1_signature,
    v3_signature,
)

CREATION = lifecycle("creation", "company")


@dataclass
class Harness:
    hs: FakeHubSpot
    receiver: Receiver
    api: Api
    live_server: Any

    def configure(self, *, url: str | None = None, **kwargs: Any) -> dict:
        kwargs.setdefault("crm", [CREATION])
        response = self.hs.control("PUT", "/apps/webhooks", component(url or self.receiver.url, **kwargs))
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, count: int, api: Api | None = None) -> list[int]:
        """Create `count` companies through the API (one creation event each); their ids."""
        api = api or self.api
        ids: list[int] = []
        for start in range(0, count, 100):
            inputs = [{"properties": {"name": f"C{n}"}} for n in range(start, min(count, start + 100))]
            response = api.post(f"{api.objects('companies')}/batch/create", {"inputs": inputs})
            assert response.status_code == 201, response.text
            ids += sorted(int(result["id"]) for result in response.json()["results"])
        return ids

    def deliver(self, **body: Any) -> dict:
        response = self.hs.control("POST", "/webhooks/deliver", body)
        assert response.status_code == 200, response.text
        return response.json()

    def advance(self, seconds: float) -> None:
        assert self.hs.control("POST", "/clock", {"advance_seconds": seconds}).status_code == 200

    def faults(self, **spec: Any) -> requests.Response:
        return self.hs.control("POST", "/webhooks/faults", spec)

    def listed(self, **params: Any) -> dict:
        response = requests.get(self.hs.url("/_fake/webhooks"), params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def other_portal(self) -> Api:
        return make_api(self.live_server)


@pytest.fixture
def wh(hs, receiver, settings, live_server) -> Harness:
    settings.HUBSPOT_CLIENT_SECRET = SECRET  # after `hs`, which sets its own
    return Harness(hs, receiver, make_api(live_server), live_server)


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _report(requests_: int, delivered: int, failed: int = 0, pending: int = 0) -> dict:
    return {"requests": requests_, "delivered": delivered, "failed": failed, "pending": pending}


# -- signatures and shape ------------------------------------------------------------------------------


def test_the_tests_v1_check_matches_hubspots_published_vector():
    # https://developers.hubspot.com/docs/faq/v1-request-validation (hubspot-api.md §7.2).
    body = (
        b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
        b'"changeFlag":"NEW","appId":54321}]'
    )
    expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert v1_signature("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", body) == expected


def test_events_are_posted_as_a_signed_json_array(wh):
    subscription_id = wh.configure()["subscriptions"][0]["id"]
    ids = wh.create(2)
    assert wh.deliver() == _report(1, 2)
    (request,) = wh.receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert (request.method, request.path, headers["content-type"]) == ("POST", "/hubspot/webhooks", "application/json")
    assert headers["x-hubspot-signature-version"] == "v1"
    assert headers["x-hubspot-signature"] == v1_signature(SECRET, request.body)
    timestamp = headers["x-hubspot-request-timestamp"]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # real time: the app checks it against its clock
    assert headers["x-hubspot-signature-v3"] == v3_signature(SECRET, "POST", wh.receiver.url, request.body, timestamp)
    events = json.loads(request.body)
    assert request.body == json.dumps(events, separators=(",", ":")).encode()
    assert [list(event) for event in events] == [
        [
            "eventId",
            "subscriptionId",
            "portalId",
            "appId",
            "occurredAt",
            "subscriptionType",
            "attemptNumber",
            "objectId",
            "objectTypeId",
            "changeFlag",
            "changeSource",
            "sourceId",
        ]
    ] * 2
    assert [(e["objectId"], e["subscriptionId"], e["portalId"], e["appId"]) for e in events] == [
        (object_id, subscription_id, wh.api.hub_id, state.app_id()) for object_id in ids
    ]
    assert events[0]["eventId"] < events[1]["eventId"]
    listed = wh.listed(hub_id=wh.api.hub_id, status="delivered")
    assert [event["event"] for event in listed["events"]] == events
    assert [(r["status"], r["ok"], r["attemptNumber"]) for e in listed["events"] for r in e["requests"]] == [
        (204, True, 0)
    ] * 2
    assert listed["requests"][0]["eventIds"] == [event["eventId"] for event in events]
    assert wh.deliver() == _report(0, 0)  # delivered events are not sent again


def test_each_request_holds_at_most_100_events_of_one_portal(wh):
    wh.configure()
    other = wh.other_portal()
    first = wh.create(250)
    second = wh.create(3, other)
    assert wh.deliver() == _report(4, 253)
    sizes = [(request.events[0]["portalId"], len(request.events)) for request in wh.receiver.requests]
    assert sizes == [(wh.api.hub_id, 100), (wh.api.hub_id, 100), (wh.api.hub_id, 50), (other.hub_id, 3)]
    for request in wh.receiver.requests:
        assert len({event["portalId"] for event in request.events}) == 1
    assert [event["objectId"] for event in wh.receiver.events()] == first + second


def test_deliver_can_be_limited_to_one_portal(wh):
    wh.configure()
    other = wh.other_portal()
    wh.create(2)
    wh.create(1, other)
    assert wh.deliver(hub_id=other.hub_id) == _report(1, 1, pending=0)
    assert [event["portalId"] for event in wh.receiver.events()] == [other.hub_id]
    assert wh.deliver(hub_id=wh.api.hub_id) == _report(1, 2)
    assert wh.hs.control("POST", "/webhooks/deliver", {"hub_id": "x"}).status_code == 400
    assert wh.hs.control("GET", "/webhooks?status=lost").json() == {
        "error": "status must be one of pending, delivered, failed"
    }


# -- failures and retries ------------------------------------------------------------------------------


def test_a_500_is_retried_later_with_the_next_attempt_number(wh):
    wh.configure()
    (company,) = wh.create(1)
    wh.receiver.answer(500)
    assert wh.deliver() == _report(1, 0, pending=1)
    (item,) = wh.listed(status="pending")["events"]
    assert (item["attempts"], item["lastError"], item["requests"][0]["status"]) == (1, "HTTP 500", 500)
    assert wh.deliver() == _report(0, 0, pending=1)  # not due yet: 80 s ± 20 % on the fake clock
    wh.advance(100)
    assert wh.deliver() == _report(1, 1)
    first, second = wh.receiver.requests
    assert [e["attemptNumber"] for e in first.events + second.events] == [0, 1]
    assert first.events[0] | {"attemptNumber": 1} == second.events[0]
    assert second.events[0]["objectId"] == company
    for request in (first, second):
        assert request.headers["X-HubSpot-Signature"] == v1_signature(SECRET, request.body)


def test_a_slow_answer_is_a_failed_attempt(wh, settings):
    settings.SANDBOX_WEBHOOKS_TIMEOUT_SECONDS = 0.3
    wh.configure()
    wh.create(1)
    wh.receiver.answer(200, pause=1.5)
    assert wh.deliver() == _report(1, 0, pending=1)
    (item,) = wh.listed(status="pending")["events"]
    assert (item["attempts"], item["lastError"], item["requests"][0]["status"]) == (1, "no answer within 0.3 s", None)
    wh.advance(100)
    assert wh.deliver() == _report(1, 1)
    _wait_for(lambda: len(wh.receiver.requests) == 2)
    assert sorted(e["attemptNumber"] for e in wh.receiver.events()) == [0, 1]


def test_a_connection_error_is_a_failed_attempt(wh):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wh.configure(url=f"http://127.0.0.1:{port}/hubspot/webhooks")
    wh.create(1)
    assert wh.deliver() == _report(1, 0, pending=1)
    (item,) = wh.listed()["events"]
    assert item["lastError"] == "connection error: ConnectionError"


def test_gives_up_after_ten_retries(wh, settings):
    settings.SANDBOX_WEBHOOKS_RETRY_BASE_SECONDS = 0.0005  # the longest wait is 0.0005 * 2^9 * 1.2 ≈ 0.31 s
    wh.configure()
    wh.create(1)
    wh.receiver.default = (500, 0.0)
    reports = []
    while len(wh.receiver.requests) < 11:
        reports.append(wh.deliver())
        assert len(reports) < 200, "retries never came due"
        time.sleep(0.02)
    assert reports[-1] == _report(1, 0, failed=1, pending=0)
    assert sum(report["requests"] for report in reports) == 11
    assert [event["attemptNumber"] for event in wh.receiver.events()] == list(range(11))
    (item,) = wh.listed(status="failed")["events"]
    assert (item["attempts"], item["lastError"], len(item["requests"])) == (11, "HTTP 500", 11)
    time.sleep(0.5)
    assert wh.deliver() == _report(0, 0)


def test_at_most_max_concurrent_requests_are_in_flight(wh):
    wh.configure(max_concurrent=2)
    assert wh.faults(batch_size=1).status_code == 200
    wh.create(6)
    wh.receiver.default = (204, 0.3)
    started = time.monotonic()
    assert wh.deliver() == _report(6, 6)
    assert wh.receiver.max_in_flight <= 2
    assert time.monotonic() - started >= 0.9  # six requests of 0.3 s, two at a time


@postgres_only
@pytest.mark.concurrent_db
def test_concurrent_deliveries_never_send_an_event_twice(wh):
    wh.configure(max_concurrent=3)
    assert wh.faults(batch_size=10).status_code == 200
    ids = wh.create(300)
    wh.receiver.default = (204, 0.02)
    barrier = threading.Barrier(4)
    reports: list[dict] = []

    def run() -> None:
        barrier.wait()
        reports.append(requests.post(wh.hs.url("/_fake/webhooks/deliver"), json={}, timeout=60).json())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = Counter(event["eventId"] for event in wh.receiver.events())
    assert set(received.values()) == {1}
    assert sorted(event["objectId"] for event in wh.receiver.events()) == ids
    assert (sum(r["delivered"] for r in reports), sum(r["requests"] for r in reports)) == (300, 30)


# -- faults --------------------------------------------------------------------------------------------


def test_duplicate_fault_sends_events_twice_in_separate_requests(wh):
    wh.configure()
    assert wh.faults(duplicate=2).json() == {"duplicate": 2, "reorder": False, "delay_seconds": 0.0, "batch_size": None}
    wh.create(3)
    assert wh.deliver() == _report(2, 3)
    original, copy = wh.receiver.requests
    assert copy.events == original.events[:2]
    assert wh.hs.control("GET", "/webhooks/faults").json()["duplicate"] == 0
    listed = wh.listed()["events"]
    assert [[r["duplicate"] for r in item["requests"]] for item in listed] == [[False, True], [False, True], [False]]
    wh.create(1)
    assert wh.deliver() == _report(1, 1)


def test_reorder_fault_reverses_the_next_delivery(wh):
    wh.configure()
    wh.faults(reorder=True, batch_size=2)
    ids = wh.create(5)
    assert wh.deliver() == _report(3, 5)
    assert [[e["objectId"] for e in request.events] for request in wh.receiver.requests] == [
        [ids[4], ids[3]],
        [ids[2], ids[1]],
        [ids[0]],
    ]
    assert wh.hs.control("GET", "/webhooks/faults").json() == {
        "duplicate": 0,
        "reorder": False,
        "delay_seconds": 0.0,
        "batch_size": 2,
    }
    later = wh.create(2)
    wh.deliver()
    assert [e["objectId"] for e in wh.receiver.requests[-1].events] == later


def test_delay_fault_holds_events_back_on_the_fake_clock(wh):
    wh.configure()
    wh.create(1)  # queued before the fault: held back too
    assert wh.faults(delay_seconds=60).status_code == 200
    wh.create(1)
    assert wh.deliver() == _report(0, 0, pending=2)
    wh.advance(61)
    assert wh.deliver() == _report(1, 2)
    assert wh.hs.control("DELETE", "/webhooks/faults").json() == {
        "duplicate": 0,
        "reorder": False,
        "delay_seconds": 0.0,
        "batch_size": None,
    }
    wh.create(1)
    assert wh.deliver() == _report(1, 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"duplicate": -1}, "duplicate must be an integer 0 or more, not -1"),
        ({"batch_size": 101}, "batch_size must be an integer from 1 to 100, not 101"),
        ({"reorder": "yes"}, "reorder must be true or false"),
        ({"delay_seconds": -1}, "delay_seconds must be a number of seconds, zero or more, not -1"),
        ({"shuffle": True}, "unknown webhook fault field(s): shuffle"),
    ],
)
def test_bad_faults_are_refused(hs, spec, message):
    response = hs.control("POST", "/webhooks/faults", spec)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


# -- app uninstall -------------------------------------------------------------------------------------


def test_uninstall_event_is_delivered_and_other_events_of_the_portal_are_dropped(wh):
    body = wh.configure(hub=[{"subscriptionType": "app.uninstall", "active": True}])
    uninstall_id = next(s["id"] for s in body["subscriptions"] if s["subscriptionType"] == "app.uninstall")
    wh.create(1)
    assert wh.hs.control("POST", f"/portals/{wh.api.hub_id}/uninstall").status_code == 200
    assert wh.hs.control("POST", f"/portals/{wh.api.hub_id}/uninstall").status_code == 200  # no second event
    assert wh.deliver() == _report(1, 1, failed=1)
    (event,) = wh.receiver.events()
    assert event.pop("eventId") > 0 and event.pop("occurredAt") > 0
    assert event == {
        "subscriptionId": uninstall_id,
        "portalId": wh.api.hub_id,
        "appId": state.app_id(),
        "eventTypeId": "4-1916193",
        "subscriptionType": "app.uninstall",
        "attemptNumber": 0,
        "changeSource": "CRM_UI",
    }
    (dropped,) = wh.listed(status="failed")["events"]
    assert (dropped["event"]["subscriptionType"], dropped["lastError"], dropped["requests"]) == (
        "object.creation",
        "the app is not installed in the portal",
        [],
    )


def test_uninstall_by_the_app_itself_has_source_integration(wh):
    wh.configure(hub=[{"subscriptionType": "app.uninstall", "active": True}])
    assert wh.api.delete("/appinstalls/v3/external-install").status_code == 204
    wh.deliver()
    assert [e["changeSource"] for e in wh.receiver.events()] == ["INTEGRATION"]


def test_no_uninstall_event_without_the_subscription(wh):
    wh.configure()
    assert wh.hs.control("POST", f"/portals/{wh.api.hub_id}/uninstall").status_code == 200
    assert wh.deliver() == _report(0, 0)


# -- the background deliverer --------------------------------------------------------------------------


def test_background_deliverer_is_off_unless_enabled(settings):
    del settings.SANDBOX_WEBHOOKS_AUTODELIVER
    assert settings.DEBUG is False  # Django's test environment
    assert autodeliver.enabled() is False
    settings.DEBUG = True
    assert autodeliver.enabled() is True
    settings.SANDBOX_WEBHOOKS_AUTODELIVER = False
    assert autodeliver.enabled() is False


def test_background_deliverer_delivers_without_being_asked(wh, settings):
    wh.configure()
    settings.SANDBOX_WEBHOOKS_AUTODELIVER = True
    try:
        wh.create(2)
        _wait_for(lambda: len(wh.receiver.events()) == 2)
        assert autodeliver.running()
        _wait_for(lambda: [item["status"] for item in wh.listed()["events"]] == ["delivered", "delivered"])
    finally:
        settings.SANDBOX_WEBHOOKS_AUTODELIVER = False  # nothing may start it again
        autodeliver.stop()
    assert not autodeliver.running()
    assert len(wh.receiver.requests) == 1


def test_background_deliverer_ends_when_switched_off(wh, settings):
    settings.SANDBOX_WEBHOOKS_AUTODELIVER = True
    try:
        assert autodeliver.ensure_started()
        settings.SANDBOX_WEBHOOKS_AUTODELIVER = False
        _wait_for(lambda: not autodeliver.running(), seconds=5)
    finally:
        settings.SANDBOX_WEBHOOKS_AUTODELIVER = False
        autodeliver.stop()
