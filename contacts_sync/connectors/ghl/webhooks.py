"""GHL's webhooks: signature check over the raw body, freshness, and which object kind an event concerns.

GHL signs every delivery of a Marketplace app with its own key (not a per-connection secret): Ed25519 in
`x-ghl-signature`, and, until HighLevel stops sending it, RSA-SHA256 in the legacy `x-wh-signature`. GHL's SDK
checks x-ghl-signature first and falls back to x-wh-signature only when x-ghl-signature is absent; so do we.
Keys: HighLevel's published ones (keys/), or PEM text given by the caller (the GHL_WEBHOOK_* settings).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from contacts_sync.apiclient.signatures import ed25519_verify, header, rsa_sha256_verify

KEYS_DIR = Path(__file__).resolve().parent / "keys"
# GHL's guide suggests rejecting webhooks whose `timestamp` is more than 5 minutes away from now (replays).
MAX_TIMESTAMP_SKEW = timedelta(minutes=5)

# GHL event type -> the object kind a sync reads (docs/webhook-events). Others (INSTALL, LocationUpdate...)
# are stored and marked ignored. GHL has no TaskUpdate event and sends businesses as Record* events.
EVENT_OBJECTS = {
    "ContactCreate": "contact",
    "ContactUpdate": "contact",
    "ContactDelete": "contact",
    "ContactTagUpdate": "contact",
    "ContactDndUpdate": "contact",
    "TaskCreate": "task",
    "TaskComplete": "task",
    "TaskDelete": "task",
    "NoteCreate": "note",
    "NoteUpdate": "note",
    "NoteDelete": "note",
    "AppointmentCreate": "appointment",
    "AppointmentUpdate": "appointment",
    "AppointmentDelete": "appointment",
    "RecordCreate": "business",
    "RecordUpdate": "business",
    "RecordDelete": "business",
}


class SignatureProblem(ValueError):
    """Why a delivery is not accepted: `code` is missing_signature | bad_signature | misconfigured."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _pem(text: str) -> bytes:
    """PEM text from an env var: accepts real PEM, PEM with literal \\n, or the bare base64 body."""
    text = text.strip().replace("\\n", "\n")
    if not text.startswith("-----BEGIN"):
        body = "".join(text.split())
        text = "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----"
    return text.encode()


@functools.lru_cache(maxsize=8)
def _load_key(text: str) -> Any:
    return serialization.load_pem_public_key(_pem(text))


def public_key(pem: str = "") -> Ed25519PublicKey:
    key = _load_key(pem or (KEYS_DIR / "ghl-webhook-ed25519.pem").read_text())
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureProblem("misconfigured", "GHL_WEBHOOK_PUBLIC_KEY is not an Ed25519 public key")
    return key


def legacy_public_key(pem: str = "") -> RSAPublicKey:
    key = _load_key(pem or (KEYS_DIR / "ghl-webhook-rsa.pem").read_text())
    if not isinstance(key, RSAPublicKey):
        raise SignatureProblem("misconfigured", "GHL_WEBHOOK_LEGACY_PUBLIC_KEY is not an RSA public key")
    return key


def verify(headers: Mapping[str, Any], body: bytes, *, ed25519_pem: str = "", rsa_pem: str = "") -> str:
    """The scheme that verified the RAW body ("ed25519" or "rsa"); raises SignatureProblem. Never re-serialise."""
    current, legacy = header(headers, "x-ghl-signature"), header(headers, "x-wh-signature")
    if current:
        if ed25519_verify(public_key(ed25519_pem), body=body, signature_b64=current):
            return "ed25519"
    elif legacy:
        if rsa_sha256_verify(legacy_public_key(rsa_pem), body=body, signature_b64=legacy):
            return "rsa"
    else:
        raise SignatureProblem("missing_signature", "no x-ghl-signature (or legacy x-wh-signature) header")
    raise SignatureProblem("bad_signature", "the webhook signature does not match the body")


def parse_timestamp(value: Any) -> datetime | None:
    """GHL's `timestamp`: epoch seconds or milliseconds, or an ISO date; None when it is neither."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
            return datetime.fromtimestamp(seconds, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def object_kind(event_type: str) -> str:
    return EVENT_OBJECTS.get(event_type, "")


def is_delete(event_type: str) -> bool:
    """ContactDelete, TaskDelete, NoteDelete, AppointmentDelete, RecordDelete: the record is gone in GHL."""
    return event_type in EVENT_OBJECTS and event_type.endswith("Delete")


# Keys GHL's delivery adds around the record; they are not part of the record a sync reads.
ENVELOPE_KEYS = ("type", "timestamp", "webhookId", "appId", "versionId")
# Events whose record sits under a key of its own (AppointmentCreate: {"appointment": {...}}).
NESTED = {"contact": "contact", "appointment": "appointment"}


def event_record(payload: Any, kind: str = "contact") -> dict[str, Any] | None:
    """The record an event of this object kind carries, in the shape a read of that kind returns (tasks keyed
    `id`, children keeping their `contactId`); None when the body holds no record with an id."""
    if not isinstance(payload, dict):
        return None
    inner = payload.get(NESTED.get(kind, ""))
    if isinstance(inner, dict):
        payload = {"contactId": payload.get("contactId"), **inner} if kind != "contact" else inner
    record = {k: v for k, v in payload.items() if k not in ENVELOPE_KEYS and v is not None}
    if "id" not in record and record.get("_id"):
        record["id"] = record.pop("_id")
    return record if record.get("id") else None
