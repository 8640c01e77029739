"""Scripted faults: statuses, odd bodies, slow answers, dropped connections, atomic consumption."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.db import connection

from sandbox.kleer.testing import KleerApi


def test_tekniskt_fel_once_then_normal(kleer: KleerApi) -> None:
    kleer.add_fault(path="^/client$", status=500)
    failed = kleer.get("/client")
    assert (failed.status_code, failed.json()) == (500, {"message": "Tekniskt fel"})
    assert failed.headers["Content-Type"] == "application/json"
    assert kleer.get("/client").status_code == 200


def test_faults_fire_before_authentication(kleer: KleerApi) -> None:
    kleer.add_fault(status=401, body={"message": "Token expired"})
    response = kleer.get("/client", token="wrong")
    assert (response.status_code, response.json()) == (401, {"message": "Token expired"})
    assert kleer.get("/client", token="wrong").json() == {"message": "Invalid or missing access token"}


@pytest.mark.parametrize("status", [200, 502])
def test_html_body(kleer: KleerApi, status: int) -> None:
    html = "<html><body><h1>Bad Gateway</h1></body></html>"
    kleer.add_fault(status=status, body=html, content_type="text/html")
    response = kleer.get("/client/invoice")
    assert (response.status_code, response.text, response.headers["Content-Type"]) == (status, html, "text/html")
    with pytest.raises(ValueError):
        response.json()


def test_method_and_path_must_match(kleer: KleerApi) -> None:
    kleer.add_fault(method="put", path=r"^/client$", status=500, count=2)
    assert kleer.get("/client").status_code == 200
    assert kleer.put("/client/1081001", {}).status_code == 405  # path does not match: answered normally
    assert kleer.put("/client", {"foreign-id": "", "name": "A"}).status_code == 500
    assert kleer.put("/client", {"foreign-id": "", "name": "B"}).status_code == 500
    assert kleer.put("/client", {"foreign-id": "", "name": "C"}).status_code == 200
    names = [c["name"] for c in kleer.get("/client").json()["clients"]]
    assert names[-1] == "C" and "A" not in names and len(names) == 6


def test_faults_queue_in_order_and_report_what_remains(kleer: KleerApi) -> None:
    kleer.control("POST", "/faults", [{"status": 503}, {"status": 504, "count": 2}])
    assert [kleer.get("/info").status_code for _ in range(4)] == [503, 504, 504, 200]
    assert [f["remaining"] for f in kleer.control("GET", "/faults").json()["faults"]] == [0, 0]
    assert kleer.control("DELETE", "/faults").json() == {"deleted": 2}


def test_slow_answer_times_the_client_out(kleer: KleerApi) -> None:
    kleer.add_fault(delay_seconds=1.5, status=200, body={"clients": []})
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        kleer.get("/client", timeout=0.3)
    assert time.monotonic() - started < 1.2
    time.sleep(1.4)  # let the server thread finish before the database is flushed


def test_delay_without_status_answers_normally_but_late(kleer: KleerApi) -> None:
    kleer.add_fault(delay_seconds=0.6)
    started = time.monotonic()
    response = kleer.get("/user/me")
    assert time.monotonic() - started >= 0.6
    assert (response.status_code, response.json()["name"]) == (200, "Anna Lindqvist")
    assert [(r["path"], r["status"], r["fault"]) for r in kleer.requests_log()] == [("/user/me", 200, True)]


def test_dropped_connection(kleer: KleerApi) -> None:
    kleer.add_fault(path="^/client/invoice", drop_connection=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        kleer.get("/client/invoice")
    assert kleer.get("/client/invoice").status_code == 200
    assert [(r["status"], r["fault"]) for r in kleer.requests_log()] == [(0, True), (200, False)]


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="the live server shares one in-memory SQLite connection across threads"
)
def test_a_fault_is_taken_by_exactly_count_requests(kleer: KleerApi) -> None:
    kleer.add_fault(path="^/user/me$", status=503, count=3)
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def call() -> None:
        barrier.wait()
        statuses.append(kleer.get("/user/me").status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(statuses) == [200] * 9 + [503] * 3


@pytest.mark.parametrize(
    "spec",
    [{}, {"status": 999}, {"count": 0, "status": 500}, {"path": "(", "status": 500}, {"status": 500, "colour": "red"}],
)
def test_bad_fault_descriptions_are_400(kleer: KleerApi, spec: dict) -> None:
    assert kleer.control("POST", "/faults", spec).status_code == 400
    assert kleer.control("GET", "/faults").json() == {"faults": []}
