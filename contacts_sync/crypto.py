"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (the first key encrypts, all decrypt)."""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@functools.cache
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])  # settings checked each key at start


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
