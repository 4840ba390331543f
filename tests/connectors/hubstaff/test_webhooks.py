"""Hubstaff webhooks: the pure helpers, and the full create -> handshake -> activate -> signed event flow."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contacts_sync.apiclient.errors import ApiError
from contacts_sync.connectors.hubstaff import handshake_response, parse_webhook, verify_webhook
from tests.connectors.conftest import HUBSTAFF_ORG, HubstaffBox
from tests.support import wait_until

SECRET = "s3cr3t-from-the-handshake"
BODY = json.dumps(
    {
        "id": "69d37f9f-483e-4be1-92c3-b2377203a8cd",
        "event": "task.create",
        "created_at": "2024-06-20T14:10:55.196912",
        "payload": {"organization_id": 13, "project_id": 841201, "task_id": 55, "user_id": None},
    }
).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_correct_signature_verifies() -> None:
    assert verify_webhook({"X-Hook-Signature": sign(BODY)}, BODY, SECRET)
    assert verify_webhook({"x-hook-signature": sign(BODY).upper()}, BODY, SECRET)  # hex case does not matter


def test_a_signature_over_other_bytes_or_with_another_secret_fails() -> None:
    assert not verify_webhook({"X-Hook-Signature": sign(BODY)}, BODY + b" ", SECRET)
    assert not verify_webhook({"X-Hook-Signature": sign(BODY, "other")}, BODY, SECRET)
    assert not verify_webhook({"X-Hook-Signature": "not-hex"}, BODY, SECRET)


def test_a_missing_signature_or_secret_fails() -> None:
    assert not verify_webhook({}, BODY, SECRET)
    assert not verify_webhook({"X-Hook-Signature": sign(BODY, "")}, BODY, "")


def test_the_handshake_echoes_the_secret_and_ignores_signed_deliveries() -> None:
    assert handshake_response({"X-Hook-Secret": "abc"}) == {"X-Hook-Secret": "abc"}
    assert handshake_response({"x-hook-secret": "abc", "x-hook-signature": "f00"}) is None
    assert handshake_response({}) is None


def test_parse_webhook_names_the_event_account_and_records() -> None:
    parsed = parse_webhook(BODY)
    assert parsed["event_id"] == "69d37f9f-483e-4be1-92c3-b2377203a8cd"
    assert parsed["event_type"] == "task.create"
    assert parsed["account_id"] == "13"
    assert parsed["record_ids"] == {"task_id": "55", "project_id": "841201"}
    assert parse_webhook(json.loads(BODY)) == parsed  # the inbox may hand over the parsed dict


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event": "task.create"}'])
def test_parse_webhook_rejects_what_is_not_a_hubstaff_event(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_webhook(body)


class Receiver:
    """A real HTTP endpoint that answers Hubstaff's handshake and records deliveries."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                reply = handshake_response(headers)
                self.send_response(200)
                if reply is not None:
                    receiver.secret = reply["X-Hook-Secret"]
                    for k, v in reply.items():
                        self.send_header(k, v)
                else:
                    receiver.events.append((headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_webhook_is_verified_activated_and_delivers_signed_events(hubstaff: HubstaffBox, receiver: Receiver) -> None:
    connector = hubstaff.connector()
    hook = connector.create_webhook(target_url=receiver.url, events=["client.create", "task.create"])
    wait_until(lambda: receiver.secret, timeout=10, what="the X-Hook-Secret handshake")
    # The emulator marks it verified once it has read the echo (just after the receiver saw the secret).
    wait_until(
        lambda: connector.client.get_webhook(hook["id"])["status"] == "verified",
        timeout=10,
        what="verified status",
    )
    with pytest.raises(ApiError) as info:
        connector.activate_webhook(hook["id"], "wrong-secret")
    assert info.value.status == 401
    assert connector.activate_webhook(hook["id"], receiver.secret)["status"] == "active"

    client = connector.client.create_client(HUBSTAFF_ORG, {"name": "Webhook Test GmbH", "emails": ["a@b.example"]})
    wait_until(lambda: receiver.events, timeout=10, what="the client.create delivery")
    headers, body = receiver.events[0]
    assert verify_webhook(headers, body, receiver.secret)
    assert not verify_webhook(headers, body, "another-secret")
    event = parse_webhook(body)
    assert event["event_type"] == "client.create"
    assert event["account_id"] == HUBSTAFF_ORG
    assert event["record_ids"] == {"client_id": str(client["id"])}


def test_a_webhook_whose_target_never_answered_stays_pending(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    hook = connector.create_webhook(target_url="http://127.0.0.1:9/nobody-listens")
    assert hook["status"] == "pending"
    with pytest.raises(ApiError) as info:
        connector.activate_webhook(hook["id"], "0" * 64)
    assert info.value.status == 401
    assert connector.client.get_webhook(hook["id"])["status"] == "pending"
