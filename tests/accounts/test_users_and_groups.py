import pytest
from django.contrib.auth.models import Group

from accounts.groups import OPS, SUPPORT

pytestmark = pytest.mark.django_db


def test_users_log_in_with_email(django_user_model, client):
    django_user_model.objects.create_user(email="Ann@Example.COM", password="s3cret-pass-word")
    user = django_user_model.objects.get()
    assert user.email == "ann@example.com"
    assert client.login(email="ann@example.com", password="s3cret-pass-word") is True
    assert client.login(email="ann@example.com", password="wrong") is False


def test_create_user_requires_email(django_user_model):
    with pytest.raises(ValueError, match="email address is required"):
        django_user_model.objects.create_user(email="", password="x")


def test_superuser_flags(django_user_model):
    admin = django_user_model.objects.create_superuser(email="root@example.com", password="pw")
    assert (admin.is_staff, admin.is_superuser) == (True, True)


def perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_support_group_manages_portals_but_not_schedules():
    support = perms(SUPPORT)
    assert {
        "integration.change_portal",
        "integration.change_objectsync",
        "integration.add_fieldmapping",
        "integration.delete_fieldmapping",
        "integration.change_recorderror",
    } <= support
    assert "django_celery_beat.change_periodictask" not in support
    assert "django_celery_beat.view_periodictask" in support


def test_ops_group_edits_schedules_and_reads_the_rest():
    ops = perms(OPS)
    assert {
        "django_celery_beat.change_periodictask",
        "django_celery_beat.add_intervalschedule",
        "integration.view_portal",
        "integration.view_auditevent",
    } <= ops
    assert not {p for p in ops if p.startswith("integration.") and not p.split(".")[1].startswith("view_")}
