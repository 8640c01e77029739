"""Every back-office list renders, with and without facet counts (custom filters must support both)."""

from __future__ import annotations

import pytest

from tests.admin.conftest import make_portal

pytestmark = pytest.mark.django_db
# (list, has the HubSpot portal id box)
LISTS = [
    ("/admin/integration/portal/", False),
    ("/admin/integration/objectsync/", True),
    ("/admin/integration/syncrun/", True),
    ("/admin/integration/recorderror/", True),
    ("/admin/integration/auditevent/", True),
    ("/admin/integration/syncedrecord/", True),
    ("/admin/integration/inboundevent/", True),
    ("/admin/integration/kleercredentials/", False),
    ("/admin/integration/hubspotinstallation/", False),
    ("/admin/django_celery_beat/periodictask/", False),
]


@pytest.mark.parametrize(("url", "portal_box"), LISTS)
def test_list_renders_with_facets(admin_client_, url, portal_box):
    portal = make_portal(enable=("clients",))
    assert admin_client_.get(url).status_code == 200
    assert admin_client_.get(url, {"_facets": "True"}).status_code == 200
    if portal_box:
        assert admin_client_.get(url, {"_facets": "True", "portal": portal.hub_id}).status_code == 200
