"""Installing the app in a HubSpot portal, and losing the connection."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import transaction
from django.utils import timezone

from integration import catalog
from integration.models import FieldMapping, HubSpotInstallation, ObjectSync, Portal
from integration.services.audit import Actor, audit_record
from integration.services.schedules import schedules_apply_for_portal


def installation_mark_disconnected(*, installation: HubSpotInstallation, reason: str) -> None:
    """Mark the portal's HubSpot connection as needing re-authorisation (settings page shows Reconnect)."""
    updated = HubSpotInstallation.objects.filter(
        pk=installation.pk, status=HubSpotInstallation.Status.CONNECTED
    ).update(status=HubSpotInstallation.Status.DISCONNECTED, disconnected_reason=reason[:200])
    if updated:
        audit_record(
            portal=installation.portal,
            actor=Actor.system(),
            action="hubspot.disconnected",
            target=f"portal {installation.portal.hub_id}",
            after={"reason": reason},
        )


@transaction.atomic
def portal_uninstalled(*, portal: Portal) -> None:
    """HubSpot says the app was uninstalled: forget the tokens, stop the schedules, keep the configuration
    (a reinstall reconnects it as it was)."""
    updated = HubSpotInstallation.objects.filter(portal=portal).update(
        status=HubSpotInstallation.Status.UNINSTALLED,
        access_token=None,
        refresh_token=None,
        expires_at=None,
        disconnected_reason="the app was uninstalled in HubSpot",
    )
    schedules_apply_for_portal(portal=Portal.objects.select_related("installation").get(pk=portal.pk))
    if updated:
        audit_record(
            portal=portal,
            actor=Actor.system(),
            action="portal.uninstalled",
            target=f"portal {portal.hub_id}",
            after={"hubspot": HubSpotInstallation.Status.UNINSTALLED},
        )


def object_syncs_ensure(*, portal: Portal) -> list[ObjectSync]:
    """One ObjectSync per catalog object type (off), with the default target and default mappings.

    Existing rows and their mappings are kept as they are: a reinstall never resets configuration.
    """
    syncs = []
    for spec in catalog.REGISTRY.values():
        sync, created = ObjectSync.objects.get_or_create(
            portal=portal,
            object_type=spec.key,
            defaults={
                "hubspot_object": spec.default_target.hubspot_object,
                "enabled": False,
                # Two-way types take HubSpot edits back once switched on, as the incumbent does by default.
                "inbound_enabled": spec.two_way,
            },
        )
        if created:
            mappings_reset_to_defaults(object_sync=sync)
        syncs.append(sync)
    return syncs


def mappings_reset_to_defaults(*, object_sync: ObjectSync) -> None:
    """Replace the mappings of `object_sync` with the catalog defaults for its current target."""
    target = object_sync.spec.target(object_sync.hubspot_object)
    object_sync.mappings.all().delete()
    FieldMapping.objects.bulk_create(
        FieldMapping(
            object_sync=object_sync,
            kleer_field=m.kleer_field or "",
            hubspot_property=m.hubspot_property,
            default_value=m.default_value,
            direction=object_sync.spec.default_direction(target.hubspot_object, m),
        )
        for m in target.default_mappings
    )


@transaction.atomic
def portal_install(
    *,
    hub_id: int,
    access_token: str,
    refresh_token: str,
    expires_in: int,
    scopes: list[str] | tuple[str, ...],
    installed_by: str = "",
    name: str = "",
    hub_domain: str = "",
) -> Portal:
    """Create the portal on first install, or reconnect it (keeping its configuration) on a reinstall."""
    # HubSpot's account info has no account name (account-info PortalInformationResponse, hubspot-api.md §1.3);
    # the account's domain from token introspection is what HubSpot shows to tell accounts apart.
    portal, created = Portal.objects.get_or_create(
        hub_id=hub_id, defaults={"name": name or hub_domain, "hub_domain": hub_domain}
    )
    if not created and (name or hub_domain):
        # A name support gave the portal is kept; a blank one is filled.
        portal.name = name or portal.name or hub_domain
        portal.hub_domain = hub_domain or portal.hub_domain
        portal.save(update_fields=["name", "hub_domain", "updated_at"])
    HubSpotInstallation.objects.update_or_create(
        portal=portal,
        defaults={
            "status": HubSpotInstallation.Status.CONNECTED,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_at": timezone.now() + dt.timedelta(seconds=expires_in),
            "scopes": list(scopes),
            "installed_by": installed_by,
            "disconnected_reason": "",
            "connected_at": timezone.now(),
        },
    )
    object_syncs_ensure(portal=portal)
    schedules_apply_for_portal(portal=Portal.objects.select_related("installation").get(pk=portal.pk))
    audit_record(
        portal=portal,
        actor=Actor.portal_user(hub_id=hub_id, email=installed_by),
        action="portal.installed" if created else "portal.reconnected",
        target=f"portal {hub_id}",
        after={"scopes": list(scopes)},
    )
    return portal


def portal_time_zone_set(*, portal: Portal, time_zone: str) -> bool:
    """Keep the HubSpot account's time zone (an IANA name from account info) for the portal's pages.

    A name Python does not know is ignored (the pages then use TIME_ZONE). Returns whether it changed.
    """
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    if not time_zone or portal.time_zone == time_zone:
        return False
    portal.time_zone = time_zone
    portal.save(update_fields=["time_zone", "updated_at"])
    return True
