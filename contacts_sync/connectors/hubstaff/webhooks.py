"""Hubstaff webhooks, as pure functions for the webhook inbox (source-apps.md section 1, swagger info).

1. After `POST /v2/organizations/{org}/webhooks`, Hubstaff POSTs the target with `X-Hook-Secret`; the receiver
   answers 200 echoing that header (`handshake_response`) and keeps the secret.
2. `POST /v2/webhooks/{id}/activate` with the same header turns deliveries on.
3. Each delivery carries `X-Hook-Signature` = hex HMAC-SHA256 of the raw body keyed with the secret
   (`verify_webhook`); the body is {"id", "event", "created_at", "payload": {organization_id, ...}}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contacts_sync.apiclient.signatures import header, hmac_sha256_hex_matches

# The payload keys that name records (Hubstaff's examples: organization_id, project_id, task_id, user_id).
RECORD_ID_KEYS = ("client_id", "task_id", "project_id", "user_id", "note_id", "activity_id")
# Hubstaff event names (client.create, task.assign, ...) -> the object kind a sync reads.
EVENT_OBJECTS = {"client.": "contact", "member.": "contact", "task.": "task", "note.": "note", "activity.": "note"}


def verify_webhook(headers: Mapping[str, Any], body: bytes, secret: str) -> bool:
    """True when X-Hook-Signature is the hex HMAC-SHA256 of the raw body under `secret` (constant-time)."""
    return hmac_sha256_hex_matches(secret=secret, body=body, signature=header(headers, "x-hook-signature"))


def handshake_response(headers: Mapping[str, Any]) -> dict[str, str] | None:
    """The headers to answer a verification request with (echo X-Hook-Secret), or None if it is not one."""
    secret = header(headers, "x-hook-secret")
    if not secret or header(headers, "x-hook-signature"):
        return None
    return {"X-Hook-Secret": secret}


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """{event_id, event_type, account_id, record_ids: {kind_id: value}, created_at, payload}.

    Raises ValueError for a body that is not a Hubstaff event (not JSON, not an object, no id or event).
    """
    data: Any = body
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"Hubstaff webhook body is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError("Hubstaff webhook body is not a JSON object")
    event_id, event_type = data.get("id"), data.get("event")
    if not event_id or not event_type:
        raise ValueError("Hubstaff webhook body lacks 'id' or 'event'")
    payload: Mapping[str, Any] = data["payload"] if isinstance(data.get("payload"), Mapping) else {}
    org = payload.get("organization_id")
    return {
        "event_id": str(event_id),
        "event_type": str(event_type),
        "account_id": "" if org is None else str(org),
        "record_ids": {k: str(payload[k]) for k in RECORD_ID_KEYS if payload.get(k) is not None},
        "created_at": data.get("created_at"),
        "payload": dict(payload),
    }
