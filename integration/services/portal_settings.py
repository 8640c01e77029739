"""Portal-wide sync options edited on the settings page (General Configuration → Sync configuration)."""

from __future__ import annotations

from django.db import transaction

from integration.models import Portal
from integration.services.audit import Actor, audit_record

HISTORY_MONTHS_RANGE = (1, 120)


class PortalSettingsError(ValueError):
    """A refused change; the message is safe to show to the customer."""


@transaction.atomic
def portal_sync_settings_save(
    *, portal: Portal, invoice_history_months: int, archive_deleted: bool, actor: Actor
) -> Portal:
    """Save the invoice history window (months, 1–120) and the archive-deleted opt-in; audit what changed.

    A shorter window only stops older invoices from being read: invoices already in HubSpot stay there.
    """
    low, high = HISTORY_MONTHS_RANGE
    if not low <= invoice_history_months <= high:
        raise PortalSettingsError(f"Enter a number of months from {low} to {high}.")
    locked = Portal.objects.select_for_update().get(pk=portal.pk)
    before = {"invoice_history_months": locked.invoice_history_months, "archive_deleted": locked.archive_deleted}
    after = {"invoice_history_months": invoice_history_months, "archive_deleted": archive_deleted}
    if before == after:
        return locked
    locked.invoice_history_months, locked.archive_deleted = invoice_history_months, archive_deleted
    locked.save(update_fields=["invoice_history_months", "archive_deleted", "updated_at"])
    audit_record(
        portal=locked,
        actor=actor,
        action="portal.sync_settings_changed",
        target=f"portal {locked.hub_id}",
        before=before,
        after=after,
    )
    return locked
