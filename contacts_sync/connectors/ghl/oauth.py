"""GHL OAuth 2.0: authorize URL, code exchange, refresh (form-encoded, user_type=Location).

GHL refresh tokens rotate: every refresh returns a new refresh token and the old one stops working; the
single-flight refresh around `refresh_token` is apiclient.tokens.RotatingTokenProvider (see `token_provider`
in this package's __init__).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from contacts_sync.apiclient.errors import MalformedResponseError, messages_from_body
from contacts_sync.apiclient.outbound import UnsafeURLError, safe_session
from contacts_sync.apiclient.tokens import TokenGrant, TokenRefused

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


class OAuthError(TokenRefused):
    """The token endpoint refused. `permanent=True` means re-authorisation is needed (mark needs_reauth)."""

    def __init__(self, message: str, *, permanent: bool, **kw: Any) -> None:
        kw.setdefault("provider", "ghl")
        super().__init__(message, permanent=permanent, **kw)


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
            raise MalformedResponseError(f"{op}: response lacks {', '.join(missing)}", operation=op, provider="ghl")
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

    def grant(self) -> TokenGrant:
        return TokenGrant(self.access_token, self.refresh_token, self.expires_at, list(self.scopes))

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
    http = session or safe_session()
    try:
        # Form-encoded, no Version header (POST /oauth/token). No automatic retry: a refresh whose answer was
        # lost may already have rotated the token, and a blind retry would then burn the connection.
        # No redirect either: the form carries the client secret and the refresh token.
        r = http.post(
            token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=TOKEN_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as e:
        raise OAuthError(f"token endpoint unreachable: {e}", permanent=False, operation="oauth_token") from e
    except UnsafeURLError as e:
        raise OAuthError(f"token endpoint refused: {e}", permanent=False, operation="oauth_token") from None
    if 300 <= r.status_code < 400:
        target = urlsplit(r.headers.get("Location", ""))
        where = f" to {target.scheme}://{target.netloc}" if target.netloc else ""
        raise OAuthError(
            f"the token endpoint answered HTTP {r.status_code} (a redirect{where}); not followed",
            permanent=False,
            status=r.status_code,
            operation="oauth_token",
        )
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
