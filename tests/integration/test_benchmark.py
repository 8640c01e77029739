"""The arithmetic of `manage.py bench` (integration/benchmark.py); the benchmark itself is run, not tested."""

from __future__ import annotations

from integration.benchmark import Phase, is_write, utilisation


def test_write_calls_are_the_calls_that_change_records_or_links():
    assert is_write("POST /crm/objects/2026-03/companies/batch/upsert")
    assert is_write("POST /crm/associations/2026-03/invoices/companies/batch/create")
    assert is_write("POST /crm/properties/2026-03/companies")
    assert not is_write("GET /crm/properties/2026-03/companies")
    assert not is_write("POST /crm/objects/2026-03/companies/search")
    assert not is_write("POST /crm/objects/2026-03/companies/batch/read")


def test_utilisation_is_calls_over_what_the_moving_window_allowed_over_the_hubspot_phase():
    # 55 calls spread over 20 s: the window allowed 110 per 10 s, so 220.
    calls = [("POST /x/batch/upsert", n * 20 / 55, n * 20 / 55 + 0.3) for n in range(55)]
    assert round(utilisation(calls, 110), 3) == round(55 / (110 * (calls[-1][2] - calls[0][1]) / 10), 3)
    # A phase shorter than the window still counts one whole window.
    assert utilisation([("POST /a", 0.0, 1.0)] * 11, 110) == 0.1
    assert utilisation([], 110) == 0.0


def test_a_phase_counts_write_calls_and_sums_object_counts():
    phase = Phase(
        seconds=2.0,
        peak_rss_mb=90.0,
        objects={"clients": {"read": 3, "updated": 1}, "invoices": {"read": 5, "updated": 2}},
        calls=[("POST /crm/objects/2026-03/companies/batch/upsert", 0, 1), ("GET /crm/properties/2026-03/x", 1, 2)],
    )
    assert (phase.write_calls, phase.count("read"), phase.count("updated")) == (1, 8, 3)


def test_the_engine_measures_hubspot_answers_matching_look_ups_in_memory(settings):
    """The engine figure has both fakes answer at once: matching's look-ups before a create (a batch read by
    kleer_id, searches by organisation number or domain) must not reach for a server, which is not running then.
    """
    from types import SimpleNamespace

    from integration.benchmark import instant_hubspot

    settings.HUBSPOT_API_BASE = "http://127.0.0.1:1"  # nothing listens: a real call would fail
    installation = SimpleNamespace(portal=SimpleNamespace(hub_id=1), pk=1, portal_id=1)
    hubspot = instant_hubspot(installation)
    assert hubspot.batch_read("companies", [str(i) for i in range(150)], properties=["kleer_id"]) == []
    assert list(hubspot.search("companies", filter_groups=[], properties=["domain"])) == []
    assert hubspot.http.stats.calls == 3


def test_the_measured_children_keep_no_query_log_though_debug_is_on():
    """The bench's sync children run under DEBUG (the sandbox's keys), where Django keeps every query's SQL (up
    to 9,000 per connection, ~20 MB at 100,000 invoices); with `NO_QUERY_LOG` they keep none, as in production."""
    import os
    import subprocess
    import sys

    from integration.benchmark import NO_QUERY_LOG, ROOT

    query = (
        "import django\ndjango.setup()\nfrom django.conf import settings\nfrom django.db import connection\n"
        "connection.cursor().execute('SELECT 1')\nprint(settings.DEBUG, len(connection.queries_log))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": "true",
        "DATABASE_URL": "sqlite://:memory:",
    }

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True).stdout

    assert (run(query), run(NO_QUERY_LOG + query)) == ("True 1\n", "True 0\n")
