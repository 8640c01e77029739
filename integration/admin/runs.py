"""History: synced records, sync runs, record errors (the dead letter, with retry), inbound events, audit.

All read-only; the one write is retrying record errors, through the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from accounts.groups import STAFF_AUDIT_PERMISSION
from integration import models, selectors
from integration.admin.common import (
    OUTCOME_TONES,
    ReadOnlyAdmin,
    badge,
    change_url,
    changelist_url,
    joined,
    portal_link,
    pretty_json,
)
from integration.admin.filters import STAFF_ACTOR, ActorFilter, PortalIdFilter, RecordErrorStateFilter, age_filter
from integration.services import portals
from integration.services.audit import Actor
from integration.services.matching import CREATE_NEW, MatchResolveError, record_error_match_resolve
from integration.sync.matching import AMBIGUOUS


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
        "calls_col",
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

    @admin.display(description="Counts")
    def counts(self, obj: models.SyncRun) -> SafeString:
        """Every record read lands in one count; two short lines instead of one column per count."""
        return format_html(
            "{} read: {} new, {} matched, {} updated<br>"
            '<span class="kh-muted">{} unchanged, {} failed, {} skipped</span>',
            obj.read,
            obj.created,
            obj.matched,
            obj.updated,
            obj.unchanged,
            obj.failed,
            obj.skipped,
        )

    @admin.display(description="Calls", ordering="hubspot_calls")
    def calls_col(self, obj: models.SyncRun) -> SafeString:
        """HubSpot calls, with the 429s and failed calls when there were any."""
        if not (obj.hubspot_throttled or obj.hubspot_errors):
            return format_html("{}", obj.hubspot_calls)
        return format_html(
            '{}<br><span class="kh-muted">{} × 429, {} failed</span>',
            obj.hubspot_calls,
            obj.hubspot_throttled,
            obj.hubspot_errors,
        )

    @admin.display(description="Duration")
    def duration_col(self, obj: models.SyncRun) -> str:
        duration = obj.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "—"

    @admin.display(description="Error")
    def error_col(self, obj: models.SyncRun) -> str:
        return Truncator(obj.error).chars(100) or "—"

    @admin.display(description="Related")
    def related(self, obj: models.SyncRun) -> SafeString:
        errors = changelist_url(models.RecordError, run__id__exact=obj.pk)
        children = changelist_url(models.SyncRun, parent__id__exact=obj.pk)
        return format_html('<a href="{}">record errors of this run</a> · <a href="{}">child runs</a>', errors, children)


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
        "customer_message",
        "message",
        "payload",
        "attempts",
        "first_seen_at",
        "last_seen_at",
        "next_retry_at",
        "resolved_at",
        "run",
        "candidates_col",
    ]
    readonly_fields = ["portal_col", "status_col", "payload", "candidates_col"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integration.change_recorderror")

    def get_urls(self) -> list[URLPattern]:
        retry_view = self.admin_site.admin_view(self.retry_view)
        match_view = self.admin_site.admin_view(self.match_view)
        return [
            path("<path:object_id>/retry/", retry_view, name="integration_recorderror_retry"),
            path("<path:object_id>/match/<str:candidate>/", match_view, name="integration_recorderror_match"),
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

    def match_view(self, request: HttpRequest, object_id: str, candidate: str) -> HttpResponse:
        """An ambiguous match's "Link" / "Create new" buttons: resolve it through the service, then back."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        error = self.get_object(request, unquote(object_id))
        if error is None:
            raise Http404("No such record error.")
        if not self.has_retry_permission(request):
            raise PermissionDenied
        try:
            result = record_error_match_resolve(
                record_error=error, candidate_id=candidate, actor=Actor.staff(request.user)
            )
        except MatchResolveError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, result.message)
        return HttpResponseRedirect(change_url(error))

    def _match_buttons(self, error: models.RecordError) -> list[dict[str, str]]:
        """One button per candidate of an unresolved ambiguous match, and one to create a new record."""
        if error.category != AMBIGUOUS or error.status not in selectors.UNRESOLVED or not error.candidates:
            return []
        buttons = []
        for candidate in [*error.candidates, {"id": CREATE_NEW}]:
            url = reverse("admin:integration_recorderror_match", args=[error.pk, candidate["id"]])
            if candidate["id"] == CREATE_NEW:
                label, help_text = "Create new", "Link none of them: the next run creates a new HubSpot record."
            else:
                label = f"Link {candidate.get('name') or candidate['id']} ({candidate['id']})"
                help_text = f"Write this record's kleer_id onto HubSpot record {candidate['id']} and sync into it."
            buttons.append({"name": "match", "label": label, "confirm": "", "url": url, "help": help_text})
        return buttons

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        error = self.get_object(request, unquote(object_id))
        buttons = []
        if error is not None and self.has_retry_permission(request):
            buttons += self._match_buttons(error)
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

    @admin.display(description="Candidates (ambiguous match)")
    def candidates_col(self, obj: models.RecordError) -> SafeString | str:
        if not obj.candidates:
            return "—"
        rows = format_html_join(
            "",
            "<li>HubSpot {} — {} ({}: {})</li>",
            (
                (c.get("id"), c.get("name") or "(no name)", c.get("reason", ""), c.get("value", ""))
                for c in obj.candidates
            ),
        )
        return format_html("<ul>{}</ul>", rows)

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

    list_display = ["created_at", "portal_col", "actor_label", "action", "target", "before_col", "after_col"]
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

    @admin.display(description="Before")
    def before_col(self, obj: models.AuditEvent) -> str:
        return Truncator(", ".join(f"{k}={v}" for k, v in obj.before.items())).chars(90) or "—"

    @admin.display(description="After")
    def after_col(self, obj: models.AuditEvent) -> str:
        return Truncator(", ".join(f"{k}={v}" for k, v in obj.after.items())).chars(90) or "—"

    @admin.display(description="Before")
    def before_json(self, obj: models.AuditEvent) -> SafeString:
        return pretty_json(obj.before)

    @admin.display(description="After")
    def after_json(self, obj: models.AuditEvent) -> SafeString:
        return pretty_json(obj.after)
