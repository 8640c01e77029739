"""Django admin as the back office: support staff run customer portals here, ops own the sync schedules.

Every write goes through a service (so it is audited with the staff member as actor); lists are built from
annotated querysets (selectors) so a page costs the same number of queries for 20 portals or 200. Secrets are
never selected for display: the Kleer key shows as ••••1234, HubSpot tokens not at all, and a replacement key
is a write-only input. Permissions (accounts/groups.py): Support changes portals, toggles, mappings and retries
errors; Ops edits PeriodicTasks and reads the rest; only holders of `view_staff_auditevent` see staff audit rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from accounts.groups import STAFF_AUDIT_PERMISSION
from integration import models, selectors
from integration.admin_filters import (
    STAFF_ACTOR,
    ActorFilter,
    ConnectionFilter,
    CredentialsFilter,
    FailingFilter,
    PortalIdFilter,
    age_filter,
)
from integration.catalog import Plan
from integration.services import portals
from integration.services.audit import Actor
from integration.services.credentials import (
    CredentialsError,
    credentials_check,
    credentials_check_company_switch,
    credentials_save,
)
from integration.services.mappings import MappingError, mapping_delete, mapping_save, mapping_validate
from integration.services.object_syncs import (
    ObjectSyncError,
    enable_blockers,
    object_sync_set_enabled,
    object_sync_set_target,
)

admin.site.site_header = "Kleer ⇄ HubSpot back office"
admin.site.site_title = "Kleer ⇄ HubSpot"
admin.site.index_title = "Customer portals, sync history and schedules"

# The customer's settings page (integration.views, another module); staff open it in a new tab.
SETTINGS_PAGE_PATH = "/portals/{hub_id}/settings/"
OUTCOME_TONES = {
    "succeeded": "ok",
    "partial": "warn",
    "skipped": "warn",
    "running": "",
    "failed": "bad",
    "abandoned": "bad",
    "open": "warn",
    "parked": "bad",
    "resolved": "ok",
}
LIST_LIMIT = 10

# -- display helpers ---------------------------------------------------------------------------------------


def badge(text: str, tone: str = "", title: str = "") -> SafeString:
    """A small coloured label (`tone`: ok, warn, bad, off, or "" for neutral)."""
    return format_html('<span class="kh-badge kh-{}" title="{}">{}</span>', tone or "none", title, text)


def ago(when: Any) -> str:
    return f"{timesince(when)} ago" if when else "never"


def changelist_url(model: type[Model], **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def change_url(obj: Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def portal_link(portal: models.Portal) -> SafeString:
    return format_html('<a href="{}">{}</a>', change_url(portal), portal.hub_id)


def pretty_json(value: Any) -> SafeString:
    return format_html('<pre class="kh-pre">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False, default=str))


def joined(items: list[str], sep: str = ", ") -> str:
    """At most LIST_LIMIT items, then "and N more" (messages stay readable when hundreds were selected)."""
    shown = sep.join(items[:LIST_LIMIT])
    return f"{shown}{sep}and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else shown


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and derived data: viewable (with the view or change permission), never edited here."""

    show_full_result_count = False  # large tables: skip the unfiltered COUNT(*)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# -- forms -------------------------------------------------------------------------------------------------


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


class ObjectSyncForm(forms.ModelForm):
    """The toggle and the HubSpot target; switching on is refused with the reasons the settings page gives."""

    class Meta:
        model = models.ObjectSync
        fields = ["enabled", "hubspot_object"]
        labels = {"enabled": "On"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "hubspot_object" in self.fields and self.instance.pk:
            self.fields["hubspot_object"] = forms.ChoiceField(
                label="HubSpot object",
                choices=[(t.hubspot_object, t.label) for t in self.instance.spec.targets],
                help_text="Changing it replaces the mappings with the new object's defaults.",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk and data.get("enabled") and not self.instance.enabled:
            reasons = enable_blockers(self.instance)
            if reasons:
                self.add_error("enabled", " ".join(reasons))
        return data


class FieldMappingForm(forms.ModelForm):
    """One mapping row; Kleer fields are offered from the catalog as "Label (name)", "" meaning a constant."""

    class Meta:
        model = models.FieldMapping
        fields = ["kleer_field", "hubspot_property", "default_value"]

    def __init__(self, *args: Any, object_sync: models.ObjectSync | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.object_sync = object_sync
        if object_sync is None or not object_sync.pk or "kleer_field" not in self.fields:
            return
        choices = [("", "None (constant default)")]
        choices += [(f.name, f.display) for f in object_sync.spec.mappable_fields]
        if self.instance.kleer_field and self.instance.kleer_field not in dict(choices):
            choices.append((self.instance.kleer_field, f"{self.instance.kleer_field} (not in the catalog)"))
        self.fields["kleer_field"] = forms.ChoiceField(label="Kleer field", choices=choices, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.object_sync is None or self.errors or data.get("DELETE") or not data.get("hubspot_property"):
            return data
        try:  # the service's own rules, so the admin refuses exactly what the settings page refuses
            mapping_validate(
                object_sync=self.object_sync,
                kleer_field=(data.get("kleer_field") or "").strip(),
                hubspot_property=data["hubspot_property"].strip(),
                default_value=data.get("default_value") or "",
                mapping=self.instance if self.instance.pk else None,
            )
        except MappingError as exc:
            raise ValidationError(str(exc)) from exc
        return data


class FieldMappingFormSet(forms.BaseInlineFormSet):
    """Gives each row its object sync, and keeps required fields mapped while the object is switched on."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "object_sync": self.instance}

    def clean(self) -> None:
        super().clean()
        object_sync = self.instance
        if not object_sync.pk or not object_sync.enabled:
            return
        spec = object_sync.spec
        kept = {
            f.cleaned_data.get("kleer_field") for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        }
        missing = [spec.field(name).display for name in spec.required_fields if name not in kept]
        if missing:
            raise ValidationError(f"{', '.join(missing)} is required while {spec.label} sync is on.")


# -- saving through services -------------------------------------------------------------------------------


def _mark_saved(formset: forms.BaseModelFormSet, changed: Iterable[tuple[Model, list[str]]] = ()) -> None:
    """What `formset.save()` would have recorded, for the admin's change message (we save through services)."""
    formset.new_objects, formset.deleted_objects = [], []
    formset.changed_objects = list(changed)


def apply_object_sync_form(request: HttpRequest, model_admin: admin.ModelAdmin, form: forms.ModelForm) -> None:
    """Apply a changed toggle/target through the services (target first: it resets the mappings)."""
    actor = Actor.staff(request.user)
    object_sync = models.ObjectSync.objects.select_related("portal", "periodic_task").get(pk=form.instance.pk)
    label = object_sync.spec.label
    if "hubspot_object" in form.changed_data:
        object_sync_set_target(object_sync=object_sync, hubspot_object=form.cleaned_data["hubspot_object"], actor=actor)
        model_admin.message_user(
            request,
            f"{label} now sync to {object_sync.hubspot_object}; the mappings were reset to that object's defaults.",
            messages.WARNING,
        )
    if "enabled" in form.changed_data:
        try:
            object_sync_set_enabled(object_sync=object_sync, enabled=form.cleaned_data["enabled"], actor=actor)
        except ObjectSyncError as exc:
            model_admin.message_user(request, f"{label} not switched on: {exc}", messages.ERROR)


def save_mapping_formset(request: HttpRequest, formset: forms.BaseInlineFormSet) -> None:
    """Deletions, then edits and additions, each through mapping_delete / mapping_save (audited)."""
    actor = Actor.staff(request.user)
    object_sync = models.ObjectSync.objects.select_related("portal").get(pk=formset.instance.pk)
    _mark_saved(formset)
    for form in formset.deleted_forms:
        if form.instance.pk:
            mapping = models.FieldMapping.objects.select_related("object_sync__portal").get(pk=form.instance.pk)
            mapping_delete(mapping=mapping, actor=actor)
            formset.deleted_objects.append(mapping)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        existing = models.FieldMapping.objects.filter(pk=form.instance.pk).first() if form.instance.pk else None
        saved = mapping_save(
            object_sync=object_sync,
            kleer_field=form.cleaned_data.get("kleer_field") or "",
            hubspot_property=form.cleaned_data["hubspot_property"],
            default_value=form.cleaned_data.get("default_value") or "",
            actor=actor,
            mapping=existing,
        )
        if existing:
            formset.changed_objects.append((saved, form.changed_data))
        else:
            formset.new_objects.append(saved)


# -- inlines -----------------------------------------------------------------------------------------------


class ObjectSyncDisplayMixin:
    """Columns shared by the object-sync inline and the object-sync list."""

    @admin.display(description="Schedule")
    def schedule(self, obj: models.ObjectSync) -> SafeString | str:
        text = selectors.schedule_text(obj)
        if obj.periodic_task_id is None:
            return text
        url = reverse("admin:django_celery_beat_periodictask_change", args=[obj.periodic_task_id])
        return format_html('<a href="{}" title="{}">{}</a>', url, obj.periodic_task.name, text)

    @admin.display(description="Last run")
    def last_run(self, obj: models.ObjectSync) -> SafeString | str:
        if not obj.last_run_at:
            return "never"
        error = Truncator(obj.last_error).chars(300) if obj.last_error else ""
        return format_html(
            '{} {}<div class="kh-muted">{}</div>',
            badge(obj.last_outcome or "?", OUTCOME_TONES.get(obj.last_outcome, "")),
            ago(obj.last_run_at),
            error,
        )


class ObjectSyncInline(ObjectSyncDisplayMixin, admin.TabularInline):
    """One row per catalog object type: toggle, target, effective schedule (links to beat), last run."""

    model = models.ObjectSync
    form = ObjectSyncForm
    extra = 0
    fields = ["object_label", "enabled", "hubspot_object", "schedule", "last_run", "mappings"]
    readonly_fields = ["object_label", "schedule", "last_run", "mappings"]
    verbose_name_plural = "Objects (toggle, HubSpot target, schedule, last run)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("portal", "periodic_task__interval", "periodic_task__crontab")
            .annotate(mapping_count=Count("mappings"))
        )

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="Object")
    def object_label(self, obj: models.ObjectSync) -> str:
        return obj.spec.label

    @admin.display(description="Mappings")
    def mappings(self, obj: models.ObjectSync) -> SafeString:
        count = getattr(obj, "mapping_count", None)
        return format_html('<a href="{}">{} mappings</a>', change_url(obj), count if count is not None else "edit")


class FieldMappingInline(admin.TabularInline):
    """The object's mappings; saved through mapping_save / mapping_delete (see ObjectSyncAdmin.save_related)."""

    model = models.FieldMapping
    form = FieldMappingForm
    formset = FieldMappingFormSet
    extra = 0
    fields = ["kleer_field", "hubspot_property", "default_value", "updated_at"]
    readonly_fields = ["updated_at"]


# -- portals -----------------------------------------------------------------------------------------------

# name → (label, confirmation, shown when): the portal page's buttons, which run the list's actions.
PORTAL_BUTTONS: dict[str, tuple[str, str, Callable[[models.Portal], bool]]] = {
    "sync_now": ("Sync now", "", lambda p: True),
    "full_resync": ("Full resync", "Forget what was sent and resend every record of this portal?", lambda p: True),
    "retry_parked": ("Retry parked errors", "", lambda p: True),
    "pause": ("Pause", "Pause syncing for this portal? Its configuration is kept.", lambda p: p.status == "active"),
    "resume": ("Resume", "", lambda p: p.status == "paused"),
    "switch_to_pro": ("Switch to Pro", "", lambda p: p.plan == Plan.FREE),
    "switch_to_free": ("Switch to Free", "Pro-only objects will be switched off.", lambda p: p.plan == Plan.PRO),
    "detach_synced_records": (
        "Detach synced records",
        "Forget which HubSpot record each Kleer record was synced to? Only before connecting another Kleer "
        "company: the HubSpot records stay as they are, and the next run creates new ones.",
        lambda p: p.synced_records.exists(),
    ),
    "disconnect": (
        "Disconnect HubSpot",
        "Mark the HubSpot connection as lost? The customer must reconnect the app.",
        lambda p: p.hubspot_status == "connected",
    ),
}


class PortalActionsMixin:
    """The portal actions: each calls one service per portal, then reports once with message_user."""

    def _portals(self, queryset: QuerySet) -> list[models.Portal]:
        return list(models.Portal.objects.filter(pk__in=queryset.values("pk")).order_by("hub_id"))

    def _report_requests(self, request: HttpRequest, results: list[tuple[Any, portals.SyncRequest]], verb: str) -> None:
        queued = [f"{p.hub_id} ({', '.join(r.queued)})" for p, r in results if r.queued]
        refused = [f"{p.hub_id} {label} — {reason}" for p, r in results for label, reason in r.refused]
        idle = [str(p.hub_id) for p, r in results if not r.queued and not r.refused]
        if queued:
            self.message_user(request, f"{verb} for {joined(queued)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not queued: {joined(refused, '; ')}", messages.WARNING)
        if idle:
            self.message_user(request, f"No object is switched on in {joined(idle)}; nothing queued.", messages.WARNING)

    @admin.action(description="Sync now (all enabled objects)", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        results = [(p, portals.portal_sync_now(portal=p, actor=actor)) for p in self._portals(queryset)]
        self._report_requests(request, results, "Sync queued")

    @admin.action(description="Full resync (forget fingerprints, resend everything)", permissions=["change"])
    def full_resync(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        done, refused = [], []
        for portal in self._portals(queryset):
            try:
                result = portals.portal_full_resync(portal=portal, actor=actor)
            except portals.PortalActionError as exc:
                refused.append(str(exc))
                continue
            done.append(f"{portal.hub_id} ({', '.join(result.queued)}; {result.records_reset} records to resend)")
            refused += [f"{portal.hub_id} {label} — {reason}" for label, reason in result.refused]
        if done:
            self.message_user(request, f"Full resync queued for {joined(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, joined(refused, "; "), messages.WARNING)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        actor = Actor.staff(request.user)
        changed, unchanged = [], []
        for portal in self._portals(queryset):
            did = portals.portal_set_status(portal=portal, status=status, actor=actor)
            (changed if did else unchanged).append(str(portal.hub_id))
        paused = status == models.Portal.Status.PAUSED
        if changed:
            what = "schedules disabled, configuration kept" if paused else "schedules of enabled objects re-enabled"
            self.message_user(request, f"{'Paused' if paused else 'Resumed'} {joined(changed)}: {what}.")
        if unchanged:
            self.message_user(request, f"Already {status}: {joined(unchanged)}.", messages.WARNING)

    @admin.action(description="Pause syncing (keeps configuration)", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, models.Portal.Status.PAUSED)

    @admin.action(description="Resume syncing", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, models.Portal.Status.ACTIVE)

    @admin.action(description="Retry parked record errors", permissions=["change"])
    def retry_parked(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        counts = {p.hub_id: portals.portal_retry_parked(portal=p, actor=actor) for p in self._portals(queryset)}
        done = [f"{hub_id} ({n})" for hub_id, n in counts.items() if n]
        if not done:
            self.message_user(request, "No parked record errors in the selected portals.", messages.WARNING)
            return
        total = sum(counts.values())
        noun = "parked record error" if total == 1 else "parked record errors"
        self.message_user(request, f"{total} {noun} will be retried on the next run: {joined(done)}.")

    @admin.action(description="Detach synced records (before connecting another Kleer company)", permissions=["change"])
    def detach_synced_records(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        for portal in self._portals(queryset):
            try:
                forgotten = portals.portal_detach_synced_records(portal=portal, actor=actor)
            except portals.PortalActionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            noun = "synced record" if forgotten == 1 else "synced records"
            self.message_user(
                request,
                f"Portal {portal.hub_id}: forgot {forgotten} {noun}. Another Kleer company can now be connected.",
            )

    @admin.action(description="Disconnect HubSpot (customer must reconnect)", permissions=["change"])
    def disconnect(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        done, skipped = [], []
        for portal in self._portals(queryset):
            reason = f"disconnected in admin by {actor.label}"
            did = portals.portal_disconnect(portal=portal, actor=actor, reason=reason)
            (done if did else skipped).append(str(portal.hub_id))
        if done:
            self.message_user(
                request, f"Disconnected from HubSpot: {joined(done)}. Syncs are skipped until the customer reconnects."
            )
        if skipped:
            self.message_user(request, f"Not connected to HubSpot: {joined(skipped)}.", messages.WARNING)

    def _set_plan(self, request: HttpRequest, queryset: QuerySet, plan: str) -> None:
        actor = Actor.staff(request.user)
        changed, unchanged = [], []
        for portal in self._portals(queryset):
            result = portals.portal_set_plan(portal=portal, plan=plan, actor=actor)
            if not result.changed:
                unchanged.append(str(portal.hub_id))
                continue
            off = f" (switched off {', '.join(result.disabled)})" if result.disabled else ""
            changed.append(f"{portal.hub_id}{off}")
        name = dict(models.PLAN_CHOICES)[plan]
        if changed:
            self.message_user(request, f"Switched to {name}: {joined(changed)}.")
        if unchanged:
            self.message_user(request, f"Already on {name}: {joined(unchanged)}.", messages.WARNING)

    @admin.action(description="Switch plan to Pro", permissions=["change"])
    def switch_to_pro(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_plan(request, queryset, Plan.PRO)

    @admin.action(description="Switch plan to Free (switches off Pro-only objects)", permissions=["change"])
    def switch_to_free(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_plan(request, queryset, Plan.FREE)


class PortalDisplayMixin:
    """The portal list's computed columns (all from annotations and the object_syncs prefetch)."""

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

    @admin.display(description="Kleer credentials", ordering="kleer_company_id")
    def kleer(self, obj: models.Portal) -> SafeString:
        if not obj.has_credentials:
            return badge("missing", "bad")
        verified = bool(obj.kleer_verified_at)
        return format_html(
            '{} <span class="kh-muted">••••{} · company {}</span>',
            badge("configured", "ok" if verified else "warn", title="verified" if verified else "not verified"),
            obj.kleer_key_last4,
            obj.kleer_company_id,
        )

    @admin.display(description="Enabled objects")
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

    @admin.display(description="HubSpot API")
    def api_budget(self, obj: models.Portal) -> SafeString | str:
        usage: selectors.ApiUsage | None = getattr(obj, "api_usage", None)
        if usage is None:
            return "–"
        limit = settings.HUBSPOT_RATE_LIMIT
        used = usage.calls_10s
        tone = "bad" if used >= limit * 0.9 else "warn" if used >= limit / 2 else ""
        return format_html(
            '{} <span class="kh-muted">/ 10 s</span><br><span class="kh-muted">24 h: {} calls, {} × 429, {} failed'
            "</span>",
            badge(f"{used}/{limit}", tone),
            usage.calls_24h,
            usage.throttled_24h,
            usage.errors_24h,
        )


@admin.register(models.Portal)
class PortalAdmin(PortalActionsMixin, PortalDisplayMixin, admin.ModelAdmin):
    """The portal list and page: health at a glance, actions, toggles, credentials replacement."""

    form = PortalAdminForm
    list_display = [
        "hub_id",
        "name",
        "plan_badge",
        "hubspot",
        "kleer",
        "objects",
        "last_sync",
        "errors",
        "api_budget",
    ]
    list_display_links = ["hub_id", "name"]
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
        _mark_saved(formset, [(f.instance, f.changed_data) for f in changed])

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


# -- object syncs and mappings -----------------------------------------------------------------------------


@admin.register(models.ObjectSync)
class ObjectSyncAdmin(ObjectSyncDisplayMixin, admin.ModelAdmin):
    """One portal × object type: toggle, target and its field mappings (all saved through services)."""

    form = ObjectSyncForm
    list_display = ["portal_col", "object_type", "enabled", "hubspot_object", "schedule", "last_run"]
    list_filter = [PortalIdFilter, "object_type", "enabled", "last_outcome"]
    list_select_related = ["portal", "periodic_task__interval", "periodic_task__crontab"]
    search_fields = ["=portal__hub_id", "portal__name"]
    fields = [
        "portal_col",
        "object_type",
        "enabled",
        "hubspot_object",
        "pipeline_id",
        "stage_id",
        "schedule",
        "last_run",
        "schema_checked_at",
    ]
    readonly_fields = [f for f in fields if f not in ("enabled", "hubspot_object")]
    inlines = [FieldMappingInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="Portal", ordering="portal__hub_id")
    def portal_col(self, obj: models.ObjectSync) -> SafeString:
        return format_html("{} {}", portal_link(obj.portal), obj.portal.name)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        """Nothing here: toggle and target are applied in save_related, after the mappings (services)."""

    def save_related(self, request: HttpRequest, form: Any, formsets: list, change: bool) -> None:
        target_changed = "hubspot_object" in form.changed_data
        for formset in formsets:
            if not target_changed:
                save_mapping_formset(request, formset)
                continue
            _mark_saved(formset)  # the new target's defaults replace every mapping; row edits no longer apply
            if formset.has_changed():
                self.message_user(
                    request, "Mapping edits were not saved: the HubSpot object changed.", messages.WARNING
                )
        if form.changed_data:
            apply_object_sync_form(request, self, form)


# -- installation and credentials (read-only: changes go through the portal page and its actions) ------------


@admin.register(models.HubSpotInstallation)
class HubSpotInstallationAdmin(ReadOnlyAdmin):
    """The OAuth grant; tokens are never selected for display."""

    list_display = ["portal", "status", "disconnected_reason", "installed_by", "expires_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["portal"]
    search_fields = ["=portal__hub_id", "portal__name"]
    fields = ["portal", "status", "disconnected_reason", "scopes", "installed_by", "connected_at", "expires_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("access_token", "refresh_token")


@admin.register(models.KleerCredentials)
class KleerCredentialsAdmin(ReadOnlyAdmin):
    """Which company each portal reads; the key shows as ••••1234 and is replaced on the portal page."""

    list_display = ["portal", "company_id", "masked_key", "verified_at", "updated_at"]
    list_select_related = ["portal"]
    search_fields = ["=company_id", "=portal__hub_id"]
    fields = ["portal_page", "company_id", "masked_key", "verified_at", "updated_at"]
    readonly_fields = ["portal_page", "masked_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("api_key")

    @admin.display(description="Portal")
    def portal_page(self, obj: models.KleerCredentials) -> SafeString:
        return format_html(
            '{} <span class="kh-muted">(replace the key on the portal page)</span>', portal_link(obj.portal)
        )


# -- history: synced records, runs, record errors, inbound events, audit ------------------------------------


class PortalColumnMixin:
    @admin.display(description="Portal", ordering="portal__hub_id")
    def portal_col(self, obj: Any) -> SafeString | str:
        return portal_link(obj.portal) if obj.portal_id else "—"


@admin.register(models.SyncedRecord)
class SyncedRecordAdmin(PortalColumnMixin, ReadOnlyAdmin):
    list_display = ["portal_col", "object_type", "kleer_id", "hubspot_object", "hubspot_id", "last_synced_at"]
    list_filter = [PortalIdFilter, "object_type", "deleted_in_kleer"]
    search_fields = ["=kleer_id", "=hubspot_id"]
    list_select_related = ["portal"]


@admin.register(models.SyncRun)
class SyncRunAdmin(PortalColumnMixin, ReadOnlyAdmin):
    """Every run with its counts, HubSpot calls and duration (pruned by housekeeping, never edited)."""

    list_display = [
        "started_at",
        "portal_col",
        "object_type",
        "trigger",
        "status_col",
        "counts",
        "hubspot_calls",
        "duration_col",
        "error_col",
    ]
    list_filter = [PortalIdFilter, "object_type", "status", "trigger", age_filter("started_at", "started")]
    list_select_related = ["portal"]
    search_fields = ["error"]
    search_help_text = "Words in the run's error."
    fields = [
        "portal_col",
        "object_type",
        "trigger",
        "status_col",
        "parent",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "duration_col",
        ("read", "unchanged", "created", "updated", "failed", "skipped", "deleted"),
        ("hubspot_calls", "hubspot_throttled", "hubspot_errors"),
        "error",
        "related",
    ]
    readonly_fields = ["portal_col", "status_col", "duration_col", "related"]

    @admin.display(description="Status", ordering="status")
    def status_col(self, obj: models.SyncRun) -> SafeString:
        return badge(obj.get_status_display(), OUTCOME_TONES.get(obj.status, ""))

    @admin.display(description="Read · unchanged · created · updated · failed · skipped")
    def counts(self, obj: models.SyncRun) -> str:
        return f"{obj.read} · {obj.unchanged} · {obj.created} · {obj.updated} · {obj.failed} · {obj.skipped}"

    @admin.display(description="Duration")
    def duration_col(self, obj: models.SyncRun) -> str:
        duration = obj.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    @admin.display(description="Error")
    def error_col(self, obj: models.SyncRun) -> str:
        return Truncator(obj.error).chars(120)

    @admin.display(description="Related")
    def related(self, obj: models.SyncRun) -> SafeString:
        errors = changelist_url(models.RecordError, run__id__exact=obj.pk)
        children = changelist_url(models.SyncRun, parent__id__exact=obj.pk)
        return format_html('<a href="{}">record errors of this run</a> · <a href="{}">child runs</a>', errors, children)


class RecordErrorStateFilter(admin.SimpleListFilter):
    """Status, plus "unresolved" (open or parked), the default question support asks."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unresolved", "Unresolved (open or parked)"), *models.RecordError.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "unresolved":
            return queryset.filter(status__in=selectors.UNRESOLVED)
        if value in models.RecordError.Status.values:
            return queryset.filter(status=value)
        return queryset


@admin.register(models.RecordError)
class RecordErrorAdmin(PortalColumnMixin, ReadOnlyAdmin):
    """The dead letter: what failed for which record, how often, and when it is retried next."""

    list_display = [
        "last_seen_at",
        "portal_col",
        "object_type",
        "kleer_id",
        "hubspot_id",
        "status_col",
        "category",
        "attempts",
        "next_retry_at",
        "message_col",
    ]
    list_filter = [
        PortalIdFilter,
        "object_type",
        RecordErrorStateFilter,
        "category",
        age_filter("last_seen_at", "last seen"),
    ]
    list_select_related = ["portal"]
    search_fields = ["=kleer_id", "=hubspot_id", "message"]
    search_help_text = "Kleer record id, HubSpot id, or words in the message."
    actions = ["retry"]
    fields = [
        "portal_col",
        "object_type",
        "kleer_id",
        "hubspot_id",
        "status_col",
        "category",
        "message",
        "payload",
        "attempts",
        "first_seen_at",
        "last_seen_at",
        "next_retry_at",
        "resolved_at",
        "run",
    ]
    readonly_fields = ["portal_col", "status_col", "payload"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integration.change_recorderror")

    def get_urls(self) -> list[URLPattern]:
        retry_view = self.admin_site.admin_view(self.retry_view)
        return [
            path("<path:object_id>/retry/", retry_view, name="integration_recorderror_retry"),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The page's Retry button: the list's retry action for this one error, then back to its page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        error = self.get_object(request, unquote(object_id))
        if error is None:
            raise Http404("No such record error.")
        if not self.has_retry_permission(request):
            raise PermissionDenied
        self.retry(request, models.RecordError.objects.filter(pk=error.pk))
        return HttpResponseRedirect(change_url(error))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        error = self.get_object(request, unquote(object_id))
        buttons = []
        # Only where retrying changes something: a resolved error has nothing left to retry.
        if error is not None and error.status in selectors.UNRESOLVED and self.has_retry_permission(request):
            url = reverse("admin:integration_recorderror_retry", args=[error.pk])
            help_text = "Reset the attempts so the next run of this object retries the record."
            buttons.append({"name": "retry", "label": "Retry", "confirm": "", "url": url, "help": help_text})
        extra_context = {**(extra_context or {}), "record_error_buttons": buttons}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Status", ordering="status")
    def status_col(self, obj: models.RecordError) -> SafeString:
        return badge(obj.get_status_display(), OUTCOME_TONES.get(obj.status, ""))

    @admin.display(description="Message")
    def message_col(self, obj: models.RecordError) -> str:
        return Truncator(obj.message).chars(120)

    @admin.display(description="Payload excerpt")
    def payload(self, obj: models.RecordError) -> SafeString:
        return pretty_json(obj.payload_excerpt)

    @admin.action(description="Retry (un-park; the next run retries them)", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        done = portals.record_errors_retry_selected(ids=queryset.values_list("pk", flat=True), actor=actor)
        if not done:
            self.message_user(
                request, "None of the selected record errors is open or parked; nothing to retry.", messages.WARNING
            )
            return
        detail = joined([f"{hub_id} ({n})" for hub_id, n in done.items()])
        total = sum(done.values())
        noun = "record error" if total == 1 else "record errors"
        self.message_user(request, f"{total} {noun} will be retried on the next run: {detail}.")


@admin.register(models.InboundEvent)
class InboundEventAdmin(PortalColumnMixin, ReadOnlyAdmin):
    list_display = ["received_at", "source", "event_id", "portal_col", "processed_at", "error"]
    list_filter = [PortalIdFilter, "source", age_filter("received_at", "received")]
    list_select_related = ["portal"]
    search_fields = ["=event_id"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(PortalColumnMixin, ReadOnlyAdmin):
    """Who changed what. Without `view_staff_auditevent` (Support), events by staff users are not shown."""

    list_display = ["created_at", "portal_col", "actor_label", "action", "target", "change"]
    list_filter = [PortalIdFilter, ActorFilter, "action", age_filter("created_at", "when")]
    list_select_related = ["portal"]
    search_fields = ["actor_label", "action", "target"]
    fields = ["created_at", "portal_col", "actor_label", "action", "target", "before_json", "after_json"]
    readonly_fields = ["portal_col", "before_json", "after_json"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if not request.user.has_perm(STAFF_AUDIT_PERMISSION):
            queryset = queryset.exclude(STAFF_ACTOR)
        return queryset

    @admin.display(description="Change")
    def change(self, obj: models.AuditEvent) -> str:
        before = ", ".join(f"{k}={v}" for k, v in obj.before.items())
        after = ", ".join(f"{k}={v}" for k, v in obj.after.items())
        return Truncator(f"{before} → {after}" if before else after).chars(160)

    @admin.display(description="Before")
    def before_json(self, obj: models.AuditEvent) -> SafeString:
        return pretty_json(obj.before)

    @admin.display(description="After")
    def after_json(self, obj: models.AuditEvent) -> SafeString:
        return pretty_json(obj.after)


# -- schedules: django-celery-beat's admin, with its bulk actions gated by the change permission -------------

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    """Ops edit per-portal schedules here (DB-owned; never in CELERY_BEAT_SCHEDULE, so deploys keep edits).

    django-celery-beat's actions have no permission of their own, so anyone who may view tasks could enable,
    disable or run them; here they need the change permission (Ops), like the form itself.
    """

    list_display = (*BeatPeriodicTaskAdmin.list_display, "portal")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("object_sync__portal")

    @admin.display(description="Portal")
    def portal(self, obj: PeriodicTask) -> SafeString | str:
        object_sync = getattr(obj, "object_sync", None)
        return portal_link(object_sync.portal) if object_sync else "—"

    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["change"])
    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks", permissions=["change"])
    def run_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().run_tasks(request, queryset)
