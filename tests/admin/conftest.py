"""Fixtures for the back-office tests: staff users in each group, portals in known states, a fake Kleer check.

The Kleer credential check is replaced at the client boundary (`KleerClient.check_credentials`) so the real
`credentials_check` / `credentials_save` logic runs; "sync now" is asserted at the enqueue (the task's
`delay`, captured after commit) so no worker or API is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.groups import OPS, SUPPORT
from integration.clients.errors import AuthenticationError
from integration.clients.kleer import CompanyInfo, KleerClient
from integration.models import HubSpotInstallation, KleerCredentials, ObjectSync, Portal
from integration.services.audit import Actor
from integration.services.installations import object_syncs_ensure
from integration.services.object_syncs import object_sync_set_enabled
from tests.factories import PortalFactory

ACCESS_TOKEN = "hs-access-TOKEN-must-never-render-7c1f"
REFRESH_TOKEN = "hs-refresh-TOKEN-must-never-render-9a2e"
API_KEY = "kleer-api-KEY-must-never-render-4321"
GOOD_NEW_KEY = "kleer-new-valid-KEY-never-shown-8765"
KLEER_REFUSAL = "Kleer rejected the API key for company {company_id}"
PASSWORD = "pw-123456789"


def make_portal(
    *,
    plan: str = "free",
    status: str = "active",
    connected: bool | None = True,
    credentials: bool = True,
    enable: tuple[str, ...] = (),
    **fields: object,
) -> Portal:
    """A portal as the install flow leaves it (object syncs + default mappings), with `enable` switched on.

    `connected=None` means never installed (no HubSpotInstallation row).
    """
    portal = PortalFactory(plan=plan, **fields)
    if connected is not None:
        HubSpotInstallation.objects.create(
            portal=portal,
            status=HubSpotInstallation.Status.CONNECTED if connected else HubSpotInstallation.Status.DISCONNECTED,
            access_token=ACCESS_TOKEN,
            refresh_token=REFRESH_TOKEN,
            expires_at=timezone.now() + dt.timedelta(minutes=30),
            scopes=["crm.objects.companies.write"],
            installed_by="owner@customer.example",
            disconnected_reason="" if connected else "token revoked",
            connected_at=timezone.now() - dt.timedelta(days=3),
        )
    if credentials:
        KleerCredentials.objects.create(
            portal=portal,
            company_id=4800 + portal.pk,
            api_key=API_KEY,
            api_key_last4=API_KEY[-4:],
            verified_at=timezone.now(),
        )
    object_syncs_ensure(portal=portal)
    for object_sync in ObjectSync.objects.filter(portal=portal, object_type__in=enable).select_related("portal"):
        object_sync_set_enabled(object_sync=object_sync, enabled=True, actor=Actor.system())
    if status != portal.status:
        Portal.objects.filter(pk=portal.pk).update(status=status)
    portal.refresh_from_db()
    return portal


@pytest.fixture(autouse=True)
def database_rate_limits(settings):
    """Rate-limit windows in the database (exact query counts); tests/admin/test_api_budget.py opts into Redis."""
    settings.REDIS_URL = ""


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(email="root@example.com", password=PASSWORD)


def _group_user(django_user_model, email: str, group: str):
    user = django_user_model.objects.create_user(email=email, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def support_user(django_user_model):
    return _group_user(django_user_model, "support@example.com", SUPPORT)


@pytest.fixture
def ops_user(django_user_model):
    return _group_user(django_user_model, "ops@example.com", OPS)


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


@dataclass
class KleerCheck:
    """The fake credential check: accepts `valid` keys, refuses others with Kleer's message."""

    valid: set[str] = field(default_factory=lambda: {API_KEY, GOOD_NEW_KEY})
    calls: list[tuple[int, str]] = field(default_factory=list)


@pytest.fixture
def kleer_check(monkeypatch) -> KleerCheck:
    check = KleerCheck()

    def fake(self: KleerClient) -> CompanyInfo:
        check.calls.append((self.company_id, self._token))
        if self._token not in check.valid:
            raise AuthenticationError(KLEER_REFUSAL.format(company_id=self.company_id), service="Kleer", status=401)
        return CompanyInfo(company_id=self.company_id, name="Acme AB", orgno="556000-0000", currency="SEK")

    monkeypatch.setattr(KleerClient, "check_credentials", fake)
    return check


@dataclass
class Enqueued:
    """Calls of `object_sync_run.delay` made after commit: (object_sync_id, trigger, full)."""

    calls: list[tuple] = field(default_factory=list)


@pytest.fixture
def enqueued(monkeypatch) -> Enqueued:
    from integration.tasks import object_sync_run

    found = Enqueued()
    monkeypatch.setattr(object_sync_run, "delay", lambda *args, **kwargs: found.calls.append(args))
    return found
