from __future__ import annotations

import json
from typing import Any

from .base import AlertMessage, TransportError, post_json, register


@register("slack")
class SlackTransport:
    """Slack incoming webhook: the URL is a secret (channel.secrets["url"]); 404/410 = the hook was revoked."""

    def send(self, channel: Any, message: AlertMessage) -> None:
        url = (channel.secrets or {}).get("url", "")
        if not url:
            raise TransportError("no Slack webhook URL stored", permanent=True)
        text = f"*{message.subject}*\n{message.text}" + (
            f"\n<{message.url}|Open in contacts-sync>" if message.url else ""
        )
        post_json(url, json.dumps({"text": text}).encode(), {})
