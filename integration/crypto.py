"""Encryption of secrets at rest, keyed only by CRYPTOGRAPHY_KEY.

We use django-cryptography's Fernet construction (AES-CBC + HMAC-SHA256), but derive both the cipher key
and the HMAC key from CRYPTOGRAPHY_KEY ourselves: django-cryptography's default signer is keyed by
SECRET_KEY, which would make every stored token unreadable the day SECRET_KEY is rotated. Old keys listed
in CRYPTOGRAPHY_OLD_KEYS still decrypt, so a key can be rotated without downtime (README "Key rotation").
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken


class DecryptionError(Exception):
    """No configured key can decrypt the value (wrong CRYPTOGRAPHY_KEY or tampered data)."""


def _derive(raw_key: str, purpose: bytes) -> bytes:
    salt = settings.SECRETS_ENCRYPTION_SALT.encode() + b":" + purpose
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=100_000)
    return kdf.derive(raw_key.encode())


@lru_cache(maxsize=8)
def fernet_for(raw_key: str) -> FernetBytes:
    """A Fernet instance whose cipher and signing keys both come from `raw_key`."""
    signer = FernetSigner(key=_derive(raw_key, b"hmac"))
    return FernetBytes(key=_derive(raw_key, b"aes"), signer=signer)


def current_key() -> str:
    return settings.SECRETS_ENCRYPTION_KEY


def decryption_keys() -> list[str]:
    return [current_key(), *settings.SECRETS_ENCRYPTION_OLD_KEYS]


def encrypt_text(value: str, *, key: str | None = None) -> bytes:
    """Encrypt `value` under `key` (default: the current CRYPTOGRAPHY_KEY)."""
    return fernet_for(key or current_key()).encrypt(value.encode("utf-8"))


def decrypt_text(blob: bytes, *, keys: list[str] | None = None) -> str:
    """Decrypt with the first key that verifies; raise DecryptionError if none does."""
    for key in keys or decryption_keys():
        try:
            return fernet_for(key).decrypt(bytes(blob)).decode("utf-8")
        except (BadSignature, InvalidToken):
            continue
    raise DecryptionError("no configured CRYPTOGRAPHY_KEY can decrypt this value")


def is_encrypted_with(blob: bytes, *, key: str) -> bool:
    try:
        decrypt_text(blob, keys=[key])
    except DecryptionError:
        return False
    return True
