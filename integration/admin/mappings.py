"""Object syncs and their field mappings: the toggle, the HubSpot target and the mapping rows.

Forms apply the services' own rules (so the admin refuses what the settings page refuses) and everything is
saved through the services (audited). ObjectSyncInline is the portal page's object table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from integration import models, selectors
from integration.admin.common import OUTCOME_TONES, RowIdsCheckedFormSet, ago, badge, change_url, portal_link
from integration.admin.filters import PortalIdFilter
from integration.services.audit import Actor
from integration.services.mappings import MappingError, mapping_delete, mapping_save, mapping_validate
from integration.services.object_syncs import (
    ObjectSyncError,
    enable_blockers,
    object_sync_set_enabled,
    object_sync_set_target,
)

# -- forms -------------------------------------------------------------------------------------------------


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


class FieldMappingFormSet(RowIdsCheckedFormSet):
    """Gives each row its object sync, keeps one row per HubSpot property, and keeps required fields mapped
    while the object is switched on."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "object_sync": self.instance}

    def clean(self) -> None:
        object_sync = self.instance
        if object_sync.pk:  # before Django's own unique check, which only says "correct the duplicate data"
            self._check_one_row_per_property()
        super().clean()
        if not object_sync.pk or not object_sync.enabled:
            return
        spec = object_sync.spec
        kept = {
            f.cleaned_data.get("kleer_field") for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        }
        missing = [spec.field(name).display for name in spec.required_fields if name not in kept]
        if missing:
            raise ValidationError(f"{', '.join(missing)} is required while {spec.label} sync is on.")

    def _check_one_row_per_property(self) -> None:
        """A property written by another kept row is refused here: saved row by row, the service would meet
        the database's one-mapping-per-property constraint half-way (also when two rows swap properties)."""
        kept = [
            f
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("hubspot_property")
        ]
        held = {f.initial.get("hubspot_property"): f for f in kept if f.instance.pk}
        taken: set[str] = set()
        for form in kept:
            prop = form.cleaned_data["hubspot_property"].strip()
            owner = held.get(prop)
            if (owner is not None and owner is not form) or prop in taken:
                form.add_error(
                    "hubspot_property",
                    _("%(property)s is written by another mapping of %(object)s; change or delete that one first.")
                    % {"property": prop, "object": self.instance.spec.label},
                )
            taken.add(prop)


class ObjectSyncFormSet(RowIdsCheckedFormSet):
    """The portal page's object rows: only this portal's object syncs (a tampered row id is a form error)."""


# -- saving through services -------------------------------------------------------------------------------


def mark_saved(formset: forms.BaseModelFormSet, changed: Iterable[tuple[Model, list[str]]] = ()) -> None:
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
    mark_saved(formset)
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
    formset = ObjectSyncFormSet
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


# -- the object sync's page: toggle, target and its mappings -----------------------------------------------


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
                try:
                    save_mapping_formset(request, formset)
                except MappingError as exc:  # a row another request added after this form was read
                    transaction.set_rollback(True)
                    self.message_user(request, _("Nothing was saved: %(error)s") % {"error": exc}, messages.ERROR)
                    return
                continue
            mark_saved(formset)  # the new target's defaults replace every mapping; row edits no longer apply
            if formset.has_changed():
                self.message_user(
                    request, "Mapping edits were not saved: the HubSpot object changed.", messages.WARNING
                )
        if form.changed_data:
            apply_object_sync_form(request, self, form)
