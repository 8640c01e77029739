"""Site-wide odds and ends that are no page of their own."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET


@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """`/favicon.ico`: browsers ask for it on every page that names no icon (JSON answers, error pages, the
    sandbox), so answer with the app's icon instead of a 404 in every log."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
