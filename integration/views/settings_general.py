"""The General Configuration tab: HubSpot connection, Kleer credentials, sync configuration, conflicts and
matching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.portal_session import PortalAccess, portal_access_required
from integration import catalog
from integration.forms import CredentialsForm, SyncConfigForm, SyncRulesForm
from integration.models import HubSpotInstallation, KleerCredentials, SyncRun
from integration.services.credentials import CredentialsError, credentials_save
from integration.services.portal_settings import (
    PortalSettingsError,
    portal_sync_rules_save,
    portal_sync_settings_save,
)
from integration.views.settings_common import GENERAL_TAB, page_context, settings_url

TEMPLATE = "integration/settings/general.html"
FIRST_SYNC_DONE = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)


@dataclass(frozen=True)
class Step:
    """One step of the onboarding checklist on the General tab."""

    title: str
    help: str
    url: str
    done: bool
    current: bool = False


def _onboarding(access: PortalAccess, credentials: KleerCredentials | None) -> list[Step]:
    """Connect Kleer → switch on an object → first sync; the first step not done is the current one.

    Empty once every step is done (the checklist then disappears)."""
    portal = access.portal
    enabled = list(portal.object_syncs.filter(enabled=True).values_list("object_type", flat=True))
    first_tab = settings_url(access, enabled[0] if enabled else "clients")
    ran = SyncRun.objects.filter(portal=portal, status__in=FIRST_SYNC_DONE, parent__isnull=True).exists()
    steps = [
        Step(
            _("Connect Kleer"),
            _("Enter your Kleer Company ID and API key below; Kleer is asked whether it accepts them."),
            "#kleer",
            credentials is not None and credentials.refused_at is None,
        ),
        Step(
            _("Switch on an object"),
            _("Open a tab (Clients is a good start), check its mappings and switch it ON."),
            first_tab,
            bool(enabled),
        ),
        Step(
            _("First sync"),
            _("Press Sync now on that tab, or wait for its first scheduled run; its records then appear in HubSpot."),
            f"{first_tab}#sync-status",
            ran,
        ),
    ]
    if all(step.done for step in steps):
        return []
    current = next(i for i, step in enumerate(steps) if not step.done)
    return [Step(**{**vars(step), "current": i == current}) for i, step in enumerate(steps)]


# Where the customer gets the key. The incumbent app's documentation says "found in Kleer under Settings → API"
# (shared/reference/kleer-for-hubspot-product.md §8, [DOC]); integrators report that Kleer support issues the
# company id and token and that Kleer's UI may not show them (kleer-api.md §1.2, S11 Exopen, S12 Boardeaser).
KEY_SOURCE = gettext_lazy(
    "In Kleer, open Inställningar (Settings) → API to find your Company ID and create an API key. If your Kleer "
    "account does not show them there, ask Kleer support for a Company ID and an API key for this integration."
)


def _credentials(access: PortalAccess) -> KleerCredentials | None:
    return KleerCredentials.objects.filter(portal=access.portal).first()


def _context(
    access: PortalAccess,
    *,
    credentials_form: CredentialsForm | None = None,
    sync_form: SyncConfigForm | None = None,
    rules_form: SyncRulesForm | None = None,
) -> dict[str, Any]:
    portal = access.portal
    credentials = _credentials(access)
    installation = HubSpotInstallation.objects.filter(portal=portal).first()
    connected = installation is not None and installation.status == HubSpotInstallation.Status.CONNECTED
    if credentials_form is None:
        initial = {"company_id": credentials.company_id} if credentials else {}
        credentials_form = CredentialsForm(initial=initial, masked_key=credentials.masked_key if credentials else "")
    if sync_form is None:
        sync_form = SyncConfigForm(
            initial={
                "invoice_history_months": portal.invoice_history_months,
                "archive_deleted": portal.archive_deleted,
            }
        )
    if rules_form is None:
        rules_form = SyncRulesForm(initial={"conflict_rule": portal.conflict_rule, "match_rule": portal.match_rule})
    return page_context(
        access,
        GENERAL_TAB,
        rules_form=rules_form,
        two_way_labels=[spec.title for spec in catalog.REGISTRY.values() if spec.two_way],
        installation=installation,
        connected=connected,
        credentials=credentials,
        credentials_form=credentials_form,
        sync_form=sync_form,
        reconnect_url=reverse("integration:install"),
        key_configured=credentials is not None and credentials.refused_at is None,
        onboarding=_onboarding(access, credentials),
        key_source=KEY_SOURCE,
    )


@never_cache
@portal_access_required
@require_GET
def general(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """The General Configuration tab (the settings page's first tab)."""
    return render(request, TEMPLATE, _context(access))


@portal_access_required
@require_POST
def credentials(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """Save the Kleer credentials after Kleer accepted them; a refused key changes nothing."""
    current = _credentials(access)
    form = CredentialsForm(request.POST, masked_key=current.masked_key if current else "")
    if form.is_valid():
        try:
            credentials_save(
                portal=access.portal,
                company_id=form.cleaned_data["company_id"],
                api_key=form.cleaned_data["api_key"] or None,
                actor=access.actor,
            )
        except CredentialsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Kleer credentials saved: Kleer accepted the key."))
            return HttpResponseRedirect(f"{settings_url(access)}#kleer")
    return render(request, TEMPLATE, _context(access, credentials_form=form))


@portal_access_required
@require_POST
def sync_config(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """Save the invoice history window and the archive-deleted opt-in."""
    form = SyncConfigForm(request.POST)
    if form.is_valid():
        try:
            portal_sync_settings_save(portal=access.portal, actor=access.actor, **form.cleaned_data)
        except PortalSettingsError as exc:
            form.add_error("invoice_history_months", str(exc))
        else:
            messages.success(request, _("Sync configuration saved."))
            return HttpResponseRedirect(f"{settings_url(access)}#sync-config")
    return render(request, TEMPLATE, _context(access, sync_form=form))


@portal_access_required
@require_POST
def sync_rules(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """Save who wins when both sides changed and how existing HubSpot records are matched."""
    form = SyncRulesForm(request.POST)
    if form.is_valid():
        try:
            portal_sync_rules_save(portal=access.portal, actor=access.actor, **form.cleaned_data)
        except PortalSettingsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Conflicts and matching saved."))
            return HttpResponseRedirect(f"{settings_url(access)}#sync-rules")
    return render(request, TEMPLATE, _context(access, rules_form=form))
