"""A session-wide collector of everything the suite's pages and logs showed, checked for seeded secrets.

Installed from tests/conftest.py (pytest_configure) in every test process:
- every secret the suite stores (each value written to an encrypted field: Kleer API keys, HubSpot tokens)
  and the HubSpot client secret in force are registered as they appear;
- every response the product serves in this process (test client and live server alike; the sandbox's own
  pages are the fakes, not the product, and are left out) and every log record of the product's loggers is
  checked against the secrets known at that moment, and log texts are kept for a last scan at the end
  (tests/test_zz_no_secret_leaked.py).
Secrets shorter than MIN_SECRET characters are ignored: tests use values like "a" or "rt" that occur anywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

MIN_SECRET = 12


@dataclass
class LeakCollector:
    secrets: set[str] = field(default_factory=set)
    pages: int = 0
    logs: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def register(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET:
            self.secrets.add(value)

    def check(self, where: str, text: str) -> None:
        from django.conf import settings

        self.register(getattr(settings, "HUBSPOT_CLIENT_SECRET", ""))
        for secret in self.secrets:
            if secret in text:
                self.leaks.append(f"{where} shows the secret {secret[:4]}…")


COLLECTOR = LeakCollector()


class _LogCapture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("sandbox"):
            return
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logger's problem, not a leak
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        COLLECTOR.logs.append(text)
        COLLECTOR.check(f"log {record.name}", text)


def install() -> None:
    """Patch the encrypted field (register secrets) and Django's handler (check responses); add the handler."""
    from django.core.handlers.base import BaseHandler

    from integration.fields import EncryptedTextField

    store = EncryptedTextField.get_db_prep_value

    def get_db_prep_value(self: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        COLLECTOR.register(value)
        return store(self, value, *args, **kwargs)

    EncryptedTextField.get_db_prep_value = get_db_prep_value

    serve = BaseHandler.get_response

    def get_response(self: Any, request: Any) -> Any:
        response = serve(self, request)
        if not request.path.startswith("/sandbox/") and not getattr(response, "streaming", False):
            COLLECTOR.pages += 1
            text = response.content.decode("utf-8", "replace")
            headers = " ".join(f"{k}: {v}" for k, v in response.items())
            COLLECTOR.check(f"{request.method} {request.path}", f"{headers}\n{text}")
        return response

    BaseHandler.get_response = get_response
    handler = _LogCapture(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
