"""Sync runs and record errors: columns, filters (portal, object, outcome/status, category, age), retry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integration.models import AuditEvent, Portal, RecordError, SyncRun
from tests.admin.conftest import make_portal
from tests.admin.helpers import listed, messages_of, run_action

pytestmark = pytest.mark.django_db
RUNS = "/admin/integration/syncrun/"
ERRORS = "/admin/integration/recorderror/"


def run(
    portal: Portal, object_type: str = "clients", status: str = "succeeded", hours_ago: float = 0.1, **kw
) -> SyncRun:
    started = timezone.now() - dt.timedelta(hours=hours_ago)
    row = SyncRun.objects.create(portal=portal, object_type=object_type, status=status, **kw)
    SyncRun.objects.filter(pk=row.pk).update(started_at=started, finished_at=started + dt.timedelta(seconds=12.5))
    return row


def error(portal: Portal, kleer_id: str, *, object_type="clients", status="open", category="", hours_ago=0.1, **kw):
    row = RecordError.objects.create(
        portal=portal, object_type=object_type, kleer_id=kleer_id, status=status, category=category, message="m", **kw
    )
    RecordError.objects.filter(pk=row.pk).update(last_seen_at=timezone.now() - dt.timedelta(hours=hours_ago))
    return row


def pks(response) -> set[int]:
    return {obj.pk for obj in listed(response)}


# -- sync runs --------------------------------------------------------------------------------------------


def test_run_list_shows_counts_calls_and_duration(admin_client_):
    portal = make_portal()
    run(portal, read=120, unchanged=100, created=12, updated=5, failed=3, hubspot_calls=4, error="2 records failed")
    html = admin_client_.get(RUNS).content.decode()
    assert (
        '<td class="field-counts">120 read: 12 new, 0 matched, 5 updated<br>'
        '<span class="kh-muted">100 unchanged, 3 failed, 0 skipped</span></td>'
    ) in html
    assert '<td class="field-calls_col">4</td>' in html
    assert '<td class="field-duration_col">12.5 s</td>' in html
    assert '<td class="field-error_col">2 records failed</td>' in html


def test_run_filters_by_portal_object_outcome_and_age(admin_client_):
    a, b = make_portal(), make_portal()
    recent_ok = run(a, "clients", "succeeded", hours_ago=0.5)
    day_failed = run(a, "products", "failed", hours_ago=5)
    week_partial = run(b, "clients", "partial", hours_ago=24 * 3)
    old_failed = run(b, "products", "failed", hours_ago=24 * 30)

    assert pks(admin_client_.get(RUNS, {"portal": a.hub_id})) == {recent_ok.pk, day_failed.pk}
    assert pks(admin_client_.get(RUNS, {"portal": "not-a-number"})) == set()
    assert pks(admin_client_.get(RUNS, {"object_type__exact": "products"})) == {day_failed.pk, old_failed.pk}
    assert pks(admin_client_.get(RUNS, {"status__exact": "failed"})) == {day_failed.pk, old_failed.pk}
    assert pks(admin_client_.get(RUNS, {"age": "1h"})) == {recent_ok.pk}
    assert pks(admin_client_.get(RUNS, {"age": "24h"})) == {recent_ok.pk, day_failed.pk}
    assert pks(admin_client_.get(RUNS, {"age": "7d"})) == {recent_ok.pk, day_failed.pk, week_partial.pk}
    assert pks(admin_client_.get(RUNS, {"age": "older"})) == {old_failed.pk}
    assert pks(admin_client_.get(RUNS, {"portal": b.hub_id, "status__exact": "failed"})) == {old_failed.pk}


def test_runs_are_read_only_even_for_superusers(admin_client_):
    row = run(make_portal())
    page = admin_client_.get(f"{RUNS}{row.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client_.post(f"{RUNS}{row.pk}/change/", {"status": "failed"}).status_code == 403
    assert admin_client_.get(f"{RUNS}add/").status_code == 403
    assert admin_client_.post(f"{RUNS}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SyncRun.objects.get(pk=row.pk).status == "succeeded"


def test_the_portal_input_filter_keeps_other_filters(admin_client_):
    html = admin_client_.get(RUNS, {"status__exact": "failed"}).content.decode()
    assert '<input type="hidden" name="status__exact" value="failed">' in html
    assert '<input type="search" name="portal" value=""' in html


# -- record errors ----------------------------------------------------------------------------------------


def test_record_error_page_shows_ids_message_payload_attempts_and_next_retry(admin_client_):
    portal = make_portal()
    next_retry = timezone.now() + dt.timedelta(hours=1)
    row = error(
        portal,
        "K-1001",
        hubspot_id="H-555",
        category="VALIDATION_ERROR",
        attempts=3,
        next_retry_at=next_retry,
        payload_excerpt={"name": "Åkesson & Co", "orgno": "<script>"},
    )
    RecordError.objects.filter(pk=row.pk).update(message="Property values were not valid: email")
    html = admin_client_.get(f"{ERRORS}{row.pk}/change/").content.decode()

    assert '<div class="readonly">K-1001</div>' in html
    assert '<div class="readonly">H-555</div>' in html
    assert "Property values were not valid: email" in html
    assert "&quot;name&quot;: &quot;Åkesson &amp; Co&quot;" in html  # escaped, never raw markup
    assert "&quot;orgno&quot;: &quot;&lt;script&gt;&quot;" in html
    assert '<div class="readonly">3</div>' in html
    assert 'name="_save"' not in html


def test_record_error_filters_by_portal_object_status_category_and_age(admin_client_):
    a, b = make_portal(), make_portal()
    open_a = error(a, "1", category="VALIDATION_ERROR", hours_ago=0.5)
    parked_a = error(a, "2", object_type="products", status="parked", category="TRANSFORM", hours_ago=30)
    resolved_b = error(b, "1", status="resolved", category="VALIDATION_ERROR", hours_ago=24 * 10)

    assert pks(admin_client_.get(ERRORS, {"portal": a.hub_id})) == {open_a.pk, parked_a.pk}
    assert pks(admin_client_.get(ERRORS, {"object_type__exact": "products"})) == {parked_a.pk}
    assert pks(admin_client_.get(ERRORS, {"state": "unresolved"})) == {open_a.pk, parked_a.pk}
    assert pks(admin_client_.get(ERRORS, {"state": "parked"})) == {parked_a.pk}
    assert pks(admin_client_.get(ERRORS, {"category": "VALIDATION_ERROR"})) == {open_a.pk, resolved_b.pk}
    assert pks(admin_client_.get(ERRORS, {"age": "1h"})) == {open_a.pk}
    assert pks(admin_client_.get(ERRORS, {"age": "7d"})) == {open_a.pk, parked_a.pk}
    assert pks(admin_client_.get(ERRORS, {"age": "older"})) == {resolved_b.pk}


def test_retry_action_unparks_the_selected_errors_per_portal(admin_client_):
    a, b = make_portal(), make_portal()
    parked_a = error(a, "1", status="parked", attempts=5)
    open_b = error(b, "1", attempts=2, next_retry_at=timezone.now() + dt.timedelta(hours=4))
    resolved = error(b, "2", status="resolved")
    untouched = error(a, "3", status="parked", attempts=5)

    response = run_action(admin_client_, ERRORS, "retry", [parked_a.pk, open_b.pk, resolved.pk])

    rows = {e.pk: (e.status, e.attempts, e.next_retry_at) for e in RecordError.objects.all()}
    assert rows[parked_a.pk] == ("open", 0, None)
    assert rows[open_b.pk] == ("open", 0, None)
    assert rows[resolved.pk][0] == "resolved"
    assert rows[untouched.pk] == ("parked", 5, None)
    assert messages_of(response) == [
        ("info", f"2 record errors will be retried on the next run: {a.hub_id} (1), {b.hub_id} (1).")
    ]
    staff = "staff:root@example.com"
    assert list(
        AuditEvent.objects.filter(action="record_errors.retried")
        .order_by("pk")
        .values_list("portal__hub_id", "actor_label", "after")
    ) == [(a.hub_id, staff, {"count": 1}), (b.hub_id, staff, {"count": 1})]


def test_retry_of_resolved_errors_only_says_so(admin_client_):
    resolved = error(make_portal(), "1", status="resolved")
    response = run_action(admin_client_, ERRORS, "retry", [resolved.pk])
    assert messages_of(response) == [
        ("warning", "None of the selected record errors is open or parked; nothing to retry.")
    ]


def retry_buttons(response) -> list[tuple[str, str]]:
    return [(b["label"], b["url"]) for b in response.context["record_error_buttons"]]


def test_the_record_error_page_retries_that_error_and_returns_to_it(support_client):
    portal = make_portal()
    parked = error(portal, "K-7", status="parked", attempts=5, hubspot_id="H-7")
    neighbour = error(portal, "K-8", status="parked", attempts=5)
    page_url, retry_url = f"{ERRORS}{parked.pk}/change/", f"{ERRORS}{parked.pk}/retry/"
    page = support_client.get(page_url)
    assert retry_buttons(page) == [("Retry", retry_url)]
    assert f'<form method="post" action="{retry_url}" class="kh-button">' in page.content.decode()

    response = support_client.post(retry_url)

    assert (response.status_code, response["Location"]) == (302, page_url)
    rows = {e.pk: (e.status, e.attempts) for e in RecordError.objects.all()}
    assert rows == {parked.pk: ("open", 0), neighbour.pk: ("parked", 5)}
    assert messages_of(response) == [("info", f"1 record error will be retried on the next run: {portal.hub_id} (1).")]
    assert list(AuditEvent.objects.filter(action="record_errors.retried").values_list("actor_label", "after")) == [
        ("staff:support@example.com", {"count": 1})
    ]
    assert support_client.get(retry_url).status_code == 405
    assert support_client.post(f"{ERRORS}999999/retry/").status_code == 404


def test_a_resolved_error_offers_no_retry(support_client):
    resolved = error(make_portal(), "K-9", status="resolved")
    assert retry_buttons(support_client.get(f"{ERRORS}{resolved.pk}/change/")) == []
    response = support_client.post(f"{ERRORS}{resolved.pk}/retry/")
    assert messages_of(response) == [
        ("warning", "None of the selected record errors is open or parked; nothing to retry.")
    ]
    assert RecordError.objects.get(pk=resolved.pk).status == "resolved"
