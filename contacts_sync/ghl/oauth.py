"""GHL OAuth 2.0: authorize URL, code exchange, refresh (form-encoded, user_type=Location), token providers.

GHL refresh tokens rotate: every refresh returns a new refresh token and the old one stops working. So the
refresh is single-flight per connection across processes (`RefreshingTokenProvider`): take the store's lock,
re-read, refresh only if still needed, persist the new pair BEFORE using it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from contacts_sync.apiclient.errors import AuthError, MalformedResponseError, messages_from_body


class TokenStore(Protocol):
    """Same shape as connectors.base.TokenStore (ghl may not import connectors: sibling layers)."""

    def lock(self) -> Any: ...

    def load(self) -> dict[str, Any]: ...

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None) -> None: ...


DEFAULT_AUTHORIZE_URL = "https://marketplace.gohighlevel.com/oauth/chooselocation"
DEFAULT_TOKEN_URL = "https://services.leadconnectorhq.com/oauth/token"
# Refresh this long before the access token expires (GHL tokens live ~24 h; SDKs use 30 s, we take 5 min).
DEFAULT_SKEW_SECONDS = 300
TOKEN_TIMEOUT = (5.0, 30.0)
# Token-endpoint answers that no retry can fix: the user must reconnect.
PERMANENT_MARKERS = (
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "location is not active",
    "already been used",
    "invalid refresh token",
    "refresh token is invalid",
)


class OAuthError(AuthError):
    """The token endpoint refused. `permanent=True` means re-authorisation is needed (mark needs_reauth)."""

    def __init__(self, message: str, *, permanent: bool, **kw: Any) -> None:
        kw.setdefault("provider", "ghl")
        kw.setdefault("retryable", not permanent)
        super().__init__(message, **kw)
        self.permanent = permanent


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: list[str] = field(default_factory=list)
    location_id: str | None = None
    company_id: str | None = None
    user_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never print secrets
        return f"TokenPair(location_id={self.location_id!r}, expires_at={self.expires_at.isoformat()})"

    @classmethod
    def from_response(cls, body: Any, *, now: datetime | None = None) -> TokenPair:
        op = "oauth_token"
        if not isinstance(body, dict):
            raise MalformedResponseError(f"{op}: response is not a JSON object", operation=op, provider="ghl")
        missing = [k for k in ("access_token", "refresh_token", "expires_in") if not body.get(k)]
        if missing:
            raise MalformedResponseError(
                f"{op}: response lacks {', '.join(missing)}", operation=op, provider="ghl"
            )
        now = now or datetime.now(UTC)
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=now + timedelta(seconds=float(body["expires_in"])),
            scopes=str(body.get("scope") or "").split(),
            location_id=body.get("locationId"),
            company_id=body.get("companyId"),
            user_type=body.get("userType"),
            raw={k: v for k, v in body.items() if k not in ("access_token", "refresh_token")},
        )

    def to_secrets(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
        }


def authorize_url(
    *, client_id: str, redirect_uri: str, scopes: list[str], state: str, base: str = DEFAULT_AUTHORIZE_URL
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "state": state,
        }
    )
    return f"{base}{'&' if '?' in base else '?'}{query}"


def _post_token(token_url: str, form: dict[str, str], session: requests.Session | None) -> TokenPair:
    http = session or requests
    try:
        # Form-encoded, no Version header (POST /oauth/token). No automatic retry: a refresh whose answer was
        # lost may already have rotated the token, and a blind retry would then burn the connection.
        r = http.post(token_url, data=form, headers={"Accept": "application/json"}, timeout=TOKEN_TIMEOUT)
    except requests.RequestException as e:
        raise OAuthError(f"token endpoint unreachable: {e}", permanent=False, operation="oauth_token") from e
    try:
        body: Any = r.json()
    except ValueError:
        body = r.text[:500]
    if r.status_code == 200:
        return TokenPair.from_response(body)
    message = "; ".join(messages_from_body(body)) or f"HTTP {r.status_code}"
    if isinstance(body, dict) and body.get("error_description"):
        message = str(body["error_description"])
    text = f"{message} {body.get('error', '') if isinstance(body, dict) else ''}".lower()
    permanent = r.status_code in (400, 401, 403, 422) and (
        any(m in text for m in PERMANENT_MARKERS) or r.status_code in (401, 403)
    )
    raise OAuthError(message, permanent=permanent, status=r.status_code, body=body, operation="oauth_token")


def exchange_code(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    user_type: str = "Location",
    session: requests.Session | None = None,
) -> TokenPair:
    return _post_token(
        token_url,
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "user_type": user_type,
        },
        session,
    )


def refresh_token(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    user_type: str = "Location",
    session: requests.Session | None = None,
) -> TokenPair:
    return _post_token(
        token_url,
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "user_type": user_type,
        },
        session,
    )


def _expiry(value: Any) -> float | None:
    """epoch seconds from a stored expires_at (datetime, ISO string or number); None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


class StaticTokenProvider:
    """A Private Integration Token: static, no refresh (a 401 with it is final)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh(self, stale_token: str) -> str:
        return self._token  # nothing to refresh: the caller sees the same token and gives up


class RefreshingTokenProvider:
    """OAuth access tokens from a TokenStore, refreshed single-flight across processes.

    `store.load()` returns {"access_token", "refresh_token", "expires_at"?} (expires_at: datetime, ISO string or
    epoch seconds); `refresher(refresh_token) -> TokenPair` calls the token endpoint.
    """

    def __init__(
        self,
        store: TokenStore,
        refresher: Callable[[str], TokenPair],
        skew_seconds: float = DEFAULT_SKEW_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.refresher = refresher
        self.skew = skew_seconds
        self.clock = clock
        self._local = (
            threading.Lock()
        )  # threads of this process queue here instead of all taking the store lock
        self._token: str | None = None
        self._expires: float | None = None
        self.refreshes = 0  # refreshes this provider performed (for tests and logs)

    def _fresh(self, expires: float | None) -> bool:
        return expires is None or expires - self.skew > self.clock()

    def access_token(self) -> str:
        if self._token and self._fresh(self._expires):
            return self._token
        with self._local:
            secrets = self.store.load()
            token, expires = secrets.get("access_token"), _expiry(secrets.get("expires_at"))
            if token and self._fresh(expires):
                self._token, self._expires = token, expires
                return token
            return self._refresh_locked(
                lambda s: not s.get("access_token") or not self._fresh(_expiry(s.get("expires_at")))
            )

    def refresh(self, stale_token: str) -> str:
        """Forced refresh after a 401 with `stale_token` (unless someone already replaced it)."""
        with self._local:
            return self._refresh_locked(
                lambda s: (
                    s.get("access_token") == stale_token or not self._fresh(_expiry(s.get("expires_at")))
                )
            )

    def _refresh_locked(self, needed: Callable[[dict[str, Any]], bool]) -> str:
        with self.store.lock():
            secrets = self.store.load()  # re-read under the lock: another process may have refreshed already
            if needed(secrets):
                rt = secrets.get("refresh_token")
                if not rt:
                    raise OAuthError(
                        "no refresh token stored; reconnect the account",
                        permanent=True,
                        operation="oauth_token",
                    )
                pair = self.refresher(rt)
                self.store.save(pair.to_secrets(), expires_at=pair.expires_at)  # persist BEFORE use
                self.refreshes += 1
                self._token, self._expires = pair.access_token, pair.expires_at.timestamp()
            else:
                self._token, self._expires = secrets["access_token"], _expiry(secrets.get("expires_at"))
        assert self._token is not None
        return self._token
