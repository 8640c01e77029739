"""No admin page ever contains a secret: not the Kleer key, not HubSpot tokens, not a key just typed in."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from integration.models import RecordError, SyncedRecord, SyncRun
from tests.admin.conftest import ACCESS_TOKEN, API_KEY, GOOD_NEW_KEY, REFRESH_TOKEN, make_portal
from tests.admin.helpers import PORTALS, form_data

pytestmark = pytest.mark.django_db
SECRETS = (API_KEY, ACCESS_TOKEN, REFRESH_TOKEN, GOOD_NEW_KEY)
APPS = ("integration", "django_celery_beat")


@pytest.fixture
def portal():
    portal = make_portal(plan="pro", enable=("clients", "invoices"))
    run = SyncRun.objects.create(portal=portal, object_type="clients", status="failed", error="Kleer: 401")
    RecordError.objects.create(portal=portal, object_type="clients", kleer_id="1", message="m", run=run)
    SyncedRecord.objects.create(portal=portal, object_type="clients", kleer_id="1", hubspot_object="companies")
    return portal


def admin_pages() -> list[str]:
    """Changelist, change, history and delete pages of every object of every model in our admin."""
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in APPS:
            continue
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse(f"{base}_changelist"))
        for pk in model._default_manager.values_list("pk", flat=True):
            urls += [reverse(f"{base}_{view}", args=[pk]) for view in ("change", "history", "delete")]
    return urls


def assert_no_secret(html: str, where: str) -> None:
    leaked = [s for s in SECRETS if s in html]
    assert not leaked, f"{where} shows {leaked}"


@pytest.mark.parametrize("who", ["admin_client_", "support_client", "ops_client"])
def test_no_admin_page_contains_a_secret(portal, who, request):
    client = request.getfixturevalue(who)
    pages = admin_pages()
    assert len(pages) > 40
    masked = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        html = response.content.decode()
        assert_no_secret(html, url)
        masked += "••••4321" in html
    assert masked >= 2  # the pages about credentials did render them, masked


def test_a_key_typed_into_the_form_is_never_echoed(portal, admin_client_, kleer_check):
    kleer_check.valid = {API_KEY}  # Kleer refuses the new key first
    data = form_data(admin_client_.get(f"{PORTALS}{portal.pk}/change/"))
    data["kleer_api_key"] = GOOD_NEW_KEY
    refused = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data)
    assert refused.status_code == 200
    assert_no_secret(refused.content.decode(), "the refused form")

    kleer_check.valid = {GOOD_NEW_KEY}
    saved = admin_client_.post(f"{PORTALS}{portal.pk}/change/", data, follow=True)
    assert saved.redirect_chain[-1][1] == 302
    assert_no_secret(saved.content.decode(), "the page after saving")
    for url in admin_pages():
        assert_no_secret(admin_client_.get(url).content.decode(), url)
