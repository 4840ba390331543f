"""A GHLClient for one connection: its token provider (static private token, OAuth refreshed single-flight, or a
location token minted single-flight from its agency's token) and the location's shared Redis rate budget, all
from a ConnectionInfo. An agency connection gets a GHLAgencyClient on the agency's own budget.

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
from contacts_sync.connectors.spec import LOCATION_TOKEN, OAUTH2
from contacts_sync.exceptions import ConfigurationError

from . import oauth
from .agency import GHLAgencyClient, mint_grant
from .client import DEFAULT_VERSION, GHL_LIMITS, GHLClient

# Refresh this long before the access token expires (GHL tokens live ~24 h; SDKs use 30 s, we take 5 min).
REFRESH_SKEW_SECONDS = 300
# Seconds to connect to GHL before giving up on an attempt (the read timeout is the client's, or the config's).
CONNECT_TIMEOUT_S = 5.0


def token_url(info: ConnectionInfo) -> str:
    """The token endpoint, as the deployment's settings say (services/base_urls.ghl_token_url): never derived
    from the connection's base URL or config, which a user typed, since the client secret goes there."""
    return str(info.app_settings.get("token_url") or oauth.DEFAULT_TOKEN_URL)


class LocationTokenProvider(RotatingTokenProvider):
    """A sub-account's token minted from its agency's (POST /oauth/locationToken), single-flight like a refresh.

    The location has no refresh token: when its token expires (or is refused with a 401) the provider takes the
    location connection's lock, re-reads, and only if nobody did it meanwhile mints a new one with the agency's
    token (itself refreshed single-flight on the agency's lock when needed) and saves it before use.
    """

    def __init__(self, store: Any, mint: Any, *, skew_seconds: float) -> None:
        super().__init__(store, lambda _unused: mint(), skew_seconds=skew_seconds, provider="ghl")
        self.mint = mint

    def _grant(self, secrets: dict[str, Any]) -> TokenGrant:
        grant: TokenGrant = self.mint()
        return grant


def location_token_provider(info: ConnectionInfo, *, skew_seconds: float = REFRESH_SKEW_SECONDS) -> Any:
    agency = info.agency
    if agency is None or agency.auth_kind != OAUTH2:
        raise ConfigurationError(
            f"connection {info.connection_id} gets its token from an agency, but no agency with a HighLevel "
            "OAuth (Company) install is linked to it"
        )
    client = build_agency_client(agency, on_call=info.on_call)
    store = info.token_store or MemoryTokenStore(info.secrets)
    return LocationTokenProvider(store, lambda: mint_grant(client, info.account_id), skew_seconds=skew_seconds)


def token_provider(info: ConnectionInfo, *, skew_seconds: float = REFRESH_SKEW_SECONDS) -> Any:
    if info.auth_kind == LOCATION_TOKEN:
        return location_token_provider(info, skew_seconds=skew_seconds)
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


def budget_for(redis_url: str | None, account: str, config: dict[str, Any]) -> RateBudget | NullBudget:
    """The shared budget of one GHL resource (a location id, or a company id for agency calls): the keys
    `ratebudget:ghl:<account>:*`, with the connection's `rate_limit_per_10s` override (0 = no budget)."""
    if not redis_url:
        return NullBudget()
    limits = list(GHL_LIMITS)
    override = config.get("rate_limit_per_10s")
    if override is not None:
        if int(override) <= 0:
            return NullBudget()
        limits[0] = (int(override), limits[0][1])
    return RateBudget.for_account(redis_url, "ghl", account, limits)


def budget(info: ConnectionInfo) -> RateBudget | NullBudget:
    """One budget per location, whatever the host: every process on every machine spends the same keys."""
    return budget_for(info.redis_url, info.account_id, info.config)


def _client_kw(info: ConnectionInfo) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if info.config.get("http_timeout_s"):
        kw["timeout"] = (CONNECT_TIMEOUT_S, float(info.config["http_timeout_s"]))
    return {
        "base_url": info.base_url.rstrip("/") or str(info.app_settings.get("base_url") or ""),
        "version": str(info.app_settings.get("api_version") or DEFAULT_VERSION),
        **kw,
    }


def build_agency_client(info: ConnectionInfo, *, on_call: Any = None) -> GHLAgencyClient:
    """The agency's client: its own token (Company OAuth, refreshed single-flight, or an agency private token)
    and the company's own rate budget (GHL counts agency calls per Company, not per location)."""
    if not info.company_id:
        raise ConfigurationError(f"connection {info.connection_id} has no agency (company) id")
    return GHLAgencyClient(
        company_id=info.company_id,
        token_provider=token_provider(info),
        budget=budget_for(info.redis_url, info.company_id, info.config),
        on_call=on_call or info.on_call,
        **_client_kw(info),
    )


def build_client(info: ConnectionInfo) -> GHLClient:
    return GHLClient(
        location_id=info.account_id,
        token_provider=token_provider(info),
        budget=budget(info),
        on_call=info.on_call,
        **_client_kw(info),
    )
