"""A GHLClient for one connection: its token provider (static private token, or OAuth refreshed single-flight)
and the location's shared Redis rate budget, all from a ConnectionInfo.

`info.app_settings` carries the deployment's GHL settings (filled by the services layer from Django settings):
client_id, client_secret, token_url (OAuth: pinned to settings, or an allowlisted emulator's), api_version,
base_url (the public API). `info.config` knobs: user_type (stored at connect time), rate_limit_per_10s (0 turns the
budget off: emulator runs with limits off, benchmarks; N replaces 100 / 10 s for an account with a raised
limit), http_timeout_s (the read timeout per attempt).
"""

from __future__ import annotations

from typing import Any

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.tokens import (
    MemoryTokenStore,
    RotatingTokenProvider,
    StaticTokenProvider,
    TokenGrant,
)
from contacts_sync.connectors.base import ConnectionInfo
from contacts_sync.connectors.spec import OAUTH2
from contacts_sync.exceptions import ConfigurationError

from . import oauth
from .client import DEFAULT_VERSION, GHL_LIMITS, GHLClient

# Refresh this long before the access token expires (GHL tokens live ~24 h; SDKs use 30 s, we take 5 min).
REFRESH_SKEW_SECONDS = 300
# Seconds to connect to GHL before giving up on an attempt (the read timeout is the client's, or the config's).
CONNECT_TIMEOUT_S = 5.0


def token_url(info: ConnectionInfo) -> str:
    """The token endpoint, as the deployment's settings say (services/base_urls.ghl_token_url): never derived
    from the connection's base URL or config, which a user typed, since the client secret goes there."""
    return str(info.app_settings.get("token_url") or oauth.DEFAULT_TOKEN_URL)


def token_provider(info: ConnectionInfo, *, skew_seconds: float = REFRESH_SKEW_SECONDS) -> Any:
    if info.auth_kind == OAUTH2:
        settings = info.app_settings
        user_type = str(info.config.get("user_type") or "Location")
        url = token_url(info)

        def refresh(refresh_token: str) -> TokenGrant:
            pair = oauth.refresh_token(
                token_url=url,
                client_id=str(settings.get("client_id") or ""),
                client_secret=str(settings.get("client_secret") or ""),
                refresh_token=refresh_token,
                user_type=user_type,
            )
            return pair.grant()

        store = info.token_store or MemoryTokenStore(info.secrets)
        return RotatingTokenProvider(store, refresh, skew_seconds=skew_seconds, provider="ghl")
    token = info.secrets.get("access_token")
    if not token:
        raise ConfigurationError(f"connection {info.connection_id} has no token (disconnected?)")
    return StaticTokenProvider(str(token))


def budget(info: ConnectionInfo) -> RateBudget | NullBudget:
    """One budget per location, whatever the host: every process on every machine spends the same keys."""
    if not info.redis_url:
        return NullBudget()
    limits = list(GHL_LIMITS)
    override = info.config.get("rate_limit_per_10s")
    if override is not None:
        if int(override) <= 0:
            return NullBudget()
        limits[0] = (int(override), limits[0][1])
    return RateBudget.for_account(info.redis_url, "ghl", info.account_id, limits)


def build_client(info: ConnectionInfo) -> GHLClient:
    kw: dict[str, Any] = {}
    if info.config.get("http_timeout_s"):
        kw["timeout"] = (CONNECT_TIMEOUT_S, float(info.config["http_timeout_s"]))
    return GHLClient(
        location_id=info.account_id,
        token_provider=token_provider(info),
        base_url=info.base_url.rstrip("/") or str(info.app_settings.get("base_url") or ""),
        version=str(info.app_settings.get("api_version") or DEFAULT_VERSION),
        budget=budget(info),
        on_call=info.on_call,
        **kw,
    )
