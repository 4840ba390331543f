"""Alert channels: create, test, enable/disable, delete. Secrets (Slack URL, signing secret) are write-only."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from contacts_sync.alerts.transports import AlertMessage
from contacts_sync.alerts.transports.webhook import SECRET_PREFIX, secret_generate
from contacts_sync.models import AlertChannel, ChannelKind, Notification
from contacts_sync.services.alerts import notification_send
from contacts_sync.services.audit import audit_record


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


def _mask(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


@transaction.atomic
def channel_create(*, name: str, kind: str, target: str = "", slack_url: str = "", secret: str = "",
                   user: Any = None) -> tuple[AlertChannel, str]:
    """Create a channel. Returns (channel, generated signing secret to show once, or "")."""
    shown = ""
    secrets: dict[str, str] = {}
    if kind == ChannelKind.SLACK:
        secrets["url"] = url_check(slack_url)
        target = target or _mask(slack_url)
    elif kind == ChannelKind.WEBHOOK:
        target = url_check(target)
        if not secret:
            secret = shown = secret_generate()
        secrets["secret"] = secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + secret
    channel = AlertChannel.objects.create(name=name, kind=kind, target=target, secrets=secrets, created_by=user)
    audit_record(actor=user, action="channel.create", obj=channel, changes={"kind": kind, "target": target})
    return channel, shown


def channel_test(*, channel: AlertChannel, user: Any = None) -> Notification:
    """Send a test message now; the Notification says whether it arrived (a permanent error disables it)."""
    message = AlertMessage(
        subject=f"[test] contacts-sync alert channel {channel.name}",
        text="This is a test alert. If you can read it, this channel works.",
        event={"type": "test", "channel": channel.name},
    )
    n = notification_send(channel=channel, message=message, is_test=True)
    audit_record(actor=user, action="channel.test", obj=channel, changes={"ok": n.ok})
    return n


def channel_enabled_set(*, channel: AlertChannel, enabled: bool, user: Any = None) -> AlertChannel:
    channel.enabled = enabled
    if enabled:
        channel.disabled_reason = ""
    channel.save(update_fields=["enabled", "disabled_reason"])
    audit_record(actor=user, action="channel.enable" if enabled else "channel.disable", obj=channel)
    return channel


def channel_delete(*, channel: AlertChannel, user: Any = None) -> None:
    audit_record(actor=user, action="channel.delete", obj=channel)
    channel.delete()
