"""Your app's webhooks: Standard Webhooks (webhook-id/-timestamp/-signature, 5-minute tolerance), or a hex
HMAC-SHA256 of the raw body in X-Webhook-Signature for apps that cannot do more. Events are
{"id", "type", "data": {...}} (our documented convention)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contacts_sync.apiclient.signatures import header, hmac_sha256_hex_matches, standard_verify

HEX_SIGNATURE_HEADERS = ("x-webhook-signature", "x-hook-signature", "x-signature")
# Event type prefix -> the object kind a sync reads ("contact.updated" -> contact).
EVENT_OBJECTS = {"contact.": "contact", "task.": "task", "note.": "note", "appointment.": "appointment"}


def verify_webhook(headers: Mapping[str, Any], body: bytes, secret: str) -> bool:
    if not secret:
        return False
    if header(headers, "webhook-signature"):
        return standard_verify(secret=secret, headers=headers, body=body)
    given = next((header(headers, name) for name in HEX_SIGNATURE_HEADERS if header(headers, name)), "")
    return bool(given) and hmac_sha256_hex_matches(secret=secret, body=body, signature=given)


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """{event_id, event_type, account_id, record_ids} of a {"id", "type", "data": {...}} event."""
    data: Any = json.loads(body) if isinstance(body, (bytes, str)) else body
    if not isinstance(data, Mapping) or not data.get("type"):
        raise ValueError("custom app webhook body must be a JSON object with a 'type'")
    inner: Mapping[str, Any] = data["data"] if isinstance(data.get("data"), Mapping) else {}
    return {
        "event_id": str(data.get("id") or ""),
        "event_type": str(data["type"]),
        "account_id": "",
        "record_ids": {"id": str(inner["id"])} if inner.get("id") else {},
        "payload": dict(inner),
    }
