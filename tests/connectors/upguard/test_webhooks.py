"""UpGuard webhook checks as pure functions (the end-to-end delivery is in test_flows.py)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from contacts_sync.connectors.upguard import SPEC
from contacts_sync.connectors.upguard.webhooks import parse_webhook, verify_webhook

BODY = json.dumps(
    {
        "type": "IdentityBreachDetected",
        "description": "x",
        "occurredAt": "2025-01-01T00:00:00Z",
        "context": {"vendor_id": 5001},
    }
).encode()


def _signed(secret: str, body: bytes = BODY) -> dict[str, str]:
    return {"X-Webhook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_signature_made_with_the_secret_verifies_and_any_other_does_not() -> None:
    assert verify_webhook(_signed("s3cret"), BODY, "s3cret")
    assert not verify_webhook(_signed("other"), BODY, "s3cret")
    assert not verify_webhook(_signed("s3cret"), BODY + b" ", "s3cret")
    assert not verify_webhook({}, BODY, "s3cret")
    assert not verify_webhook(_signed(""), BODY, "")


def test_a_notification_names_its_type_and_vendor_and_breaches_start_the_task_sync() -> None:
    parsed = parse_webhook(BODY)
    assert (parsed["event_type"], parsed["record_ids"]) == ("IdentityBreachDetected", {"vendor_id": "5001"})
    assert parsed["event_id"] == ""  # no id in a delivery: the inbox dedupes by the body's hash
    hooks = SPEC.webhook
    assert hooks is not None and hooks.object_kind("IdentityBreachDetected") == "task"
    assert hooks.object_kind("VendorScoreDropped") == "note"  # any other type: the audit notes


@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"description": "no type"}'])
def test_a_body_that_is_no_notification_is_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_webhook(body)
