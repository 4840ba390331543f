"""GHL's error tree: the apiclient classes plus the duplicate-contact case (and OAuth failures in oauth.py)."""

from __future__ import annotations

from typing import Any

from contacts_sync.apiclient.errors import (
    ApiError,
    AuthError,
    BudgetExhaustedError,
    ConflictError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ScopeError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "ApiError",
    "AuthError",
    "BudgetExhaustedError",
    "ConflictError",
    "DuplicateContactError",
    "ForbiddenError",
    "MalformedResponseError",
    "NotFoundError",
    "RateLimitedError",
    "ScopeError",
    "ServerError",
    "TransportError",
    "ValidationError",
]


class DuplicateContactError(ValidationError):
    """400 "This location does not allow duplicated contacts." with meta.contactId: `.existing_id` is that id."""

    def __init__(self, message: str, *, existing_id: str, matching_field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing_id = existing_id
        self.matching_field = matching_field
