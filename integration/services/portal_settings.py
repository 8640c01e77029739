"""Portal-wide sync options edited on the settings page (General Configuration → Sync configuration, and
Conflicts and matching)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integration.models import ConflictRule, MatchRule, Portal
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
        raise PortalSettingsError(_("Enter a number of months from %(low)d to %(high)d.") % {"low": low, "high": high})
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


CONFLICT_RULE_QUESTION = gettext_noop("who wins when both sides changed")
MATCH_RULE_QUESTION = gettext_noop("how existing HubSpot records are matched")


def choices_message(choices: type[ConflictRule] | type[MatchRule], question: str) -> str:
    """The refusal of a value outside `choices`, naming each of them (shared with the settings form)."""
    *first, last = (f"“{label}”" for label in choices.labels)
    return _("Choose %(question)s: %(first)s or %(last)s.") % {
        "question": _(question),
        "first": ", ".join(first),
        "last": last,
    }


@transaction.atomic
def portal_sync_rules_save(*, portal: Portal, conflict_rule: str, match_rule: str, actor: Actor) -> Portal:
    """Save who wins a conflict on a two-way property and how unlinked records find an existing HubSpot record.

    `conflict_rule` is a ConflictRule value (latest, kleer, hubspot), `match_rule` a MatchRule value
    (orgno_domain, orgno, off). A value outside them is refused with the choices named, and nothing changes.
    Audited with what changed.
    """
    if conflict_rule not in ConflictRule.values:
        raise PortalSettingsError(choices_message(ConflictRule, CONFLICT_RULE_QUESTION))
    if match_rule not in MatchRule.values:
        raise PortalSettingsError(choices_message(MatchRule, MATCH_RULE_QUESTION))
    locked = Portal.objects.select_for_update().get(pk=portal.pk)
    before = {"conflict_rule": locked.conflict_rule, "match_rule": locked.match_rule}
    after = {"conflict_rule": conflict_rule, "match_rule": match_rule}
    if before == after:
        return locked
    locked.conflict_rule, locked.match_rule = conflict_rule, match_rule
    locked.save(update_fields=["conflict_rule", "match_rule", "updated_at"])
    audit_record(
        portal=locked,
        actor=actor,
        action="portal.sync_rules_changed",
        target=f"portal {locked.hub_id}",
        before=before,
        after=after,
    )
    return locked
