"""Base URLs users type (a connection's, the GHL OAuth start's): the address check, "another host?", and the
GHL OAuth endpoints, which come from settings and never from a user-entered URL.

The address rules are apiclient/outbound.py's (public addresses only, `PRIVATE_URL_ALLOWLIST` for the local
emulators); the same check runs again on every connection, so a name that changes its answer reaches nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from contacts_sync.apiclient.outbound import UnsafeURLError, url_allowlisted, url_check
from contacts_sync.services.credentials import ConnectionActionError

__all__ = ["base_url_clean", "ghl_authorize_base", "ghl_token_url", "host_changed", "is_emulator"]


def base_url_clean(base_url: str) -> str:
    """ "" (the app's public API) or a checked http(s) URL without a trailing slash; ConnectionActionError else."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url:
        return ""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConnectionActionError("base URL must be an http(s) URL such as https://api.example.com")
    try:
        return url_check(base_url)
    except UnsafeURLError as exc:
        raise ConnectionActionError(f"base URL refused: {exc}") from None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def host_changed(old: str, new: str) -> bool:
    """True when the calls would go to another scheme, host or port ("" = the app's public API is a host too)."""
    return _origin(old) != _origin(new)


def is_emulator(base_url: str) -> bool:
    """A base URL on PRIVATE_URL_ALLOWLIST: one of the local emulators the operator named."""
    return bool(base_url) and url_allowlisted(base_url)


def ghl_token_url(base_url: str = "") -> str:
    """Where the GHL client secret and refresh tokens go: GHL_OAUTH_TOKEN_URL, or the emulator's /oauth/token
    for a base URL on the allowlist. Never a host that only a user typed."""
    if is_emulator(base_url):
        return base_url.rstrip("/") + "/oauth/token"
    return settings.GHL_OAUTH_TOKEN_URL or settings.GHL_BASE_URL.rstrip("/") + "/oauth/token"


def ghl_authorize_base(base_url: str = "") -> str:
    """The consent page: GHL_OAUTH_AUTHORIZE_URL, or the emulator's for a base URL on the allowlist."""
    if is_emulator(base_url):
        return base_url.rstrip("/") + "/oauth/chooselocation"
    return settings.GHL_OAUTH_AUTHORIZE_URL
