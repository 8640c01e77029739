"""Schedules: django-celery-beat's admin, with its bulk actions gated by the change permission."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from integration.admin.common import portal_link

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
