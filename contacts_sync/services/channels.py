"""Alert channels: create, test, enable/disable, delete. Secrets (Slack URL, signing secret) are write-only.

Every kind is checked here, whatever the caller (the form checks the same first, to name the field): an email
channel needs addresses, a Slack channel a Slack incoming-webhook URL (https://hooks.slack.com/...), a signed
webhook an http(s) URL that is not on the internal network and, if one is given, a usable whsec_ secret (a
malformed one used to be accepted and disabled the channel at its first send).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from contacts_sync.alerts.transports import AlertMessage
from contacts_sync.alerts.transports.base import ChannelURLError, url_check
from contacts_sync.alerts.transports.email import recipients
from contacts_sync.alerts.transports.webhook import secret_generate
from contacts_sync.apiclient.signatures import standard_secret_problem
from contacts_sync.models import AlertChannel, ChannelKind, Notification
from contacts_sync.services.alerts import notification_send
from contacts_sync.services.audit import audit_record

# Slack's incoming webhooks (and workflow triggers) live on this host only; anything else is not Slack.
SLACK_WEBHOOK_HOST = "hooks.slack.com"
SLACK_WEBHOOK_PATHS = ("/services/", "/workflows/", "/triggers/")


class ChannelInputError(ValueError):
    """A channel's input that cannot work; `field` names the form field it belongs to."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _mask(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


def email_problems(target: str) -> list[str]:
    """Why these comma-separated addresses cannot be used ([] = they can)."""
    addresses = recipients(target)
    if not addresses:
        return ["Enter at least one email address."]
    problems = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            problems.append(f"{address!r} is not an email address.")
    return problems


def slack_url_problem(url: str) -> str:
    """ "" when `url` is a Slack incoming webhook URL, else why not (no request is made)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or (parts.hostname or "").lower() != SLACK_WEBHOOK_HOST:
        return (
            "This is not a Slack webhook URL: it starts with https://hooks.slack.com/services/ "
            "(in Slack: Apps, Incoming Webhooks, Add New Webhook to Workspace)."
        )
    if not parts.path.startswith(SLACK_WEBHOOK_PATHS) or parts.path.rstrip("/") in {
        p.rstrip("/") for p in SLACK_WEBHOOK_PATHS
    }:
        return "The Slack URL is incomplete: copy the whole webhook URL, https://hooks.slack.com/services/T…/B…/…"
    return ""


def secret_problem(secret: str) -> str:
    """ "" when `secret` is empty (we generate one) or a usable Standard Webhooks secret, else why not."""
    if not secret:
        return ""
    problem = standard_secret_problem(secret)
    return f"The signing secret is not usable: {problem}. Leave it empty and one is generated." if problem else ""


@sensitive_variables()
def _checked(kind: str, target: str, slack_url: str, secret: str) -> tuple[str, dict[str, str], str]:
    """(target, secrets, generated secret or "") for a valid channel; ChannelInputError otherwise."""
    if kind == ChannelKind.EMAIL:
        if problems := email_problems(target):
            raise ChannelInputError(" ".join(problems), field="target")
        return ", ".join(recipients(target)), {}, ""
    if kind == ChannelKind.SLACK:
        if problem := slack_url_problem(slack_url):
            raise ChannelInputError(problem, field="slack_url")
        # Slack's own host, so no private-address lookup here (the send re-checks the address anyway).
        return target or _mask(slack_url), {"url": slack_url}, ""
    if kind == ChannelKind.WEBHOOK:
        if problem := secret_problem(secret):
            raise ChannelInputError(problem, field="secret")
        shown = "" if secret else secret_generate()
        return url_check(target), {"secret": secret or shown}, shown
    raise ChannelInputError(f"Unknown channel kind {kind!r}.", field="kind")


@sensitive_variables()
@transaction.atomic
def channel_create(
    *, name: str, kind: str, target: str = "", slack_url: str = "", secret: str = "", user: Any = None
) -> tuple[AlertChannel, str]:
    """Create a channel. Returns (channel, generated signing secret to show once, or "").
    Raises ChannelInputError (or its URL form, ChannelURLError) with nothing saved."""
    if not name.strip():
        raise ChannelInputError("Give the channel a name.", field="name")
    target, secrets, shown = _checked(kind, target.strip(), slack_url.strip(), secret.strip())
    channel = AlertChannel.objects.create(name=name.strip(), kind=kind, target=target, secrets=secrets, created_by=user)
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


__all__ = [
    "ChannelInputError",
    "ChannelURLError",
    "channel_create",
    "channel_delete",
    "channel_enabled_set",
    "channel_test",
    "email_problems",
    "secret_problem",
    "slack_url_problem",
    "url_check",
]
