"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (the first key encrypts, all decrypt)."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _as_fernet_key(raw: str) -> bytes:
    """Accept a proper Fernet key, or derive one from any other string (e.g. a passphrase)."""
    data = raw.encode()
    try:
        if len(base64.urlsafe_b64decode(data)) == 32:
            return data
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest())


@functools.cache
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in keys])


def fernet() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt a secret: none of FIELD_ENCRYPTION_KEYS matches") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the first key."""
    return fernet().rotate(token.encode()).decode()
