"""UpGuard webhooks, as pure functions for the webhook inbox.

UpGuard's API creates them (POST /webhooks with name, hook_url and notification_type_ids; v1.13.2 answers the
one-time `signing_secret`), and a delivery carries one notification: {type, description, occurredAt, context}
(WebhookSampleData in the v1.11.1 spec). How a delivery is signed is documented nowhere we know of
(source-apps.md section 3); we ASSUME a hex HMAC-SHA256 of the raw body under the signing secret in
`X-Webhook-Signature`, as the emulator sends it. Check it against a real delivery before relying on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contacts_sync.apiclient.signatures import header, hmac_sha256_hex_matches

SIGNATURE_HEADER = "x-webhook-signature"  # an assumption (see above)
# Notification types that report a breach start the security-task sync; every other type the audit notes sync.
EVENT_OBJECTS = {
    "IdentityBreachDetected": "task",
    "DataLeakPublished": "task",
    "VendorDataBreach": "task",
    "*": "note",
}


def verify_webhook(headers: Mapping[str, Any], body: bytes, secret: str) -> bool:
    """True when the signature header is the hex HMAC-SHA256 of the raw body under `secret` (constant-time)."""
    return bool(secret) and hmac_sha256_hex_matches(
        secret=secret, body=body, signature=header(headers, SIGNATURE_HEADER)
    )


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """{event_id, event_type, account_id, record_ids, payload}; ValueError for a body that is no notification.
    A delivery names no id: the inbox dedupes it by the hash of its body."""
    data: Any = json.loads(body) if isinstance(body, (bytes, str)) else body
    if not isinstance(data, Mapping) or not data.get("type"):
        raise ValueError("an UpGuard notification is a JSON object with a 'type'")
    context = data["context"] if isinstance(data.get("context"), Mapping) else {}
    return {
        "event_id": str(data.get("notification_id") or data.get("id") or ""),
        "event_type": str(data["type"]),
        "account_id": "",
        "record_ids": {"vendor_id": str(context["vendor_id"])} if context.get("vendor_id") else {},
        "payload": dict(data),
    }
