"""Key pairs and signed GHL webhook bodies for the tests (our own keys, installed through settings)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@cache
def ed25519_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_ed25519(body: bytes, key: Ed25519PrivateKey | None = None) -> str:
    return base64.b64encode((key or ed25519_key()).sign(body)).decode()


def sign_rsa(body: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
    signature = (key or rsa_key()).sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def ghl_body(type_: str = "ContactUpdate", location_id: str = "loc-test", **fields: Any) -> bytes:
    payload = {
        "type": type_,
        "locationId": location_id,
        "id": fields.pop("id", "contact-" + uuid.uuid4().hex[:8]),
        "webhookId": fields.pop("webhookId", str(uuid.uuid4())),
        "timestamp": fields.pop("timestamp", datetime.now(UTC).isoformat().replace("+00:00", "Z")),
        "email": "ada@example.com",
        "firstName": "Ada",
        "tags": ["critical"],
        **fields,
    }
    return json.dumps(payload, separators=(",", ":")).encode()
