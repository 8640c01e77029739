"""The portal list and page: health at a glance, actions, toggles, and the write-only Kleer key replacement."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from integration import models, selectors
from integration.admin.common import OUTCOME_TONES, ago, badge, change_url, changelist_url
from integration.admin.filters import ConnectionFilter, CredentialsFilter, FailingFilter
from integration.admin.mappings import ObjectSyncInline, apply_object_sync_form, mark_saved
from integration.admin.portal_actions import PORTAL_BUTTONS, PortalActionsMixin
from integration.catalog import Plan
from integration.services import portals
from integration.services.audit import Actor
from integration.services.credentials import (
    CredentialsError,
    api_key_error,
    credentials_check,
    credentials_check_company_switch,
    credentials_save,
)

# The customer's settings page (integration.views, another module); staff open it in a new tab.
SETTINGS_PAGE_PATH = "/portals/{hub_id}/settings/"


class PortalAdminForm(forms.ModelForm):
    """The portal's plain settings plus a write-only replacement of its Kleer credentials.

    The new key is checked with Kleer in `clean()` (Kleer's refusal becomes the field's error and nothing is
    saved); the stored key is never put in the form, and a blank key keeps it.
    """

    allow_credentials = True
    kleer_company_id = forms.IntegerField(label="Kleer company id", required=False, min_value=1)
    kleer_api_key = forms.CharField(
        label="New Kleer API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave blank to keep the current key. Checked with Kleer before it is saved.",
    )

    class Meta:
        model = models.Portal
        fields = list(portals.EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credentials_change: tuple[int, str | None] | None = None
        if not self.allow_credentials:
            del self.fields["kleer_company_id"], self.fields["kleer_api_key"]
            return
        current = self._current_credentials()
        if current is not None:
            self.fields["kleer_company_id"].initial = current.company_id

    def _current_credentials(self) -> models.KleerCredentials | None:
        if not self.instance.pk:
            return None
        return models.KleerCredentials.objects.filter(portal_id=self.instance.pk).first()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.allow_credentials:
            self._clean_credentials(data)
        return data

    def _clean_credentials(self, data: dict[str, Any]) -> None:
        key, company_id = data.get("kleer_api_key") or "", data.get("kleer_company_id")
        current = self._current_credentials()
        if not key and (company_id is None or (current and company_id == current.company_id)):
            return
        if company_id is None:
            self.add_error("kleer_company_id", "Enter the Kleer company id.")
            return
        if not key and current is None:
            self.add_error("kleer_api_key", "Enter the Kleer API key.")
            return
        if key and (error := api_key_error(key)):
            self.add_error("kleer_api_key", error)
            return
        try:
            credentials_check_company_switch(portal=self.instance, company_id=company_id)
        except CredentialsError as exc:
            self.add_error("kleer_company_id", str(exc))
            return
        try:
            credentials_check(company_id=company_id, api_key=key or current.api_key)  # type: ignore[union-attr]
        except CredentialsError as exc:
            self.add_error("kleer_api_key", f"Kleer refused these credentials: {exc}")
            return
        self.credentials_change = (company_id, key or None)


class PortalDisplayMixin:
    """The portal list's computed columns (all from annotations and the object_syncs prefetch)."""

    @admin.display(description="Portal", ordering="hub_id")
    def portal_title(self, obj: models.Portal) -> SafeString:
        """The hub id with the portal's name under it: one column instead of two at 1024 px."""
        return format_html('<strong>{}</strong><br><span class="kh-muted">{}</span>', obj.hub_id, obj.name or "—")

    @admin.display(description="Plan", ordering="plan")
    def plan_badge(self, obj: models.Portal) -> SafeString:
        return badge(obj.get_plan_display(), "ok" if obj.plan == Plan.PRO else "")

    @admin.display(description="HubSpot", ordering="hubspot_status")
    def hubspot(self, obj: models.Portal) -> SafeString:
        if obj.hubspot_status == models.HubSpotInstallation.Status.CONNECTED:
            return badge("connected", "ok")
        if obj.hubspot_status is None:
            return badge("not installed", "bad")
        return badge("disconnected", "bad", title=obj.hubspot_disconnected_reason)

    @admin.display(description="Kleer", ordering="kleer_company_id")
    def kleer(self, obj: models.Portal) -> SafeString:
        if not obj.has_credentials:
            return badge("missing", "bad")
        verified = bool(obj.kleer_verified_at)
        return format_html(
            '{}<br><span class="kh-muted">••••{} · company {}</span>',
            badge("configured", "ok" if verified else "warn", title="verified" if verified else "not verified"),
            obj.kleer_key_last4,
            obj.kleer_company_id,
        )

    @admin.display(description="Objects on")
    def objects(self, obj: models.Portal) -> SafeString:
        summary = selectors.sync_summary(obj.object_syncs.all())
        if not summary.enabled:
            return badge("none", "off")
        return format_html_join(
            "",
            "{}",
            (
                (badge(s.spec.label, OUTCOME_TONES.get(s.last_outcome, ""), f"{s.last_outcome or 'never run'}"),)
                for s in summary.enabled
            ),
        )

    @admin.display(description="Last sync", ordering="latest_run_at")
    def last_sync(self, obj: models.Portal) -> SafeString:
        summary = selectors.sync_summary(obj.object_syncs.all())
        paused = badge("paused", "warn") if obj.status == models.Portal.Status.PAUSED else ""
        if summary.latest_run_at is None:
            return format_html("{} never", paused)
        outcome = summary.worst_outcome or "—"
        return format_html(
            '{} {} <span class="kh-muted">{}</span>',
            paused,
            badge(outcome, OUTCOME_TONES.get(outcome, "")),
            ago(summary.latest_run_at),
        )

    @admin.display(description="Errors 24 h", ordering="errors_24h")
    def errors(self, obj: models.Portal) -> SafeString | int:
        if not obj.errors_24h:
            return 0
        url = changelist_url(models.RecordError, portal=obj.hub_id, age="24h", state="unresolved")
        return format_html('<a href="{}">{}</a>', url, badge(str(obj.errors_24h), "bad"))

    @admin.display(description="Workflow actions 24 h", ordering="workflow_24h")
    def workflow_actions(self, obj: models.Portal) -> SafeString | int:
        if not obj.workflow_24h:
            return 0
        url = changelist_url(models.WorkflowExecution, portal=obj.hub_id, age="24h")
        failed = ""
        if obj.workflow_failed_24h:
            failed_url = changelist_url(models.WorkflowExecution, portal=obj.hub_id, age="24h", state__exact="failed")
            failed = format_html(' <a href="{}">{}</a>', failed_url, badge(f"{obj.workflow_failed_24h} failed", "bad"))
        return format_html('<a href="{}">{}</a>{}', url, obj.workflow_24h, failed)

    @admin.display(description="HubSpot API")
    def api_budget(self, obj: models.Portal) -> SafeString | str:
        usage: selectors.ApiUsage | None = getattr(obj, "api_usage", None)
        if usage is None:
            return "–"
        limit = settings.HUBSPOT_RATE_LIMIT
        used = usage.calls_10s
        if used is None:  # Redis is down: the rest of the page still renders
            window = badge(_("unavailable"), "warn")
        else:
            window = badge(f"{used}/{limit}", "bad" if used >= limit * 0.9 else "warn" if used >= limit / 2 else "")
        return format_html(
            '{} <span class="kh-muted">/ 10 s</span><br><span class="kh-muted">24 h: {} calls, {} × 429, {} failed'
            "</span>",
            window,
            usage.calls_24h,
            usage.throttled_24h,
            usage.errors_24h,
        )


@admin.register(models.Portal)
class PortalAdmin(PortalActionsMixin, PortalDisplayMixin, admin.ModelAdmin):
    """The portal list and page: health at a glance, actions, toggles, credentials replacement."""

    form = PortalAdminForm
    list_display = [
        "portal_title",
        "plan_badge",
        "hubspot",
        "kleer",
        "objects",
        "last_sync",
        "errors",
        "workflow_actions",
        "api_budget",
    ]
    list_display_links = ["portal_title"]
    list_filter = [FailingFilter, ConnectionFilter, "status", "plan", CredentialsFilter]
    search_fields = ["=hub_id", "name", "hub_domain", "=kleer_credentials__company_id"]
    search_help_text = "HubSpot portal id, name, domain or Kleer company id."
    actions = list(PORTAL_BUTTONS)
    inlines = [ObjectSyncInline]
    readonly_fields = [
        "hub_id",
        "plan",
        "status",
        "created_at",
        "updated_at",
        "hubspot_detail",
        "kleer_detail",
        "sync_state",
        "recent_problems",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.portal_list_queryset()

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """Read the page's API budget in one batch (one query plus one Redis round trip), not one per row."""
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)  # evaluates the page once; rendering reuses this result cache
        usage = selectors.hubspot_usage([p.hub_id for p in rows])
        for portal in rows:
            portal.api_usage = usage[portal.hub_id]
        return changelist

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # portals come from the HubSpot install flow

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # uninstalling belongs to a service that also removes beat entries; pause instead

    def can_replace_credentials(self, request: HttpRequest) -> bool:
        user = request.user
        return user.has_perm("integration.change_portal") and user.has_perm("integration.change_kleercredentials")

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list:
        fieldsets: list = [
            (None, {"fields": ["hub_id", "name", "hub_domain", "plan", "status"]}),
            ("Health", {"fields": ["hubspot_detail", "kleer_detail", "sync_state", "recent_problems"]}),
        ]
        if self.can_replace_credentials(request):
            fieldsets.append(("Replace Kleer credentials", {"fields": ["kleer_company_id", "kleer_api_key"]}))
        settings_fields = ["invoice_history_months", "archive_deleted", "created_at", "updated_at"]
        fieldsets.append(("Settings", {"fields": settings_fields, "classes": ["collapse"]}))
        return fieldsets

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.allow_credentials = self.can_replace_credentials(request)
        return form

    def save_model(self, request: HttpRequest, obj: models.Portal, form: PortalAdminForm, change: bool) -> None:
        actor = Actor.staff(request.user)
        portal = models.Portal.objects.get(pk=obj.pk)
        edits = {name: form.cleaned_data[name] for name in form.changed_data if name in portals.EDITABLE_FIELDS}
        portals.portal_update(portal=portal, changes=edits, actor=actor)
        if form.credentials_change is None:
            return
        company_id, api_key = form.credentials_change
        try:
            creds = credentials_save(portal=portal, company_id=company_id, api_key=api_key, actor=actor, verify=True)
        except CredentialsError as exc:  # Kleer changed its mind between clean() and here
            self.message_user(request, f"Kleer credentials not saved: {exc}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Kleer credentials saved and verified (company {creds.company_id}, key {creds.masked_key}).",
            messages.SUCCESS,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not models.ObjectSync:
            super().save_formset(request, form, formset, change)
            return
        changed = [f for f in formset.forms if f.instance.pk and f.has_changed()]
        for object_form in changed:
            apply_object_sync_form(request, self, object_form)
        mark_saved(formset, [(f.instance, f.changed_data) for f in changed])

    # -- the portal page: details, buttons, links -----------------------------------------------------------

    @admin.display(description="HubSpot connection")
    def hubspot_detail(self, obj: models.Portal) -> SafeString:
        row = models.HubSpotInstallation.objects.filter(portal_id=obj.pk).values(
            "status", "disconnected_reason", "connected_at", "installed_by"
        )
        info = row.first()
        if info is None:
            return badge("not installed", "bad")
        reason = f" — {info['disconnected_reason']}" if info["disconnected_reason"] else ""
        return format_html(
            '{}{} <span class="kh-muted">installed by {} · connected {}</span>',
            self.hubspot(obj),
            reason,
            info["installed_by"] or "?",
            ago(info["connected_at"]),
        )

    @admin.display(description="Kleer credentials")
    def kleer_detail(self, obj: models.Portal) -> SafeString:
        if not obj.has_credentials:
            return badge("missing", "bad")
        verified = f"verified {ago(obj.kleer_verified_at)}" if obj.kleer_verified_at else "never verified"
        return format_html(
            '{} company {}, key ••••{} <span class="kh-muted">{}</span>',
            badge("configured", "ok" if obj.kleer_verified_at else "warn"),
            obj.kleer_company_id,
            obj.kleer_key_last4,
            verified,
        )

    @admin.display(description="Sync")
    def sync_state(self, obj: models.Portal) -> SafeString:
        obj.api_usage = selectors.hubspot_usage([obj.hub_id])[obj.hub_id]
        return format_html(
            "{} · record errors in 24 h: {} · HubSpot calls: {}",
            self.last_sync(obj),
            self.errors(obj),
            self.api_budget(obj),
        )

    @admin.display(description="Recent problems")
    def recent_problems(self, obj: models.Portal) -> SafeString | str:
        rows = [
            (change_url(r), f"run {r.pk}", r.get_object_type_display(), r.status, r.started_at, r.error or "—")
            for r in selectors.portal_recent_failures(portal=obj)
        ]
        rows += [
            (change_url(e), f"record {e.kleer_id}", e.get_object_type_display(), e.status, e.last_seen_at, e.message)
            for e in selectors.portal_recent_errors(portal=obj)
        ]
        if not rows:
            return "none"
        cells = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}: {}</td></tr>',
            (
                (url, label, kind, badge(status, OUTCOME_TONES.get(status, "")), ago(when), Truncator(text).chars(300))
                for url, label, kind, status, when, text in rows
            ),
        )
        return format_html('<table class="kh-table">{}</table>', cells)

    def portal_links(self, request: HttpRequest, portal: models.Portal) -> list[tuple[str, str]]:
        """(label, url) of the portal's pages the user may open."""
        links = [("Customer settings page ↗", SETTINGS_PAGE_PATH.format(hub_id=portal.hub_id))]
        candidates = [
            ("Sync runs", models.SyncRun, "integration.view_syncrun", {"portal": portal.hub_id}),
            ("Record errors", models.RecordError, "integration.view_recorderror", {"portal": portal.hub_id}),
            ("Synced records", models.SyncedRecord, "integration.view_syncedrecord", {"portal": portal.hub_id}),
            ("Audit events", models.AuditEvent, "integration.view_auditevent", {"portal": portal.hub_id}),
            (
                "Beat tasks",
                PeriodicTask,
                "django_celery_beat.view_periodictask",
                {"name__startswith": selectors.schedule_tasks_prefix(portal)},
            ),
        ]
        user = request.user
        links += [(label, changelist_url(model, **q)) for label, model, perm, q in candidates if user.has_perm(perm)]
        return links

    def portal_buttons(self, request: HttpRequest, portal: models.Portal) -> list[dict[str, str]]:
        allowed = self.get_actions(request)
        buttons = []
        for name, (label, confirm, shown) in PORTAL_BUTTONS.items():
            if name in allowed and shown(portal):
                url = reverse("admin:integration_portal_action", args=[portal.pk, name])
                buttons.append({"name": name, "label": label, "confirm": confirm, "url": url, "help": allowed[name][2]})
        return buttons

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        portal = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if portal is not None:
            extra_context["portal_buttons"] = self.portal_buttons(request, portal)
            extra_context["portal_links"] = self.portal_links(request, portal)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        action_view = self.admin_site.admin_view(self.portal_action_view)
        return [
            path("<path:object_id>/action/<str:action>/", action_view, name="integration_portal_action"),
            *super().get_urls(),
        ]

    def portal_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """Run one list action on one portal (the page's buttons), then return to the portal page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        portal = self.get_object(request, unquote(object_id))
        if portal is None:
            raise Http404("No such portal.")
        allowed = self.get_actions(request)
        if action not in PORTAL_BUTTONS or action not in allowed:
            raise PermissionDenied
        func = allowed[action][0]
        func(self, request, models.Portal.objects.filter(pk=portal.pk))
        return HttpResponseRedirect(change_url(portal))
