"""Generic webhook signed per Standard Webhooks (https://www.standardwebhooks.com/).

Headers: webhook-id, webhook-timestamp (unix seconds), webhook-signature = "v1,<base64 HMAC-SHA256 of
'{id}.{timestamp}.{body}'>" keyed with the base64-decoded part of a `whsec_...` secret.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from contacts_sync.apiclient.signatures import (
    STANDARD_SECRET_PREFIX,
    standard_headers,
    standard_secret_generate,
    standard_secret_problem,
)

from .base import AlertMessage, TransportError, post_json, register

SECRET_PREFIX = STANDARD_SECRET_PREFIX
secret_generate = standard_secret_generate


def _check(secret: str) -> None:
    problem = standard_secret_problem(secret)
    if problem:
        raise TransportError(f"the signing secret is not usable: {problem}", permanent=True)


@register("webhook")
class WebhookTransport:
    def send(self, channel: Any, message: AlertMessage) -> None:
        secret = (channel.secrets or {}).get("secret", "")
        if not secret:
            raise TransportError("no signing secret stored", permanent=True)
        body = json.dumps(
            {
                "type": message.event.get("type", "alert"),
                "timestamp": int(time.time()),
                "data": {**message.event, "subject": message.subject, "text": message.text, "url": message.url},
            },
            separators=(",", ":"),
        ).encode()
        _check(secret)
        headers = standard_headers(
            secret=secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()), body=body
        )
        post_json(channel.target, body, headers)
