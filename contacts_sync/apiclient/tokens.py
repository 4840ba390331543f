"""Access tokens for API clients: static ones, and rotating ones refreshed single-flight across processes.

GHL's and Hubstaff's refresh tokens rotate: every refresh returns a new refresh token and the old one stops
working. So a refresh takes the store's lock (a Redis lease per connection, shared by every process), re-reads,
refreshes only if still needed and persists the new pair BEFORE using it. A refusal that no retry can fix
(`permanent`) is reported to the store once (the connection needs re-authorisation) and raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .errors import AuthError


class TokenStore(Protocol):
    """Persistence of rotating credentials (the connections service implements it on the ORM side).

    `lock()` is a context manager: a cross-process single-flight lock for one connection; `load()` re-reads the
    current secrets plus "expires_at"; `save()` persists new secrets atomically before they are used.
    """

    def lock(self) -> Any: ...

    def load(self) -> dict[str, Any]: ...

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None, scopes: list[str] | None = None) -> None: ...


class RefusalListener(Protocol):
    def refused(self, reason: str) -> None: ...


class TokenRefused(AuthError):
    """The token endpoint refused. `permanent=True` means a new consent / key is needed (re-auth)."""

    def __init__(self, message: str, *, permanent: bool, **kw: Any) -> None:
        kw.setdefault("retryable", not permanent)
        super().__init__(message, **kw)
        self.permanent = permanent


@dataclass
class TokenGrant:
    """What a token endpoint gave: the access token, the rotated refresh token (None = keep the old one)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scopes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # never print secrets
        return f"TokenGrant(expires_at={self.expires_at.isoformat()})"


class MemoryTokenStore:
    """A TokenStore for one process: trials of new credentials, tests, previews without a connection row.

    Rotated refresh tokens kept here are lost when the process exits; connections use the persistent store.
    """

    def __init__(self, secrets: dict[str, Any], *, expires_at: Any = None) -> None:
        self.secrets = {k: v for k, v in secrets.items() if k != "expires_at"}
        self.expires_at = expires_at if expires_at is not None else secrets.get("expires_at")
        self.scopes: list[str] | None = None
        self._lock = threading.Lock()

    def lock(self) -> Any:
        return self._lock

    def load(self) -> dict[str, Any]:
        return {**self.secrets, "expires_at": self.expires_at}

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None, scopes: list[str] | None = None) -> None:
        self.secrets = {**self.secrets, **{k: v for k, v in secrets.items() if k != "expires_at"}}
        self.expires_at = expires_at
        if scopes:
            self.scopes = list(scopes)


def expiry_seconds(value: Any) -> float | None:
    """An expiry as epoch seconds: from an aware/naive datetime (UTC), an ISO string or a number."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class StaticTokenProvider:
    """A token that never changes (GHL private integration token, API keys): a 401 with it is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh(self, stale_token: str | None) -> str:
        return self._token  # nothing to refresh: the caller sees the same token and gives up


class RotatingTokenProvider:
    """Access tokens from a TokenStore, refreshed single-flight (`refresher(refresh_token) -> TokenGrant`)."""

    def __init__(
        self,
        store: TokenStore,
        refresher: Callable[[str], TokenGrant],
        *,
        skew_seconds: float,
        provider: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.refresher = refresher
        self.skew = skew_seconds
        self.provider = provider
        self.clock = clock
        self._local = threading.Lock()  # threads of this process queue here instead of all taking the store lock
        self._token: str | None = None
        self._expires: float | None = None
        self.refreshes = 0  # refreshes this provider performed (for tests and logs)

    def _fresh(self, expires: float | None) -> bool:
        return expires is None or expires - self.skew > self.clock()

    def _usable(self, secrets: dict[str, Any]) -> bool:
        return bool(secrets.get("access_token")) and self._fresh(expiry_seconds(secrets.get("expires_at")))

    def access_token(self) -> str:
        if self._token and self._fresh(self._expires):
            return self._token
        with self._local:
            secrets = self.store.load()
            if self._usable(secrets):
                self._token, self._expires = secrets["access_token"], expiry_seconds(secrets.get("expires_at"))
                return str(self._token)
            return self._refresh_locked(lambda s: not self._usable(s))

    def refresh(self, stale_token: str | None) -> str:
        """Forced refresh after a 401 with `stale_token` (unless someone already replaced it)."""
        with self._local:
            return self._refresh_locked(lambda s: s.get("access_token") == stale_token or not self._usable(s))

    def _refresh_locked(self, needed: Callable[[dict[str, Any]], bool]) -> str:
        with self.store.lock():
            secrets = self.store.load()  # re-read under the lock: another process may have refreshed already
            if not needed(secrets):
                self._token, self._expires = secrets["access_token"], expiry_seconds(secrets.get("expires_at"))
                return str(self._token)
            try:
                grant = self._grant(secrets)
            except TokenRefused as exc:
                if exc.permanent:
                    self._report(f"token refresh refused: {exc}")
                raise
            new = {"access_token": grant.access_token}
            if grant.refresh_token:
                new["refresh_token"] = grant.refresh_token
            self.store.save(new, expires_at=grant.expires_at, scopes=grant.scopes or None)  # persist BEFORE use
            self.refreshes += 1
            self._token, self._expires = grant.access_token, grant.expires_at.timestamp()
            return grant.access_token

    def _grant(self, secrets: dict[str, Any]) -> TokenGrant:
        """A new grant from the stored secrets (the refresh token); a subclass may obtain it another way (GHL
        location tokens are minted from the agency's token, with no refresh token of their own)."""
        refresh_token = secrets.get("refresh_token")
        if not refresh_token:  # reported (needs re-auth) by the caller, like any permanent refusal
            raise TokenRefused(
                "no refresh token is stored; connect the account again",
                permanent=True,
                operation="refresh token",
                provider=self.provider,
            )
        return self.refresher(str(refresh_token))

    def _report(self, reason: str) -> None:
        refused = getattr(self.store, "refused", None)
        if refused is not None:
            refused(reason)
