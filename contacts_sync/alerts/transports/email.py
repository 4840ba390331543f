from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from .base import AlertMessage, TransportError, register


def recipients(target: str) -> list[str]:
    return [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]


@register("email")
class EmailTransport:
    def send(self, channel: Any, message: AlertMessage) -> None:
        to = recipients(channel.target)
        if not to:
            raise TransportError("no recipient address", permanent=True)
        body = message.text + (f"\n\n{message.url}" if message.url else "")
        try:
            send_mail(message.subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipients refused: {', '.join(exc.recipients)}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"mail server: {exc.__class__.__name__}: {exc}"[:300]) from None
