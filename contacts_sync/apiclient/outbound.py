"""Outbound HTTP to addresses a user typed: only public addresses, connected to as checked, no redirects.

Every URL a user enters (a connection's base URL, the GHL OAuth base URL, an alert channel's URL) is checked
when it is saved (`url_check`, a clear form error) and again on every connection (`safe_session()`): the host
name is resolved once, every address must be public (`ip.is_global`, so 10/8, 127/8, 169.254/16, 100.64/10,
fc00::/7, IPv4-mapped and 6to4 forms of those... are refused), and the socket connects to exactly the addresses
that were checked, while the Host header, TLS SNI and the certificate check keep the name. A name that answers
a public address to the check and a private one to the connect (DNS rebinding) therefore reaches nothing.

The local emulators of the demo and the tests listen on 127.0.0.1: the `PRIVATE_URL_ALLOWLIST` setting (or the
environment variable of that name outside Django) lists the hosts (`host` or `host:port`) that may be private.
Production leaves it empty. DEBUG changes nothing here.

No ORM, no Celery (apiclient layer); Django settings are read lazily when Django is configured.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

ALLOWLIST_SETTING = "PRIVATE_URL_ALLOWLIST"
# NAT64 (RFC 6052) embeds an IPv4 address in its last 32 bits: 64:ff9b::7f00:1 is 127.0.0.1.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(ValueError):
    """A URL this service will not call (scheme, host, or an address that is not public). The message is shown
    to the admin as is; it never contains more than the host and the refused address."""


def allowlist() -> tuple[str, ...]:
    """The configured entries (`host` or `host:port`), lower-case."""
    raw: Any
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        try:
            raw = getattr(settings, ALLOWLIST_SETTING, ())
        except ImproperlyConfigured:
            raw = os.environ.get(ALLOWLIST_SETTING, "")
    except ImportError:  # pragma: no cover - Django is a dependency of the project
        raw = os.environ.get(ALLOWLIST_SETTING, "")
    if isinstance(raw, str):
        raw = raw.split(",")
    return tuple(str(e).strip().lower() for e in raw if str(e).strip())


def _entry(entry: str) -> tuple[str, str]:
    """(host, port or "") of one allowlist entry: `127.0.0.1`, `127.0.0.1:8010`, `[::1]:8010`, `localhost`."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest.lstrip(":")
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, port
    return entry, ""


def allowlisted(host: str, port: int | None, entries: Iterable[str] | None = None) -> bool:
    """True when `host` (as written in the URL) is on the allowlist, for any port or for this one."""
    host = host.strip("[]").lower().rstrip(".")
    for entry in allowlist() if entries is None else entries:
        allowed_host, allowed_port = _entry(entry)
        if allowed_host == host and (not allowed_port or allowed_port == str(port)):
            return True
    return False


def url_allowlisted(url: str) -> bool:
    """True when the URL's host (and port) is on the allowlist: a local emulator the operator named."""
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    return bool(parts.hostname) and allowlisted(parts.hostname or "", port)


def is_public(ip: IPAddress) -> bool:
    """A global unicast address; an IPv6 form that embeds an IPv4 address is judged by that address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses to connect to for host:port, each checked; raises UnsafeURLError or socket.gaierror."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if allowlisted(host, port):
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not is_public(ip):
            raise UnsafeURLError(
                f"{host} points to a private or loopback address ({ip}), not a public one; refused "
                f"(a local emulator must be listed in {ALLOWLIST_SETTING})."
            )
    return addresses


def url_check(url: str) -> str:
    """The stripped URL when this service may call it: http(s), a host, a numeric port, public addresses (or an
    allowlisted host). Raises UnsafeURLError with a message for the form."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError("Use an http:// or https:// URL.")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("The URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURLError("The URL's port is not a number.") from None
    try:
        resolve_checked(host, port)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURLError(f"The host {host!r} does not resolve.") from None
    return url


# --- connecting to the checked addresses ----------------------------------------------------------------------


class _CheckedConnect:
    """urllib3's `_new_conn` with the check in front: resolve once, check, connect to those addresses only.

    `self.host` stays the name, so http.client sends `Host: <name>` and urllib3 wraps TLS with SNI and hostname
    verification for the name."""

    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    host: str

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve_checked(self._dns_host, self.port)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e  # type: ignore[arg-type]
        failure: Exception | None = None
        for address in addresses:  # every checked address in turn, as create_connection would
            try:
                return urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as e:
                failure = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                )
                failure.__cause__ = e
            except OSError as e:
                failure = NewConnectionError(self, f"Failed to establish a new connection: {e}")  # type: ignore[arg-type]
                failure.__cause__ = e
        raise failure or NewConnectionError(self, f"{self.host} has no address")  # type: ignore[arg-type]


class _CheckedHTTPConnection(_CheckedConnect, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """A requests transport adapter whose pools connect only to checked addresses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def safe_session(factory: Callable[[], requests.Session] = requests.Session) -> requests.Session:
    """A Session for calls to user-entered hosts: checked addresses only.

    `trust_env` is off: an HTTP(S)_PROXY from the environment would resolve the name itself (defeating the
    check), and ~/.netrc would add credentials for whatever host a user typed. Callers pass
    `allow_redirects=False` (ApiClient, the OAuth token POST, the alert transports): credentials never follow a
    redirect to another host.
    """
    session = factory()
    session.trust_env = False
    adapter = CheckedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
