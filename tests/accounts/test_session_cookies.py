"""Two session cookies with their own attributes (accounts/sessions.py), as production sends them.

Staff's admin session stays `SameSite=Lax`; the settings page embedded in HubSpot gets its own session cookie,
`SameSite=None; Secure; Partitioned`. Neither session opens the other's pages, and no CSRF cookie exists (the
secret lives in the session that serves the request).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.groups import SUPPORT
from integration.services.installations import portal_install
from tests.admin.conftest import PASSWORD
from tests.integration.test_install import HUB_ID, LAUNCH, SECRET, signed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production_cookies(settings):
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    settings.PUBLIC_BASE_URL = "https://kleer.example.com"
    settings.SESSION_COOKIE_SECURE = settings.PORTAL_SESSION_COOKIE_SECURE = True
    settings.PORTAL_SESSION_COOKIE_SAMESITE = "None"


def set_cookie_headers(response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, with the session key and the expiry date (they vary) masked."""
    headers = {}
    for name, morsel in response.cookies.items():
        text = morsel.OutputString()
        text = text.replace(f"{name}={morsel.value}", f"{name}=<key>", 1)
        headers[name] = re.sub(r"expires=[^;]+; ", "", text)
    return headers


def test_the_admin_login_sets_only_the_lax_staff_cookie(django_user_model):
    django_user_model.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client = Client()
    client.get("/admin/login/")

    response = client.post("/admin/login/?next=/admin/", {"username": "root@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert set_cookie_headers(response) == {
        "sessionid": "sessionid=<key>; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure"
    }


def test_a_signed_launch_sets_only_the_partitioned_portal_cookie():
    portal_install(
        hub_id=HUB_ID, access_token="a", refresh_token="r", expires_in=1800, scopes=["oauth"], installed_by="x@y.se"
    )
    client = Client()

    response = client.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}"))

    assert response.status_code == 302
    assert set_cookie_headers(response) == {
        "kh_portal_session": "kh_portal_session=<key>; HttpOnly; Max-Age=28800; Path=/; Partitioned; SameSite=None; "
        "Secure"
    }
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "sessionid" not in page.cookies and "csrftoken" not in page.cookies


def test_the_portal_session_does_not_open_the_admin_and_the_admin_session_does_not_bind_a_portal(
    django_user_model,
):
    portal_install(
        hub_id=HUB_ID, access_token="a", refresh_token="r", expires_in=1800, scopes=["oauth"], installed_by="x@y.se"
    )
    customer = Client()
    customer.get(LAUNCH, **signed("GET", f"https://kleer.example.com{LAUNCH}"))
    assert customer.get(f"/portals/{HUB_ID}/settings/").status_code == 200
    admin = customer.get("/admin/")
    assert (admin.status_code, admin["Location"]) == (302, "/admin/login/?next=/admin/")

    staff = Client()
    staff.force_login(django_user_model.objects.create_user(email="s@example.com", password=PASSWORD, is_staff=True))
    assert staff.get("/admin/").status_code == 200
    assert staff.get(f"/portals/{HUB_ID}/settings/").status_code == 404  # no portal bound, no change_portal


def test_support_staff_open_a_settings_page_with_their_admin_login(django_user_model):
    support_user = django_user_model.objects.create_user(email="support@example.com", password=PASSWORD, is_staff=True)
    support_user.groups.add(Group.objects.get(name=SUPPORT))
    portal_install(
        hub_id=HUB_ID, access_token="a", refresh_token="r", expires_in=1800, scopes=["oauth"], installed_by="x@y.se"
    )
    client = Client()
    client.force_login(support_user)

    response = client.get(f"/portals/{HUB_ID}/settings/")

    assert response.status_code == 200
    assert "support@example.com" in response.content.decode()
