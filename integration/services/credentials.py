"""Saving a portal's Kleer credentials (checked against Kleer first; the key is never shown again)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from integration.clients.errors import ApiError, AuthenticationError
from integration.clients.kleer import KleerClient
from integration.models import KleerCredentials, Portal
from integration.services.audit import Actor, audit_record


class CredentialsError(ValueError):
    """The credentials were refused; the message is safe to show to the customer."""


def credentials_check(*, company_id: int, api_key: str) -> str:
    """Ask Kleer whether the key opens the company; return the company name or raise CredentialsError."""
    try:
        info = KleerClient(company_id=company_id, token=api_key, allow_sleep=False).check_credentials()
    except AuthenticationError as exc:
        raise CredentialsError(exc.message) from exc
    except ApiError as exc:
        raise CredentialsError(f"Could not reach Kleer to check the key ({exc.message}); nothing was saved.") from exc
    return info.name


def credentials_save(
    *, portal: Portal, company_id: int, api_key: str | None, actor: Actor, verify: bool = True
) -> KleerCredentials:
    """Save the company id and key. A blank key keeps the stored one (the form never shows it).

    With `verify`, the pair is checked against Kleer first and nothing changes when Kleer refuses it.
    """
    current = KleerCredentials.objects.filter(portal=portal).first()
    key = (api_key or "").strip() or (current.api_key if current else "")
    if not key:
        raise CredentialsError("Enter the Kleer API key.")
    if company_id <= 0:
        raise CredentialsError("The Kleer Company ID is a positive number.")
    if verify:
        credentials_check(company_id=company_id, api_key=key)
    # "api_key_change", not "api_key": the audit scrubber masks any value under a secret's name.
    before = {"company_id": current.company_id, "api_key_change": "set"} if current else {}
    with transaction.atomic():
        creds, _ = KleerCredentials.objects.update_or_create(
            portal=portal,
            defaults={
                "company_id": company_id,
                "api_key": key,
                "api_key_last4": key[-4:],
                "verified_at": timezone.now() if verify else None,
            },
        )
        audit_record(
            portal=portal,
            actor=actor,
            action="credentials.saved",
            target="Kleer credentials",
            before=before,
            after={"company_id": company_id, "api_key_change": "changed" if api_key else "kept"},
        )
    return creds
