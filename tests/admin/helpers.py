"""Driving the admin like a person with a browser: read a change form, post it back, run list actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client

PORTALS = "/admin/integration/portal/"


def form_data(response: HttpResponse) -> dict[str, Any]:
    """The POST a browser would send for an unchanged admin change form (main form + every inline)."""
    context = response.context
    all_forms: list[forms.Form] = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        all_forms.append(inline.formset.management_form)
        all_forms.extend(inline.formset.forms)
    data: dict[str, Any] = {}
    for form in all_forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
                continue
            data[bound.html_name] = "" if value is None else value
    return data


def inline_prefix(response: HttpResponse, model_name: str) -> tuple[str, list[forms.Form]]:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model._meta.model_name == model_name:
            return inline.formset.prefix, list(inline.formset.forms)
    raise AssertionError(f"no {model_name} inline")


def messages_of(response: HttpResponse) -> list[tuple[str, str]]:
    """(level tag, text) of the messages this request added (not older, still unread ones)."""
    storage = get_messages(response.wsgi_request)
    return [(m.level_tag, str(m)) for m in storage._queued_messages]


def run_action(client: Client, changelist: str, action: str, pks: list[int]) -> HttpResponse:
    """Select rows on a changelist and run an action, as the action bar does."""
    return client.post(changelist, {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "index": 0})


def listed(response: HttpResponse) -> list[Any]:
    """The objects a changelist page shows."""
    return list(response.context["cl"].result_list)


def action_names(response: HttpResponse) -> set[str]:
    form = response.context.get("action_form")
    if form is None:
        return set()
    return {value for value, _ in form.fields["action"].choices if value}
