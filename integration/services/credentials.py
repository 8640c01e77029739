"""Saving a portal's Kleer credentials (checked against Kleer first; the key is never shown again)."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from integration.clients.errors import ApiError, AuthenticationError
from integration.clients.kleer import KleerClient
from integration.models import KleerCredentials, Portal, SyncedRecord
from integration.services.audit import Actor, audit_record


class CredentialsError(ValueError):
    """The credentials were refused; the message is safe to show to the customer."""


# Kleer's tokens are printable ASCII; the key travels in the X-Token header, which cannot carry anything else
# (a key with "å" used to fail with UnicodeEncodeError while the request was being built: a 500).
_KEY_CHARACTERS = re.compile(r"[!-~]{1,500}")


def api_key_error(api_key: str) -> str:
    """Why `api_key` cannot be a Kleer API key ("" when it can), without repeating the key."""
    if _KEY_CHARACTERS.fullmatch(api_key):
        return ""
    return _(
        "A Kleer API key contains only letters, digits and punctuation (no spaces, no å, ä, ö); "
        "copy it again from the message Kleer support sent. Nothing was saved."
    )


def credentials_check(*, company_id: int, api_key: str) -> str:
    """Ask Kleer whether the key opens the company; return the company name or raise CredentialsError."""
    try:
        info = KleerClient(company_id=company_id, token=api_key, allow_sleep=False).check_credentials()
    except AuthenticationError as exc:
        # The client's message, in the customer's language (integration/clients/kleer.py `_classify`).
        if exc.status == 403:
            message = _("The Kleer API key has no access to company %(company)s; check the Company ID")
        else:
            message = _("Kleer rejected the API key for company %(company)s")
        raise CredentialsError(message % {"company": company_id}) from exc
    except ApiError as exc:
        raise CredentialsError(
            _("Could not reach Kleer to check the key (%(error)s); nothing was saved.") % {"error": exc.message}
        ) from exc
    return info.name


def credentials_check_company_switch(*, portal: Portal, company_id: int) -> None:
    """Refuse (CredentialsError) to point a portal that holds synced records at another Kleer company.

    Records synced from one company must not be matched against another company's list: the run would mark them
    all deleted (or archive them) in HubSpot, and a record with the same Kleer id would be overwritten. Support
    detaches the synced records first (`portal_detach_synced_records`)."""
    current = KleerCredentials.objects.filter(portal=portal).values_list("company_id", flat=True).first()
    if current is None or current == company_id:
        return
    synced = SyncedRecord.objects.filter(portal=portal).count()
    if synced:
        message = ngettext(
            "This portal holds %(count)d record synced from Kleer company %(current)s. Connecting company "
            "%(new)s would mark it deleted in HubSpot and could overwrite records with the same Kleer ids. "
            "Keep company %(current)s, or ask support to detach the synced records first; nothing was saved.",
            "This portal holds %(count)d records synced from Kleer company %(current)s. Connecting company "
            "%(new)s would mark them deleted in HubSpot and could overwrite records with the same Kleer ids. "
            "Keep company %(current)s, or ask support to detach the synced records first; nothing was saved.",
            synced,
        )
        raise CredentialsError(message % {"count": synced, "current": current, "new": company_id})


def credentials_save(
    *, portal: Portal, company_id: int, api_key: str | None, actor: Actor, verify: bool = True
) -> KleerCredentials:
    """Save the company id and key. A blank key keeps the stored one (the form never shows it).

    With `verify`, the pair is checked against Kleer first and nothing changes when Kleer refuses it.
    """
    current = KleerCredentials.objects.filter(portal=portal).first()
    key = (api_key or "").strip() or (current.api_key if current else "")
    if not key:
        raise CredentialsError(_("Enter the Kleer API key."))
    if error := api_key_error(key):
        raise CredentialsError(error)
    if company_id <= 0:
        raise CredentialsError(_("The Kleer Company ID is a positive number."))
    credentials_check_company_switch(portal=portal, company_id=company_id)
    if verify:
        credentials_check(company_id=company_id, api_key=key)
    # "api_key_change", not "api_key": the audit scrubber masks any value under a secret's name.
    before = {"company_id": current.company_id, "api_key_change": "set"} if current else {}
    with transaction.atomic():
        creds, _created = KleerCredentials.objects.update_or_create(
            portal=portal,
            defaults={
                "company_id": company_id,
                "api_key": key,
                "api_key_last4": key[-4:],
                "verified_at": timezone.now() if verify else None,
                # A refusal was about the key Kleer saw then: a new or re-verified key starts clean.
                "refused_at": None if verify or api_key else (current.refused_at if current else None),
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


def credentials_mark_refused(*, portal: Portal) -> bool:
    """Kleer answered 401 to the saved key during a run: remember it, so the General tab says so instead of
    "Configured" and tells the customer to enter a new key. Audited once per refusal, not once per run."""
    updated = KleerCredentials.objects.filter(portal=portal, refused_at__isnull=True).update(
        refused_at=timezone.now(), verified_at=None
    )
    if updated:
        audit_record(
            portal=portal,
            actor=Actor.system(),
            action="credentials.refused",
            target="Kleer credentials",
            after={"kleer": "HTTP 401 to the saved key during a sync"},
        )
    return bool(updated)
