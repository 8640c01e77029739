"""The staff groups and the permissions each one holds.

Support runs customer portals (configuration, runs, errors) but cannot touch schedules, and reads only the
audit events of customers and the system, not those of staff; Ops owns the schedules and sees everything
else read-only. Used by the data migrations and re-applied by `manage.py setup_groups` when new models are
added.
"""

from __future__ import annotations

SUPPORT = "Support"
OPS = "Ops"

# Not a model Meta permission: created here (and by the data migrations) like the others. Without it, the
# audit log admin hides events whose actor is a staff user.
STAFF_AUDIT_PERMISSION = "integration.view_staff_auditevent"
PERMISSION_NAMES = {"view_staff_auditevent": "Can view audit events of staff users"}

_INTEGRATION_MANAGED = [
    "portal",
    "hubspotinstallation",
    "kleercredentials",
    "objectsync",
    "fieldmapping",
    "syncedrecord",
    "syncrun",
    "recorderror",
]
_ALL_INTEGRATION = [*_INTEGRATION_MANAGED, "inboundevent", "auditevent", "workflowexecution"]
_BEAT_MODELS = [
    "periodictask",
    "intervalschedule",
    "crontabschedule",
    "solarschedule",
    "clockedschedule",
    "periodictasks",
]

GROUP_PERMISSIONS: dict[str, list[tuple[str, str, str]]] = {
    SUPPORT: [
        *[("integration", m, a) for m in _INTEGRATION_MANAGED for a in ("view", "change")],
        ("integration", "fieldmapping", "add"),
        ("integration", "fieldmapping", "delete"),
        ("integration", "kleercredentials", "add"),
        ("integration", "inboundevent", "view"),
        ("integration", "workflowexecution", "view"),
        ("integration", "auditevent", "view"),
        ("django_celery_beat", "periodictask", "view"),
    ],
    OPS: [
        *[("integration", m, "view") for m in _ALL_INTEGRATION],
        ("integration", "auditevent", "view_staff"),
        *[("django_celery_beat", m, a) for m in _BEAT_MODELS for a in ("view", "add", "change")],
        *[("django_celery_beat", m, "delete") for m in _BEAT_MODELS if m != "periodictasks"],
    ],
}


def apply_group_permissions(group_model, permission_model, content_type_model) -> None:  # type: ignore[no-untyped-def]
    """Create the groups and set exactly the permissions listed above (idempotent)."""
    for group_name, perms in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        wanted = []
        for app_label, model, action in perms:
            ct, _ = content_type_model.objects.get_or_create(app_label=app_label, model=model)
            codename = f"{action}_{model}"
            perm, _ = permission_model.objects.get_or_create(
                content_type=ct,
                codename=codename,
                defaults={"name": PERMISSION_NAMES.get(codename, f"Can {action} {model}")},
            )
            wanted.append(perm)
        group.permissions.set(wanted)
