from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from contacts_sync.apiclient.outbound import UnsafeURLError, safe_session
from contacts_sync.apiclient.outbound import url_check as outbound_url_check

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

    The URL is checked again when connecting, and the socket goes to the address that was checked (a host may
    resolve elsewhere since the form accepted it: apiclient/outbound.py). Redirects are never followed."""
    try:
        resp = _SESSION.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=SEND_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except UnsafeURLError as exc:
        raise TransportError(str(exc), permanent=True) from None
    except requests.Timeout:
        raise TransportError(f"timed out after {SEND_TIMEOUT_SECONDS:.0f}s") from None
    except requests.RequestException as exc:
        raise TransportError(f"could not connect: {exc.__class__.__name__}") from None
    if 200 <= resp.status_code < 300:
        return
    snippet = resp.text[:200].strip()
    permanent = 400 <= resp.status_code < 500 and resp.status_code not in (408, 425, 429)
    raise TransportError(
        f"HTTP {resp.status_code}: {snippet}" if snippet else f"HTTP {resp.status_code}", permanent=permanent
    )


# One pool for every alert call; it connects only to checked addresses (apiclient/outbound.py).
_SESSION = safe_session()
# The check every user-entered URL goes through (channels here; connections' base URLs in services).
ChannelURLError = UnsafeURLError
url_check = outbound_url_check
