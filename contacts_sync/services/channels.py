"""Alert channels: create, test, enable/disable, delete. Secrets (Slack URL, signing secret) are write-only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from contacts_sync.alerts.transports import AlertMessage
from contacts_sync.alerts.transports.base import ChannelURLError, url_check
from contacts_sync.alerts.transports.webhook import SECRET_PREFIX, secret_generate
from contacts_sync.models import AlertChannel, ChannelKind, Notification
from contacts_sync.services.alerts import notification_send
from contacts_sync.services.audit import audit_record


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


__all__ = ["ChannelURLError", "channel_create", "channel_delete", "channel_enabled_set", "channel_test", "url_check"]
