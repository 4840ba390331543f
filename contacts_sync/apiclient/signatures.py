"""Webhook signatures, written once: hex HMAC-SHA256 of the body (Hubstaff's REST hooks, simple custom apps),
Standard Webhooks (our custom-app convention and our own outgoing webhooks, through the `standardwebhooks`
package) and public-key checks (GHL's Ed25519 and legacy RSA). Every verifier answers True/False, never raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

STANDARD_SECRET_PREFIX = "whsec_"
# Standard Webhooks keys are 24 to 64 random bytes (the spec's recommendation); ours are 32.
STANDARD_KEY_BYTES = (24, 64)


def header(headers: Mapping[str, Any], name: str) -> str:
    """A header's value whatever the case of its name ("" when absent)."""
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted), "")


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_sha256_hex_matches(*, secret: str, body: bytes, signature: str) -> bool:
    """The hex HMAC-SHA256 of `body` under `secret` equals `signature` ("sha256=" prefix allowed), in constant time."""
    given = signature.strip().lower().removeprefix("sha256=")
    if not secret or not given:
        return False
    return hmac.compare_digest(hmac_sha256_hex(secret, body), given)


def standard_secret_generate() -> str:
    """A new Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return STANDARD_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_secret_problem(secret: str) -> str:
    """ "" when `secret` is a usable Standard Webhooks secret (whsec_ + base64 of 24-64 bytes), else why not."""
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        return "a signing secret starts with whsec_"
    try:
        key = base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return "the part after whsec_ is not valid base64"
    low, high = STANDARD_KEY_BYTES
    if not low <= len(key) <= high:
        return f"the key is {len(key)} bytes; a signing secret holds {low} to {high} random bytes"
    return ""


def _standard(secret: str) -> Webhook:
    """whsec_ secrets carry a base64 key (the standard); any other secret is used as raw bytes."""
    return Webhook(secret if secret.startswith(STANDARD_SECRET_PREFIX) else secret.encode())


def standard_sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value ("v1,<base64>") for a Standard Webhooks delivery."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return _standard(secret).sign(msg_id=msg_id, timestamp=moment, data=body.decode())


def standard_headers(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def standard_verify(*, secret: str, headers: Mapping[str, Any], body: bytes) -> bool:
    """webhook-id/-timestamp/-signature with a 5-minute tolerance; several "v1," signatures during a rotation."""
    if not secret:
        return False
    try:
        _standard(secret).verify(body, {str(k): str(v) for k, v in headers.items()}, json_parse=False)
    except (WebhookVerificationError, ValueError, UnicodeDecodeError, binascii.Error, RuntimeError):
        return False
    except Exception:  # noqa: BLE001 - the package raises others for malformed headers; all mean "not verified"
        return False
    return True


def ed25519_verify(key: Ed25519PublicKey, *, body: bytes, signature_b64: str) -> bool:
    try:
        key.verify(_b64(signature_b64), body)
    except (InvalidSignature, ValueError):
        return False
    return True


def rsa_sha256_verify(key: RSAPublicKey, *, body: bytes, signature_b64: str) -> bool:
    try:
        key.verify(_b64(signature_b64), body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
