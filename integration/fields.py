"""Model fields for secrets."""

from __future__ import annotations

from typing import Any

from django.db import models

from integration import crypto


class EncryptedTextField(models.BinaryField):
    """Text stored encrypted (see integration.crypto); the column never holds the plaintext.

    Not searchable and not editable in forms directly: services set it, admin shows only a mask.
    """

    description = "Encrypted text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, (bytes, memoryview)):
            # Already ciphertext (e.g. copied row); never encrypt twice.
            return super().get_db_prep_value(bytes(value), connection, prepared)
        return super().get_db_prep_value(crypto.encrypt_text(str(value)), connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt_text(bytes(value))

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata must never write a secret in clear text.
        return ""
