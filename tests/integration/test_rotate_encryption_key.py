import pytest
from django.core.management import CommandError, call_command

from integration import crypto, models
from tests.factories import KleerCredentialsFactory, PortalFactory
from tests.integration.test_models import raw_column

pytestmark = pytest.mark.django_db

OLD, NEW = "old-key-" + "o" * 32, "new-key-" + "n" * 32


def test_rotation_re_encrypts_every_secret_and_is_idempotent(settings, capsys):
    settings.SECRETS_ENCRYPTION_KEY = OLD
    creds = KleerCredentialsFactory(api_key="kleer-key-1")
    inst = models.HubSpotInstallation.objects.create(
        portal=PortalFactory(), access_token="access-1", refresh_token=None
    )
    before = raw_column("integration_kleercredentials", "api_key", creds.pk)

    settings.SECRETS_ENCRYPTION_KEY, settings.SECRETS_ENCRYPTION_OLD_KEYS = NEW, [OLD]
    call_command("rotate_encryption_key")
    assert capsys.readouterr().out.strip() == "rotated=2 already_current=0"

    after = raw_column("integration_kleercredentials", "api_key", creds.pk)
    assert after != before
    assert crypto.is_encrypted_with(after, key=NEW) is True
    assert crypto.is_encrypted_with(after, key=OLD) is False

    settings.SECRETS_ENCRYPTION_OLD_KEYS = []  # the old key is gone: values must still read
    assert models.KleerCredentials.objects.get(pk=creds.pk).api_key == "kleer-key-1"
    fresh = models.HubSpotInstallation.objects.get(pk=inst.pk)
    assert (fresh.access_token, fresh.refresh_token) == ("access-1", None)

    call_command("rotate_encryption_key")
    assert capsys.readouterr().out.strip() == "rotated=0 already_current=2"


def test_rotation_without_the_old_key_fails_and_changes_nothing(settings):
    settings.SECRETS_ENCRYPTION_KEY = OLD
    creds = KleerCredentialsFactory(api_key="kleer-key-2")
    before = raw_column("integration_kleercredentials", "api_key", creds.pk)
    settings.SECRETS_ENCRYPTION_KEY, settings.SECRETS_ENCRYPTION_OLD_KEYS = NEW, []
    with pytest.raises(CommandError, match="none of CRYPTOGRAPHY_KEY or CRYPTOGRAPHY_OLD_KEYS"):
        call_command("rotate_encryption_key")
    assert raw_column("integration_kleercredentials", "api_key", creds.pk) == before


def test_rotation_onto_the_development_key_is_refused(settings):
    """manage.py defaults to DEBUG on, so a forgotten CRYPTOGRAPHY_KEY means the public development key."""
    settings.SECRETS_ENCRYPTION_KEY = OLD
    creds = KleerCredentialsFactory(api_key="kleer-key-4")
    before = raw_column("integration_kleercredentials", "api_key", creds.pk)
    settings.SECRETS_ENCRYPTION_KEY, settings.SECRETS_ENCRYPTION_OLD_KEYS = settings.SECRETS_DEVELOPMENT_KEY, [OLD]
    with pytest.raises(CommandError, match="refusing to rotate to it"):
        call_command("rotate_encryption_key")
    assert raw_column("integration_kleercredentials", "api_key", creds.pk) == before


def test_secret_key_rotation_does_not_break_decryption(settings):
    creds = KleerCredentialsFactory(api_key="kleer-key-3")
    settings.SECRET_KEY = "a-completely-different-secret-key-" + "z" * 20
    assert models.KleerCredentials.objects.get(pk=creds.pk).api_key == "kleer-key-3"
