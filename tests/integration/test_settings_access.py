"""Who may open which portal's settings: the portal-bound session, staff, cross-portal isolation, CSRF, framing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.portal_session import PAGE_POLICY
from integration.models import AuditEvent, FieldMapping, KleerCredentials
from integration.services.installations import portal_install
from integration.views import settings_objects
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db

SECRET_KEY = "kleer-api-key-DO-NOT-RENDER-9876"


@pytest.fixture(autouse=True)
def _hubspot_not_asked(monkeypatch):
    """No HubSpot here: the target page and the toggle must not ask one (test_settings_sandbox.py does)."""
    monkeypatch.setattr(settings_objects, "_hubspot", lambda object_sync: None)


def install(hub_id: int):
    return portal_install(
        hub_id=hub_id,
        access_token=f"hubspot-access-{hub_id}",
        refresh_token=f"hubspot-refresh-{hub_id}",
        expires_in=1800,
        scopes=["oauth"],
        installed_by="owner@example.com",
    )


def bind(client: Client, hub_id: int, email: str = "ada@example.com") -> Client:
    session = portal_session(client)
    session["portal_hub_id"] = hub_id
    session["portal_user_email"] = email
    session.save()
    return client


@pytest.fixture
def portal_a():
    portal = install(11)
    KleerCredentials.objects.create(portal=portal, company_id=4711, api_key=SECRET_KEY, api_key_last4="9876")
    return portal


@pytest.fixture
def portal_b():
    return install(22)


def settings_urls(hub_id: int, mapping_id: int) -> list[str]:
    base = f"/portals/{hub_id}/settings/"
    return [
        base,
        f"{base}clients/",
        f"{base}products/",
        f"{base}clients/mappings/new",
        f"{base}clients/mappings/{mapping_id}/",
        f"{base}clients/mappings/{mapping_id}/delete",
        f"{base}invoices/target?hubspot_object=deals",
    ]


def test_anonymous_visitors_are_asked_to_open_the_page_from_hubspot(client, portal_a):
    mapping = FieldMapping.objects.filter(object_sync__portal=portal_a).first()
    for url in settings_urls(portal_a.hub_id, mapping.pk):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Open the settings from HubSpot" in response.content
        assert "; frame-ancestors " in response["Content-Security-Policy"]
    assert client.get("/settings/").status_code == 403


def test_settings_home_redirects_to_the_bound_portal(client, portal_a):
    bind(client, portal_a.hub_id)
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"] == "/portals/11/settings/"


def test_a_portal_cannot_see_another_portals_pages(client, portal_a, portal_b):
    bind(client, portal_a.hub_id)
    mapping_b = FieldMapping.objects.filter(object_sync__portal=portal_b).first()
    for url in settings_urls(portal_b.hub_id, mapping_b.pk):
        assert client.get(url).status_code == 404, url
    for url in settings_urls(999, mapping_b.pk):
        assert client.get(url).status_code == 404, url


def test_a_portal_cannot_change_another_portals_data(client, portal_a, portal_b):
    bind(client, portal_a.hub_id)
    mapping_b = FieldMapping.objects.filter(object_sync__portal=portal_b, hubspot_property="phone").get()
    base_b = f"/portals/{portal_b.hub_id}/settings/"
    posts = [
        (f"{base_b}credentials", {"company_id": 1, "api_key": "x"}),
        (f"{base_b}sync-configuration", {"invoice_history_months": 3}),
        (f"{base_b}clients/toggle", {"enabled": "1"}),
        (f"{base_b}clients/mappings/{mapping_b.pk}/delete", {}),
        (f"{base_b}clients/mappings/new", {"action": "save", "kleer_field": "name", "hubspot_property": "x"}),
        (f"{base_b}products/sync", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert FieldMapping.objects.filter(pk=mapping_b.pk).exists()
    assert not KleerCredentials.objects.filter(portal=portal_b).exists()
    assert AuditEvent.objects.filter(portal=portal_b).exclude(action="portal.installed").count() == 0


def test_mapping_ids_of_another_portal_are_404_under_the_own_portal(client, portal_a, portal_b):
    bind(client, portal_a.hub_id)
    mapping_b = FieldMapping.objects.filter(object_sync__portal=portal_b, object_sync__object_type="clients").first()
    base_a = f"/portals/{portal_a.hub_id}/settings/clients/"
    assert client.get(f"{base_a}mappings/{mapping_b.pk}/").status_code == 404
    assert client.post(f"{base_a}mappings/{mapping_b.pk}/delete").status_code == 404
    edit = {"action": "save", "kleer_field": "name", "hubspot_property": "name", "default_value": ""}
    assert client.post(f"{base_a}mappings/{mapping_b.pk}/", edit).status_code == 404
    assert FieldMapping.objects.filter(pk=mapping_b.pk).exists()


def test_a_mapping_of_another_object_tab_is_404(client, portal_a):
    bind(client, portal_a.hub_id)
    products_mapping = FieldMapping.objects.filter(object_sync__portal=portal_a, object_sync__object_type="products")
    url = f"/portals/{portal_a.hub_id}/settings/clients/mappings/{products_mapping.first().pk}/"
    assert client.get(url).status_code == 404


def test_unknown_object_type_is_404(client, portal_a):
    bind(client, portal_a.hub_id)
    assert client.get(f"/portals/{portal_a.hub_id}/settings/widgets/").status_code == 404


def test_csrf_is_required_on_every_form(portal_a):
    client = bind(Client(enforce_csrf_checks=True), portal_a.hub_id)
    base = f"/portals/{portal_a.hub_id}/settings/"
    mapping = FieldMapping.objects.filter(object_sync__portal=portal_a, object_sync__object_type="clients").first()
    for url in [
        f"{base}credentials",
        f"{base}sync-configuration",
        f"{base}clients/toggle",
        f"{base}clients/pipeline",
        f"{base}clients/target",
        f"{base}clients/sync",
        f"{base}clients/mappings/new",
        f"{base}clients/mappings/{mapping.pk}/",
        f"{base}clients/mappings/{mapping.pk}/delete",
    ]:
        assert client.post(url, {"enabled": "1", "invoice_history_months": 5}).status_code == 403, url
    assert FieldMapping.objects.filter(pk=mapping.pk).exists()
    portal_a.refresh_from_db()
    assert portal_a.invoice_history_months == 12


def test_csrf_failure_page_shows_inside_hubspots_frame_and_links_back(portal_a, settings):
    settings.FRAME_ANCESTORS = ["https://app.hubspot.com"]
    client = bind(Client(enforce_csrf_checks=True), portal_a.hub_id)
    response = client.post(f"/portals/{portal_a.hub_id}/settings/clients/toggle", {"enabled": "1"})
    assert response.status_code == 403
    assert "X-Frame-Options" not in response.headers
    assert response["Content-Security-Policy"] == f"{PAGE_POLICY}; frame-ancestors https://app.hubspot.com"
    page = response.content.decode()
    assert "This page has expired" in page and "not saved</strong>" in page
    assert f'href="/portals/{portal_a.hub_id}/settings/"' in page
    assert "CSRF" not in page  # Django's technical reason is logged, not shown


def test_forms_carry_a_csrf_token(client, portal_a):
    bind(client, portal_a.hub_id)
    page = client.get(f"/portals/{portal_a.hub_id}/settings/clients/").content.decode()
    assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"')
    assert page.count('method="post"') >= 2


def test_settings_pages_may_be_framed_by_hubspot_only(client, portal_a, settings):
    settings.FRAME_ANCESTORS = ["https://app.hubspot.com", "https://app-eu1.hubspot.com"]
    bind(client, portal_a.hub_id)
    response = client.get(f"/portals/{portal_a.hub_id}/settings/")
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors https://app.hubspot.com https://app-eu1.hubspot.com"
    )
    # No page of the settings needs an inline script or style, which the policy would block.
    for url in settings_urls(portal_a.hub_id, FieldMapping.objects.filter(object_sync__portal=portal_a).first().pk):
        page = client.get(url).content.decode()
        assert "<script>" not in page and "<style" not in page and ' style="' not in page and " onclick=" not in page
    assert "X-Frame-Options" not in response
    # Pages outside the settings keep the site-wide DENY.
    assert client.get("/hubspot/oauth/callback").headers["X-Frame-Options"] == "DENY"


def test_the_stored_api_key_and_tokens_are_never_rendered(client, portal_a):
    bind(client, portal_a.hub_id)
    mapping = FieldMapping.objects.filter(object_sync__portal=portal_a, object_sync__object_type="clients").first()
    responses = [client.get(url) for url in settings_urls(portal_a.hub_id, mapping.pk)]
    responses.append(client.post(f"/portals/{portal_a.hub_id}/settings/credentials", {"company_id": "0"}))
    for response in responses:
        body = response.content.decode()
        for secret in (SECRET_KEY, SECRET_KEY[:-4], "hubspot-access-11", "hubspot-refresh-11"):
            assert secret not in body
    general = client.get(f"/portals/{portal_a.hub_id}/settings/").content.decode()
    assert "••••9876" in general


@pytest.fixture
def staff_client(django_user_model, client):
    user = django_user_model.objects.create_user(email="support@example.com", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_portal", content_type__app_label="integration"))
    client.force_login(user)
    return client


def test_staff_with_permission_can_open_any_portal_and_is_audited_as_staff(staff_client, portal_a, portal_b):
    for portal in (portal_a, portal_b):
        page = staff_client.get(f"/portals/{portal.hub_id}/settings/")
        assert page.status_code == 200
        assert b"as support staff" in page.content
    response = staff_client.post(
        f"/portals/{portal_b.hub_id}/settings/sync-configuration", {"invoice_history_months": 24}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(portal=portal_b, action="portal.sync_settings_changed")
    assert event.actor_label == "staff:support@example.com"
    assert event.actor.email == "support@example.com"
    assert event.before == {"invoice_history_months": 12, "archive_deleted": False}
    assert event.after == {"invoice_history_months": 24, "archive_deleted": False}


def test_staff_without_the_permission_get_404(django_user_model, client, portal_a):
    user = django_user_model.objects.create_user(email="ops@example.com", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(f"/portals/{portal_a.hub_id}/settings/").status_code == 404


def test_a_non_staff_user_with_the_permission_is_refused(django_user_model, client, portal_a):
    user = django_user_model.objects.create_user(email="someone@example.com", password="pw", is_staff=False)
    user.user_permissions.add(Permission.objects.get(codename="change_portal", content_type__app_label="integration"))
    client.force_login(user)
    assert client.get(f"/portals/{portal_a.hub_id}/settings/").status_code == 404


def test_portal_user_actions_are_audited_with_their_email(client, portal_a):
    bind(client, portal_a.hub_id, email="ada@example.com")
    client.post(f"/portals/{portal_a.hub_id}/settings/sync-configuration", {"invoice_history_months": 6})
    event = AuditEvent.objects.get(portal=portal_a, action="portal.sync_settings_changed")
    assert event.actor_label == "portal 11: ada@example.com"
    assert event.actor is None


def test_cross_site_cookies_are_partitioned_for_the_iframe():
    from django.http import HttpResponse
    from django.test import RequestFactory

    from accounts.portal_session import PartitionedCookieMiddleware

    def view(request):
        response = HttpResponse()
        response.set_cookie("sessionid", "s", samesite="None", secure=True, httponly=True)
        response.set_cookie("csrftoken", "c", samesite="None", secure=True)
        response.set_cookie("lax", "l", samesite="Lax", secure=True)
        response.set_cookie("insecure", "i", samesite="None")
        return response

    response = PartitionedCookieMiddleware(view)(RequestFactory().get("/"))
    headers = {morsel.key: morsel.OutputString() for morsel in response.cookies.values()}
    assert "Partitioned" in headers["sessionid"] and "Secure" in headers["sessionid"]
    assert "Partitioned" in headers["csrftoken"]
    assert "Partitioned" not in headers["lax"]
    assert "Partitioned" not in headers["insecure"]  # browsers refuse Partitioned without Secure
    assert headers["sessionid"].count("Partitioned") == 1
