"""Refusals before any view runs: input that no view of the product can take answers 400, never 500."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

from integration.inputs import holds_nul, is_ascii_digits

NUL_IN_QUERY = "The address holds a NUL character, which no filter or search takes."
BAD_SELECTION = "The selected rows must be given by their numeric ids."


class HostileInputMiddleware:
    """NUL in a query string (PostgreSQL refuses it in text, so an admin filter or search would fail with a
    DataError), and admin action selections that are not numeric ids (the admin would pass them to
    `pk__in` and fail with a ValueError). The sandbox's fakes are left alone: they answer as the real APIs do.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/sandbox/"):
            return self.get_response(request)
        if holds_nul(key for key in request.GET) or holds_nul(v for vs in request.GET.lists() for v in vs[1]):
            return HttpResponseBadRequest(NUL_IN_QUERY, content_type="text/plain; charset=utf-8")
        if request.method == "POST" and request.path.startswith(reverse("admin:index")):
            selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
            if not all(is_ascii_digits(value) for value in selected):
                return HttpResponseBadRequest(BAD_SELECTION, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
