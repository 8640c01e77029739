"""The language of the customer's pages (settings, install flow): Swedish or English.

Chosen, first match wins:

1. the language the user picked with the switch on the settings page (kept in the portal session);
2. the HubSpot user's locale, when the signed launch carries one (`locale`, e.g. "sv-se"; see `launch`);
3. the browser's Accept-Language;
4. English (`LANGUAGE_CODE`).

The admin is the support team's back office and stays English whatever the session or browser says, so a
support agent who switched a customer's page to Swedish does not get a half-Swedish admin; so do the sandbox's
fakes, which imitate English APIs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

SESSION_LANGUAGE = "portal_language"  # picked with the switch
SESSION_HUBSPOT_LOCALE = "portal_hubspot_locale"  # from the signed launch


def supported_language(value: str | None) -> str | None:
    """The supported language code for a locale or language tag ("sv-SE", "sv_se", "en-us" …); None if none."""
    if not value:
        return None
    tag = str(value).strip().replace("_", "-").lower()[:35]
    try:
        return translation.get_supported_language_variant(tag)
    except LookupError:
        return None


def session_language(request: HttpRequest) -> str | None:
    """The language the portal session asks for (the switch, then HubSpot's locale), if any."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    return supported_language(session.get(SESSION_LANGUAGE)) or supported_language(session.get(SESSION_HUBSPOT_LOCALE))


def remember_hubspot_locale(request: HttpRequest, locale: str | None) -> None:
    """Keep the HubSpot user's locale (from a signed launch) for this session; unknown locales are ignored."""
    language = supported_language(locale)
    if language:
        request.session[SESSION_HUBSPOT_LOCALE] = language


def _english_only(path: str) -> bool:
    """The admin (the support team's back office) and the sandbox's fakes (they imitate English APIs)."""
    return path.startswith((reverse("admin:index"), "/sandbox/"))


class PortalLanguageMiddleware:
    """Activate the customer's language for each request (see the module docstring); English for the admin."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _english_only(request.path_info):
            language = settings.LANGUAGE_CODE
        else:
            language = session_language(request) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


@xframe_options_exempt
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The switch on the settings page: remember the language in the session and show the same page again.

    Django's own `set_language` keeps the choice in a cookie of its own; inside HubSpot's iframe a second
    third-party cookie may be blocked, so the choice lives in the (partitioned) portal session instead.
    """
    language = supported_language(request.POST.get("language"))
    if language:
        request.session[SESSION_LANGUAGE] = language
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("integration:settings_home")
    # The frame policy of the page it returns to applies to that page; a redirect carries no content.
    return HttpResponseRedirect(target)
