"""POST /webhooks/<connection token>/: Hubstaff's X-Hook-Secret handshake (only while we register the hook) and
X-Hook-Signature, custom-app HMAC. Every refusal a caller without the secret can provoke is the same 404."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

import pytest
from django.db import connection

from contacts_sync.models import AuthKind, Connection, EventStatus, InboundEvent, Provider
from contacts_sync.services import inbox
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db
SECRET = "hook-secret-" + "s" * 20


def hubstaff(**secrets: str) -> Connection:
    return ConnectionFactory(
        provider=Provider.HUBSTAFF,
        auth_kind=AuthKind.API_KEY,
        external_account_id="501",
        secrets={"refresh_token": "pat-123", **secrets},
    )


def hub_body(event: str = "client.create", **payload: Any) -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "event": event,
            "created_at": "2026-11-23T02:00:00.000000",
            "payload": {"organization_id": 501, "client_id": 7, **payload},
        }
    ).encode()


def hex_sig(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client: Any, conn: Connection | str, body: bytes, nonce: str = "", **headers: str) -> Any:
    token = conn if isinstance(conn, str) else conn.webhook_token
    query = f"?handshake={nonce}" if nonce else ""
    return client.post(f"/webhooks/{token}/{query}", data=body, content_type="application/json", headers=headers)


def assert_not_found(response: Any) -> None:
    """The one answer for an unknown URL and for every refusal a caller without the secret can provoke."""
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": inbox.NOT_FOUND_DETAIL}


def test_the_hubstaff_handshake_echoes_the_secret_and_keeps_it_encrypted(client: Any) -> None:
    conn = hubstaff()
    nonce = inbox.handshake_nonce_issue(connection_id=conn.pk)  # what a registration we started does
    response = post(client, conn, b"{}", nonce, **{"X-Hook-Secret": SECRET})
    assert response.status_code == 200
    assert response["X-Hook-Secret"] == SECRET
    conn.refresh_from_db()
    assert conn.secrets["webhook_secret"] == SECRET
    assert conn.secrets["refresh_token"] == "pat-123"  # the other secrets are kept
    with connection.cursor() as cursor:
        cursor.execute("select secrets from contacts_sync_connection where id = %s", [conn.pk])
        raw = cursor.fetchone()[0]
    assert raw and SECRET not in raw  # stored encrypted
    assert not InboundEvent.objects.exists()
    assert inbox.HANDSHAKE_CONFIG_KEY not in conn.config  # the nonce is used up


def test_a_second_handshake_cannot_replace_the_secret(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    response = post(client, conn, b"{}", **{"X-Hook-Secret": "attacker-secret"})
    assert_not_found(response)
    assert "attacker-secret" not in response.content.decode()
    conn.refresh_from_db()
    assert conn.secrets["webhook_secret"] == SECRET


def test_repeating_the_handshake_with_the_same_secret_is_fine(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    response = post(client, conn, b"{}", **{"X-Hook-Secret": SECRET})
    assert response.status_code == 200
    assert response["X-Hook-Secret"] == SECRET


def test_a_signed_hubstaff_event_is_stored_and_enqueued(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    body = hub_body("task.create", task_id=99)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, conn, body, **{"X-Hook-Signature": hex_sig(body)})
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    event = InboundEvent.objects.get()
    assert (event.provider, event.event_type, event.account_id) == ("hubstaff", "task.create", "501")
    assert event.event_id == f"{conn.pk}:{json.loads(body)['id']}"
    assert event.connection == conn
    assert event.status == EventStatus.PENDING
    assert "x-hook-signature" not in event.headers
    assert len(callbacks) == 1


def test_a_replayed_hubstaff_event_is_a_duplicate(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    body = hub_body()
    statuses = [post(client, conn, body, **{"X-Hook-Signature": hex_sig(body)}).json()["status"] for _ in range(5)]
    assert statuses == ["accepted"] + ["duplicate"] * 4
    assert InboundEvent.objects.count() == 1


def test_a_bad_signature_is_the_same_404_stores_nothing_and_logs_no_secret(client: Any, caplog: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    body = hub_body()
    with caplog.at_level(logging.INFO):
        response = post(client, conn, body, **{"X-Hook-Signature": hex_sig(body, "wrong-secret")})
    assert_not_found(response)
    assert not InboundEvent.objects.exists()
    assert "webhook rejected" in caplog.text and "reason=bad signature" in caplog.text  # the operator's view
    assert SECRET not in caplog.text
    assert hex_sig(body, "wrong-secret") not in caplog.text


def test_a_missing_signature_is_the_same_404(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    assert_not_found(post(client, conn, hub_body()))


def test_an_event_before_the_handshake_is_the_same_404(client: Any) -> None:
    conn = hubstaff()
    body = hub_body()
    assert_not_found(post(client, conn, body, **{"X-Hook-Signature": hex_sig(body)}))


def test_an_unknown_token_is_404_json(client: Any) -> None:
    assert_not_found(post(client, "x" * 32, b"{}", **{"X-Hook-Signature": "00"}))


def test_signed_malformed_json_is_400_and_kept_as_a_failed_event(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    body = b'{"event": "client.create", '
    response = post(client, conn, body, **{"X-Hook-Signature": hex_sig(body)})
    assert response.status_code == 400
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert event.status == EventStatus.FAILED
    assert event.body == body.decode()


def test_a_custom_app_signs_with_the_connections_webhook_secret(client: Any) -> None:
    conn = ConnectionFactory(
        provider=Provider.CUSTOM,
        auth_kind=AuthKind.WEBHOOK_SECRET,
        secrets={"webhook_secret": SECRET, "api_key": "k"},
    )
    body = json.dumps({"id": "evt-1", "type": "contact.updated", "data": {"id": "c1"}}).encode()
    ok = post(client, conn, body, **{"X-Webhook-Signature": "sha256=" + hex_sig(body)})
    bad = post(client, conn, body, **{"X-Webhook-Signature": hex_sig(body, "nope")})
    assert ok.status_code == 200
    assert_not_found(bad)
    event = InboundEvent.objects.get()
    assert (event.provider, event.event_type) == ("custom", "contact.updated")


def test_a_custom_app_cannot_set_its_secret_through_a_handshake(client: Any) -> None:
    conn = ConnectionFactory(provider=Provider.CUSTOM, auth_kind=AuthKind.WEBHOOK_SECRET, secrets={})
    nonce = inbox.handshake_nonce_issue(connection_id=conn.pk)  # even during a registration window
    response = post(client, conn, b"{}", nonce, **{"X-Hook-Secret": "mine"})
    assert_not_found(response)
    conn.refresh_from_db()
    assert "webhook_secret" not in conn.secrets


def standard_webhook_headers(body: bytes, secret: str, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
    import base64
    import time

    ts = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}


def test_a_custom_app_may_sign_the_standard_webhooks_way_and_is_deduplicated_by_webhook_id(
    client: Any,
) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    conn = ConnectionFactory(
        provider=Provider.CUSTOM, auth_kind=AuthKind.WEBHOOK_SECRET, secrets={"webhook_secret": secret}
    )
    body = json.dumps({"type": "contact.updated", "timestamp": "2026-11-23T02:00:00Z", "data": {"id": "c9"}}).encode()
    headers = standard_webhook_headers(body, secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    first = post(client, conn, body, **headers)
    again = post(client, conn, body, **headers)
    stale = post(client, conn, body, **standard_webhook_headers(body, secret, "msg_old", timestamp=1_600_000_000))
    assert (first.status_code, first.json()["status"]) == (200, "accepted")
    assert again.json()["status"] == "duplicate"
    assert_not_found(stale)
    event = InboundEvent.objects.get()
    assert event.event_id == f"{conn.pk}:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert "webhook-signature" not in event.headers


def test_signed_json_that_is_not_an_app_event_is_400_and_kept(client: Any) -> None:
    conn = hubstaff(webhook_secret=SECRET)
    body = b'{"hello": "world"}'
    response = post(client, conn, body, **{"X-Hook-Signature": hex_sig(body)})
    assert response.status_code == 400
    assert response.json()["error"] == "not_an_event"
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert event.status == EventStatus.FAILED
    assert "lacks 'id' or 'event'" in event.error
