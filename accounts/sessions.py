"""Two sessions, two cookies: staff's back office and the settings page embedded in HubSpot (DESIGN §6).

The settings page lives in HubSpot's iframe, where only a `SameSite=None; Secure; Partitioned` cookie survives
(accounts/portal_session.py, PartitionedCookieMiddleware). The admin must not share that cookie: a staff
session sent on cross-site requests would make every admin form depend on CSRF alone, and a cookie scoped to
HubSpot's partition would not log staff in at the top level anyway. So:

- under the admin (`/admin/`): Django's session cookie (`SESSION_COOKIE_NAME`, always `SameSite=Lax`);
- everywhere else: the portal session (`PORTAL_SESSION_COOKIE_NAME`, `PORTAL_SESSION_COOKIE_SAMESITE`, `None`
  in production), which only the OAuth callback and a signed launch bind to a portal.

The CSRF secret lives in whichever session serves the request (`CSRF_USE_SESSIONS`), so there is no CSRF
cookie to share either. Staff who open a settings page at the top level are still recognised: there
`request.user` is read from the staff session (sent with top-level navigations, `Lax`), read-only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.http import http_date


@dataclass(frozen=True)
class SessionCookie:
    """Name and attributes of one session cookie."""

    name: str
    samesite: str
    secure: bool

    @classmethod
    def staff(cls) -> SessionCookie:
        return cls(settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SAMESITE, settings.SESSION_COOKIE_SECURE)

    @classmethod
    def portal(cls) -> SessionCookie:
        return cls(
            settings.PORTAL_SESSION_COOKIE_NAME,
            settings.PORTAL_SESSION_COOKIE_SAMESITE,
            settings.PORTAL_SESSION_COOKIE_SECURE,
        )


def is_staff_path(path: str) -> bool:
    """Pages served with the staff session: the Django admin."""
    return path.startswith(reverse("admin:index"))


class ScopedSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, with the cookie chosen by path (see the module docstring)."""

    def process_request(self, request: HttpRequest) -> None:
        staff_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if is_staff_path(request.path):
            request.session_cookie = SessionCookie.staff()
            request.session = self.SessionStore(staff_key)
            return
        request.session_cookie = SessionCookie.portal()
        request.session = self.SessionStore(request.COOKIES.get(settings.PORTAL_SESSION_COOKIE_NAME))
        request.staff_session = self.SessionStore(staff_key) if staff_key else None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Save the session and (re)set or delete its cookie, as Django's does, under this request's cookie."""
        cookie: SessionCookie | None = getattr(request, "session_cookie", None)
        session = getattr(request, "session", None)
        if cookie is None or session is None:
            return response
        vary = session.accessed
        if cookie.name in request.COOKIES and session.is_empty():
            response.delete_cookie(
                cookie.name, path=settings.SESSION_COOKIE_PATH, domain=settings.SESSION_COOKIE_DOMAIN
            )
            vary = True
        elif (
            (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)
            and not session.is_empty()
            and response.status_code < 500  # as Django: no session save for a failed request
        ):
            self._save(session, cookie, response)
            vary = True
        if vary:
            patch_vary_headers(response, ("Cookie",))
        return response

    def _save(self, session: object, cookie: SessionCookie, response: HttpResponse) -> None:
        max_age = None if session.get_expire_at_browser_close() else session.get_expiry_age()
        try:
            session.save()
        except UpdateError as exc:
            raise SessionInterrupted("The request's session was deleted before the request completed.") from exc
        response.set_cookie(
            cookie.name,
            session.session_key,
            max_age=max_age,
            expires=None if max_age is None else http_date(time.time() + max_age),
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=cookie.secure or None,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite=cookie.samesite,
        )


class ScopedAuthenticationMiddleware(AuthenticationMiddleware):
    """`request.user` from the staff session everywhere (outside the admin, read from `request.staff_session`)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        if is_staff_path(request.path):
            return
        staff = SimpleNamespace(session=getattr(request, "staff_session", None) or _EmptySession())
        request.user = SimpleLazyObject(lambda: auth.get_user(staff))
        request.auser = partial(auth.aget_user, staff)


class _EmptySession(dict):
    """Stands in for a missing staff session: no user id, so the user is anonymous."""

    def flush(self) -> None:
        self.clear()

    async def aflush(self) -> None:
        self.clear()
