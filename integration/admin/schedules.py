"""Schedules: django-celery-beat's admin, with its bulk actions gated by the change permission."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import PeriodicTask

from integration import selectors
from integration.admin.common import portal_link
from integration.inputs import is_ascii_digits

admin.site.unregister(PeriodicTask)

BAD_DATE = "The date drill-down takes a year, month and day in digits."

# What each JSON field must hold: beat calls apply_async(*args, **kwargs, headers=headers) with them.
JSON_SHAPES = {"args": (list, _("Enter a JSON list, e.g. [].")), "kwargs": (dict, _("Enter a JSON object, e.g. {}."))}
JSON_SHAPES["headers"] = JSON_SHAPES["kwargs"]


class PeriodicTaskForm(BeatPeriodicTaskForm):
    """django-celery-beat's form, hardened: its clean() indexes `task` even when that field failed (a 500), and
    it takes `null` or a list for kwargs and headers, which the scheduler then cannot apply."""

    def clean(self) -> dict[str, Any]:
        self.cleaned_data.setdefault("task", "")
        return super().clean()

    def _clean_shaped_json(self, field: str) -> str:
        value = self.cleaned_data.get(field) or ""
        shape, message = JSON_SHAPES[field]
        try:
            parsed = json.loads(value) if value or field != "headers" else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, shape):
            raise forms.ValidationError(message)
        return value

    def clean_args(self) -> str:
        return self._clean_shaped_json("args")

    def clean_kwargs(self) -> str:
        return self._clean_shaped_json("kwargs")

    def clean_headers(self) -> str:
        return self._clean_shaped_json("headers")


class ScheduleForm(PeriodicTaskForm):
    """django-celery-beat's form with "Task (registered)" showing the task the row runs.

    The stock form leaves that dropdown blank on an existing row, so our sync task looked unlisted and the task
    name sat only in "Task (custom)"; saving with both is the same (a chosen registered task wins)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        task = self.instance.task if self.instance.pk else ""
        if task and task in dict(self.fields["regtask"].widget.choices):
            self.fields["regtask"].initial = task


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    """Ops edit per-portal schedules here (DB-owned; never in CELERY_BEAT_SCHEDULE, so deploys keep edits).

    django-celery-beat's actions have no permission of their own, so anyone who may view tasks could enable,
    disable or run them; here they need the change permission (Ops), like the form itself.
    """

    form = ScheduleForm
    # "Schedule" in words ("daily", "every 15 minutes") instead of the stock "every 1440 minutes".
    # (The stock list shows it twice, as "scheduler" and "interval".)
    list_display = ("name", "enabled", "schedule", "start_time", "last_run_at", "one_off", "portal")

    @admin.display(description="Schedule", ordering="interval")
    def schedule(self, obj: PeriodicTask) -> str:
        return selectors.describe_schedule(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("object_sync__portal")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The date drill-down (`start_time__year` …) takes digits only: Django turns a huge year into a date
        with OverflowError (a 500)."""
        for part in ("year", "month", "day"):
            value = request.GET.get(f"{self.date_hierarchy}__{part}")
            if value is not None and not is_ascii_digits(value, max_length=4):
                return HttpResponseBadRequest(BAD_DATE, content_type="text/plain; charset=utf-8")
        return super().changelist_view(request, extra_context)

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
