from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings

# Outbound alert calls must not hold the alert worker for long: a slow receiver is a transient failure.
SEND_TIMEOUT_SECONDS = 10.0


class TransportError(Exception):
    """A failed delivery. permanent=True (bad address, 4xx, revoked Slack hook) disables the channel."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class AlertMessage:
    """What every transport renders: a subject line, a plain text body and a JSON-able event."""

    subject: str
    text: str
    event: dict[str, Any] = field(default_factory=dict)
    url: str = ""


class Transport(Protocol):
    def send(self, channel: Any, message: AlertMessage) -> None: ...


REGISTRY: dict[str, Transport] = {}


def register(kind: str) -> Callable[[type], type]:
    def decorator(cls: type) -> type:
        REGISTRY[kind] = cls()
        return cls

    return decorator


def transport_for(kind: str) -> Transport:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise TransportError(f"no transport for channel kind {kind!r}", permanent=True) from None


def post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST and classify the outcome: 2xx ok; 408/429/5xx/timeouts transient; other 4xx permanent.

    The URL is checked again at send time (a host may resolve elsewhere since the form accepted it)."""
    try:
        url_check(url)
    except ChannelURLError as exc:
        raise TransportError(str(exc), permanent=True) from None
    try:
        resp = requests.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                             timeout=SEND_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.Timeout:
        raise TransportError(f"timed out after {SEND_TIMEOUT_SECONDS:.0f}s") from None
    except requests.RequestException as exc:
        raise TransportError(f"could not connect: {exc.__class__.__name__}") from None
    if 200 <= resp.status_code < 300:
        return
    snippet = resp.text[:200].strip()
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429)
    raise TransportError(f"HTTP {resp.status_code}: {snippet}" if snippet else f"HTTP {resp.status_code}",
                         permanent=permanent)


class ChannelURLError(ValueError):
    """A webhook URL that may not be used (scheme, host, or a private address while DEBUG is off)."""


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def url_check(url: str, *, allow_private: bool | None = None) -> str:
    """http(s) only; with DEBUG off, a host that is or resolves to a private/loopback address is refused
    (an alert webhook must not become a way to make this server call the internal network)."""
    allow_private = settings.DEBUG if allow_private is None else allow_private
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ChannelURLError("Use an http:// or https:// URL.")
    host = parts.hostname
    if not host:
        raise ChannelURLError("The URL has no host name.")
    if allow_private:
        return url.strip()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ChannelURLError("The URL's port is not a number.") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ChannelURLError(f"The host {host!r} does not resolve.") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if _blocked(ip):
            raise ChannelURLError(f"{host} points to a private or loopback address ({ip}); refused.")
    return url.strip()
