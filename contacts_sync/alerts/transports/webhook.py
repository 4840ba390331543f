"""Generic webhook signed per Standard Webhooks (https://www.standardwebhooks.com/).

Headers: webhook-id, webhook-timestamp (unix seconds), webhook-signature = "v1,<base64 HMAC-SHA256 of
'{id}.{timestamp}.{body}'>" keyed with the base64-decoded part of a `whsec_...` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as _secrets
import time
import uuid
from typing import Any

from .base import AlertMessage, TransportError, post_json, register

SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise TransportError("the signing secret is not valid base64 (expected whsec_...)", permanent=True) from None


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(*, secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's side (used by tests and documented for users)."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts = h.get("webhook-id", ""), h.get("webhook-timestamp", "")
    if not msg_id or not ts.isdigit() or abs(time.time() - int(ts)) > tolerance:
        return False
    expected = sign(secret=secret, msg_id=msg_id, timestamp=int(ts), body=body)
    return any(hmac.compare_digest(expected, s) for s in h.get("webhook-signature", "").split())


@register("webhook")
class WebhookTransport:
    def send(self, channel: Any, message: AlertMessage) -> None:
        secret = (channel.secrets or {}).get("secret", "")
        if not secret:
            raise TransportError("no signing secret stored", permanent=True)
        body = json.dumps({"type": message.event.get("type", "alert"), "timestamp": int(time.time()),
                           "data": {**message.event, "subject": message.subject, "text": message.text,
                                    "url": message.url}}, separators=(",", ":")).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        ts = int(time.time())
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                   "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=ts, body=body)}
        post_json(channel.target, body, headers)
