"""Switching object types on and off (and their HubSpot → Kleer direction), and changing their HubSpot target."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.catalog import Plan
from integration.clients.errors import ApiError
from integration.clients.hubspot import HubSpotClient
from integration.models import HubSpotInstallation, ObjectSync, Portal, SyncedRecord
from integration.services.audit import Actor, audit_record
from integration.services.installations import mappings_reset_to_defaults
from integration.services.schedules import schedule_apply


class ObjectSyncError(ValueError):
    """A change that is refused; the message is safe to show to the customer."""


def enable_blockers(object_sync: ObjectSync) -> list[str]:
    """Everything that stops `object_sync` from being switched on, as sentences for the settings page."""
    spec, portal = object_sync.spec, object_sync.portal
    reasons = []
    if spec.plan == Plan.PRO and portal.plan != Plan.PRO:
        reasons.append(_("%(label)s sync needs the Pro plan.") % {"label": spec.title})
    if not hasattr(portal, "kleer_credentials"):
        reasons.append(_("Save your Kleer credentials first (General Configuration)."))
    installation = getattr(portal, "installation", None)
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        reasons.append(_("HubSpot is disconnected; reconnect the app first."))
    mapped = {m.kleer_field for m in object_sync.mappings.all()}
    missing = [spec.field(name).display for name in spec.required_fields if name not in mapped]
    if missing:
        reasons.append(_("Map the required field %(fields)s first.") % {"fields": ", ".join(missing)})
    return reasons


def hubspot_object_missing(*, object_sync: ObjectSync, hubspot_object: str, hubspot: HubSpotClient) -> str:
    """Why this portal cannot hold `hubspot_object` ("" when it can, or when HubSpot cannot be asked now).

    Commerce subscriptions need HubSpot Payments or Stripe, projects the Projects tool; HubSpot answers a list
    call with 403 FEATURE_NOT_ENABLED without them (hubspot-api.md §5.2, §5.3, §10.3). Best effort: when
    HubSpot cannot be asked, the first run reports the problem instead.
    """
    try:
        if hubspot.object_available(hubspot_object):
            return ""
    except ApiError:
        return ""
    return object_sync.spec.target_unavailable_message(hubspot_object)


def object_sync_set_enabled(
    *, object_sync: ObjectSync, enabled: bool, actor: Actor, hubspot: HubSpotClient | None = None
) -> ObjectSync:
    """Switch one object type on or off; switching on is refused with reasons (nothing changes then).

    With `hubspot`, switching on also asks the portal whether it has the target object (the settings page does;
    the admin may switch on regardless).
    """
    if enabled == object_sync.enabled:
        return object_sync
    if enabled:
        reasons = enable_blockers(object_sync)
        if not reasons and hubspot is not None:
            missing = hubspot_object_missing(
                object_sync=object_sync, hubspot_object=object_sync.hubspot_object, hubspot=hubspot
            )
            reasons = [missing] if missing else []
        if reasons:
            raise ObjectSyncError(" ".join(reasons))
    with transaction.atomic():
        object_sync.enabled = enabled
        # Switched on: beat runs it once at its next tick, whatever the interval, and the tab says "queued".
        object_sync.run_requested_at = timezone.now() if enabled else object_sync.run_requested_at
        object_sync.save(update_fields=["enabled", "run_requested_at", "updated_at"])
        schedule_apply(object_sync=object_sync, run_soon=enabled)
        audit_record(
            portal=object_sync.portal,
            actor=actor,
            action="object_sync.enabled" if enabled else "object_sync.disabled",
            target=object_sync.spec.label,
            before={"enabled": not enabled},
            after={"enabled": enabled},
        )
    return object_sync


def two_way_possible(object_sync: ObjectSync) -> bool:
    """Whether any mapping of this object can be two-way with its current HubSpot target: a two-way object type
    in the catalog (clients, projects) whose target HubSpot notifies apps about (`Target.inbound_properties`;
    HubSpot projects have none, deals do)."""
    spec = object_sync.spec
    return spec.two_way and bool(spec.target(object_sync.hubspot_object).inbound_properties)


def inbound_active(object_sync: ObjectSync) -> bool:
    """Whether HubSpot edits of this object's two-way mappings are written to Kleer now.

    The rule the settings page words and the webhook processing applies (services/inbound.py ignores events
    unless the object's sync and its "HubSpot → Kleer" switch are both ON): two-way possible with the current
    target, the object's sync ON, and its switch ON.
    """
    return two_way_possible(object_sync) and object_sync.enabled and object_sync.inbound_enabled


def object_sync_set_inbound(*, object_sync: ObjectSync, enabled: bool, actor: Actor) -> ObjectSync:
    """Switch "HubSpot → Kleer" (ObjectSync.inbound_enabled) on or off; audited.

    Only two-way object types take HubSpot edits back; switching it on for any other is refused with the
    catalog's reason and changes nothing. Switching off is always allowed.
    """
    spec = object_sync.spec
    if enabled and not spec.two_way:
        raise ObjectSyncError(spec.one_way_reason(object_sync.hubspot_object, None, ""))
    if enabled == object_sync.inbound_enabled:
        return object_sync
    with transaction.atomic():
        object_sync.inbound_enabled = enabled
        object_sync.save(update_fields=["inbound_enabled", "updated_at"])
        audit_record(
            portal=object_sync.portal,
            actor=actor,
            action="object_sync.inbound_enabled" if enabled else "object_sync.inbound_disabled",
            target=spec.label,
            before={"inbound_enabled": not enabled},
            after={"inbound_enabled": enabled},
        )
    return object_sync


def object_sync_set_target(
    *, object_sync: ObjectSync, hubspot_object: str, actor: Actor, hubspot: HubSpotClient | None = None
) -> ObjectSync:
    """Point the object type at another HubSpot object.

    Its mappings are replaced by the new target's defaults (property names differ between objects), the
    pipeline choice is cleared, and records already in HubSpot stay where they are: the next run creates
    them in the new object. Callers must have asked the user to confirm this. With `hubspot`, a target the
    portal does not have is refused.
    """
    spec = object_sync.spec
    if hubspot_object not in spec.allowed_targets:
        raise ObjectSyncError(
            _("%(label)s can sync to %(targets)s, not %(target)s.")
            % {"label": spec.title, "targets": ", ".join(spec.allowed_targets), "target": hubspot_object or "—"}
        )
    before = object_sync.hubspot_object
    if before == hubspot_object:
        return object_sync
    if hubspot is not None:
        missing = hubspot_object_missing(object_sync=object_sync, hubspot_object=hubspot_object, hubspot=hubspot)
        if missing:
            raise ObjectSyncError(missing)
    with transaction.atomic():
        return _target_apply(object_sync=object_sync, before=before, hubspot_object=hubspot_object, actor=actor)


def _target_apply(*, object_sync: ObjectSync, before: str, hubspot_object: str, actor: Actor) -> ObjectSync:
    """The change itself, in one transaction (HubSpot was asked before it, outside the transaction)."""
    object_sync.hubspot_object = hubspot_object
    object_sync.pipeline_id = object_sync.stage_id = ""
    object_sync.schema_checked_at = None
    object_sync.save()
    mappings_reset_to_defaults(object_sync=object_sync)
    audit_record(
        portal=object_sync.portal,
        actor=actor,
        action="object_sync.target_changed",
        target=object_sync.spec.label,
        before={"hubspot_object": before},
        after={"hubspot_object": hubspot_object},
    )
    return object_sync


def object_syncs_fit_portal(*, portal: Portal, hubspot: HubSpotClient) -> list[str]:
    """Point unused object types away from HubSpot objects the portal cannot have; the labels switched.

    Agreements default to commerce subscriptions, which exist only in portals that collect payments through
    HubSpot Payments or Stripe (hubspot-api.md §5.3); elsewhere HubSpot answers 403 FEATURE_NOT_ENABLED and
    the first allowed target that needs nothing (deals) is the useful default. Called after an install.
    Object types that are on, or already have records in HubSpot, are the customer's choice and kept.
    """
    switched = []
    for object_sync in portal.object_syncs.filter(enabled=False).select_related("portal"):
        target = object_sync.spec.target(object_sync.hubspot_object)
        fallback = next((t for t in object_sync.spec.targets if not t.requires_payments), None)
        if not target.requires_payments or fallback is None or synced_count(object_sync):
            continue
        if hubspot.object_available(target.hubspot_object):
            continue
        object_sync_set_target(object_sync=object_sync, hubspot_object=fallback.hubspot_object, actor=Actor.system())
        switched.append(object_sync.spec.label)
    return switched


def synced_count(object_sync: ObjectSync) -> int:
    return SyncedRecord.objects.filter(
        portal_id=object_sync.portal_id, object_type=object_sync.object_type, hubspot_object=object_sync.hubspot_object
    ).count()


@transaction.atomic
def object_sync_set_pipeline(*, object_sync: ObjectSync, pipeline_id: str, stage_id: str, actor: Actor) -> ObjectSync:
    """Choose the pipeline and stage new deals/projects are created in; blank both for the first ones.

    Only targets that live in pipelines take one. The ids come from the portal's own pipelines (the form checks
    the stage belongs to the pipeline); records already in HubSpot keep the stage they are in.
    """
    target = object_sync.spec.target(object_sync.hubspot_object)
    if not target.needs_pipeline:
        raise ObjectSyncError(
            _("HubSpot %(target)s have no pipelines to choose from.") % {"target": target.title.lower()}
        )
    if stage_id and not pipeline_id:
        raise ObjectSyncError(_("Choose the pipeline of that stage."))
    before = {"pipeline_id": object_sync.pipeline_id, "stage_id": object_sync.stage_id}
    after = {"pipeline_id": pipeline_id, "stage_id": stage_id}
    if before == after:
        return object_sync
    object_sync.pipeline_id, object_sync.stage_id = pipeline_id, stage_id
    object_sync.save(update_fields=["pipeline_id", "stage_id", "updated_at"])
    audit_record(
        portal=object_sync.portal,
        actor=actor,
        action="object_sync.pipeline_changed",
        target=object_sync.spec.label,
        before=before,
        after=after,
    )
    return object_sync
