"""Re-apply the staff groups' permissions (accounts/groups.py): Support reads non-staff audit events, Ops gets
the custom `view_staff_auditevent` permission."""

from django.db import migrations

from accounts.groups import apply_group_permissions


def apply_groups(apps, schema_editor):
    apply_group_permissions(
        apps.get_model("auth", "Group"),
        apps.get_model("auth", "Permission"),
        apps.get_model("contenttypes", "ContentType"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(apply_groups, migrations.RunPython.noop)]
