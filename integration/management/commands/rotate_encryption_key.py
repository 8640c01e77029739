"""Re-encrypt every stored secret under the current CRYPTOGRAPHY_KEY.

Usage (the old key is read from the environment, never from the command line, where `ps` would show it):

    CRYPTOGRAPHY_OLD_KEYS=<old key> CRYPTOGRAPHY_KEY=<new key> python manage.py rotate_encryption_key

Idempotent and resumable: values already under the current key are left alone; each row is rewritten in
its own transaction, so an interrupted run can simply be started again.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integration import crypto
from integration.fields import EncryptedTextField


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """Every model with EncryptedTextFields, and those fields' attribute names."""
    found = []
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every secret from the keys in CRYPTOGRAPHY_OLD_KEYS to CRYPTOGRAPHY_KEY."

    def handle(self, *args, **options) -> None:
        if settings.SECRETS_ENCRYPTION_KEY == settings.SECRETS_DEVELOPMENT_KEY and settings.SECRETS_ENCRYPTION_OLD_KEYS:
            # manage.py defaults to DEBUG on: an operator who forgot CRYPTOGRAPHY_KEY would otherwise re-encrypt
            # every customer secret under the public development key.
            raise CommandError("CRYPTOGRAPHY_KEY is not set (the development key is in use): refusing to rotate to it.")
        current = crypto.current_key()
        rotated = unchanged = 0
        for model, names in encrypted_fields():
            # .values_list() on the raw column would decrypt; read the ciphertext through a raw cursor.
            for pk, blobs in self._raw_rows(model, names):
                updates = {}
                for name, blob in zip(names, blobs, strict=True):
                    if blob is None or crypto.is_encrypted_with(blob, key=current):
                        continue
                    try:
                        updates[name] = crypto.decrypt_text(blob)
                    except crypto.DecryptionError as exc:
                        raise CommandError(
                            f"{model._meta.label} pk={pk} field {name}: none of CRYPTOGRAPHY_KEY or "
                            "CRYPTOGRAPHY_OLD_KEYS decrypts it; nothing was changed for this row."
                        ) from exc
                if updates:
                    with transaction.atomic():
                        model._default_manager.filter(pk=pk).update(
                            **{k: crypto.encrypt_text(v) for k, v in updates.items()}
                        )
                    rotated += 1
                else:
                    unchanged += 1
        self.stdout.write(f"rotated={rotated} already_current={unchanged}")

    def _raw_rows(self, model: type, names: list[str]):  # type: ignore[no-untyped-def]
        from django.db import connection

        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
        pk = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {columns} FROM {table} ORDER BY {pk}")
            for row in cursor.fetchall():
                yield row[0], [bytes(v) if v is not None else None for v in row[1:]]
