"""Base error classes every layer may raise. Nothing here imports anything of the project."""

from __future__ import annotations


class ContactsSyncError(Exception):
    """Root of the project's own errors."""


class ConfigurationError(ContactsSyncError):
    """A connection, sync or mapping is set up in a way that cannot work (the user must change it)."""


class PermanentError(ContactsSyncError):
    """Retrying will not help: the record or the request is wrong."""


class TransientError(ContactsSyncError):
    """Retrying later may help: a timeout, a 5xx, a rate limit."""
