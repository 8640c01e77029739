"""Re-apply the staff groups' permissions (after adding models); idempotent."""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand

from accounts.groups import apply_group_permissions


class Command(BaseCommand):
    help = "Create the Support and Ops groups and set exactly their documented permissions."

    def handle(self, *args, **options) -> None:
        apply_group_permissions(Group, Permission, ContentType)
        self.stdout.write("groups: " + ", ".join(Group.objects.order_by("name").values_list("name", flat=True)))
