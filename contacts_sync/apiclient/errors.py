"""The error tree every outside-API client raises. No ORM, no Celery.

Each error carries what the run history needs to explain a failure: the HTTP status (None for transport
problems), the parsed body, the provider's request id, the logical operation and whether a retry can help.
"""

from __future__ import annotations

from typing import Any

from contacts_sync.exceptions import PermanentError, TransientError


class ApiError(Exception):
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
        operation: str = "",
        provider: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.request_id = request_id
        self.operation = operation
        self.provider = provider
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        where = f"{self.provider} {self.operation}".strip()
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{where}{status}: {self.message}" if where else f"{self.message}{status}"


class AuthError(ApiError, PermanentError):
    """401: the credentials are missing, invalid or expired (after any refresh)."""


class ScopeError(AuthError):
    """401 "The token is not authorized for this scope.": the token lacks a scope; re-consent or re-issue."""


class ForbiddenError(ApiError, PermanentError):
    """403."""


class NotFoundError(ApiError, PermanentError):
    """404 (and GHL's 400 "... not found" for unknown ids)."""


class ValidationError(ApiError, PermanentError):
    """400/422: the request was rejected; `.messages` lists every message the provider gave."""

    def __init__(self, message: str, *, messages: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.messages = list(messages) if messages else [message]


class ConflictError(ApiError, PermanentError):
    """409."""


class RateLimitedError(ApiError, TransientError):
    """429 after the retries ran out (or the shared budget could not give a token in time)."""

    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class BudgetExhaustedError(RateLimitedError):
    """The shared rate budget had no token within the caller's timeout; no request was sent."""


class ServerError(ApiError, TransientError):
    """5xx."""

    default_retryable = True


class TransportError(ApiError, TransientError):
    """Timeout, connection refused/reset, TLS failure: no HTTP response at all."""

    default_retryable = True


class AddressRefusedError(ApiError, PermanentError):
    """The host resolved to an address that is not public (and not allowlisted): nothing was sent."""


class RedirectRefusedError(ApiError, PermanentError):
    """A 3xx answer: redirects are never followed, since the request carried credentials."""


class MalformedResponseError(ApiError, PermanentError):
    """The response was not JSON or lacked the fields the operation needs (message names the operation)."""

    default_retryable = False


def messages_from_body(body: Any) -> list[str]:
    """Every human message in a typical JSON error body ({message: str | [str]}, {error}, {errors: [...]})."""
    if isinstance(body, dict):
        msg = body.get("message")
        if isinstance(msg, list):
            return [str(m) for m in msg]
        if isinstance(msg, str) and msg:
            return [msg]
        errs = body.get("errors")
        if isinstance(errs, list) and errs:
            return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errs]
        for key in ("error_description", "error", "msg"):
            if isinstance(body.get(key), str) and body[key]:
                return [body[key]]
    if isinstance(body, str) and body.strip():
        return [body.strip()[:300]]
    return []
