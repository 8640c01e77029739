"""Runs last: no page the suite rendered and no log line it wrote holds a seeded secret (tests/leaks.py).

It also renders the pages a support person opens for a portal holding every kind of secret, so the scan has
something to check when this file runs alone.
"""

from __future__ import annotations

import pytest

from tests.admin.conftest import ACCESS_TOKEN, API_KEY, REFRESH_TOKEN, make_portal
from tests.leaks import COLLECTOR


@pytest.mark.django_db
def test_no_page_or_log_line_showed_a_seeded_secret(admin_client):
    portal = make_portal(plan="pro", enable=("clients",))
    for url in [
        "/admin/integration/portal/",
        f"/admin/integration/portal/{portal.pk}/change/",
        "/admin/integration/kleercredentials/",
        "/admin/integration/hubspotinstallation/",
        "/admin/integration/auditevent/",
        f"/portals/{portal.hub_id}/settings/",
    ]:
        assert admin_client.get(url).status_code == 200, url

    assert {API_KEY, ACCESS_TOKEN, REFRESH_TOKEN} <= COLLECTOR.secrets
    assert COLLECTOR.pages >= 6
    for line in COLLECTOR.logs:
        COLLECTOR.check("log (final scan)", line)
    assert COLLECTOR.leaks == []
