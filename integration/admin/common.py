"""Shared back-office helpers: badges, links, JSON, bounded lists, the read-only admin base, and the inline
formset that refuses tampered row ids."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from integration import models

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


TAMPERED_ROW = _("This row is not one of this page's rows (any more): reload the page and make the change again.")


class RowIdsCheckedFormSet(forms.BaseInlineFormSet):
    """An inline formset whose posted rows must be the parent's rows.

    Django treats a posted row whose id is not one of the parent's (another portal's, deleted, or garbage) as a
    new, empty row: saved, it would add a row; displayed, its read-only columns meet an instance with no data.
    Here such a row keeps the parent's row at that position for display and gets a form error on its id.
    """

    def _construct_form(self, i: int, **kwargs: Any) -> forms.Form:
        form = super()._construct_form(i, **kwargs)
        form.row_id_tampered = False
        if self.is_bound and i < self.initial_form_count() and form.instance.pk is None:
            form.row_id_tampered = True
            rows = list(self.get_queryset()[i : i + 1])
            if rows:
                form.instance = rows[0]
        return form

    def clean(self) -> None:
        for form in self.forms:
            if getattr(form, "row_id_tampered", False) and "id" not in form.errors:
                form.add_error("id", TAMPERED_ROW)
        super().clean()
