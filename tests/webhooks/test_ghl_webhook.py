"""POST /webhooks/ghl/: signatures over the raw body, freshness, dedupe, storage, fast hand-off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contacts_sync.connectors.ghl import webhooks as ghl_webhooks
from contacts_sync.models import EventStatus, InboundEvent
from tests.factories import ConnectionFactory
from tests.webhooks.signing import ghl_body, public_pem, sign_ed25519, sign_rsa

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ghl_keys")]
URL = "/webhooks/ghl/"


def post(client: Any, body: bytes, **headers: str) -> Any:
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_it_accepts_a_webhook_signed_with_ed25519_and_stores_it_without_the_signature(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conn = ConnectionFactory(external_account_id="loc-42")
    body = ghl_body(location_id="loc-42")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    event = InboundEvent.objects.get()
    assert event.provider == "ghl"
    assert event.event_id == json.loads(body)["webhookId"]
    assert event.event_type == "ContactUpdate"
    assert event.account_id == "loc-42"
    assert event.connection == conn
    assert event.status == EventStatus.PENDING
    assert event.body == body.decode()
    assert "x-ghl-signature" not in event.headers
    assert event.headers["x-signature-scheme"] == "ed25519"
    assert len(callbacks) == 1  # the processing task is enqueued once, after the commit


def test_it_rejects_a_body_changed_after_signing(client: Any) -> None:
    body = ghl_body()
    tampered = body.replace(b"Ada", b"Eve")
    response = post(client, tampered, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert not InboundEvent.objects.exists()


def test_it_rejects_a_signature_made_with_another_key(client: Any) -> None:
    body = ghl_body()
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body, Ed25519PrivateKey.generate())})
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_it_rejects_a_webhook_without_any_signature(client: Any) -> None:
    response = post(client, ghl_body())
    assert response.status_code == 401
    assert response.json()["error"] == "missing_signature"
    assert not InboundEvent.objects.exists()


def test_it_rejects_a_signature_that_is_not_base64(client: Any) -> None:
    response = post(client, ghl_body(), **{"x-ghl-signature": "not base64 at all!"})
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"


def test_it_accepts_the_legacy_rsa_signature_when_the_ed25519_header_is_absent(client: Any) -> None:
    body = ghl_body()
    response = post(client, body, **{"x-wh-signature": sign_rsa(body)})
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.headers["x-signature-scheme"] == "rsa"
    assert "x-wh-signature" not in event.headers


def test_it_checks_only_ed25519_when_both_headers_are_present(client: Any) -> None:
    """GHL's SDK falls back to x-wh-signature only when x-ghl-signature is absent: a bad Ed25519 is final."""
    body = ghl_body()
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(b"other"), "x-wh-signature": sign_rsa(body)})
    assert response.status_code == 401


def test_it_rejects_a_bad_legacy_rsa_signature(client: Any) -> None:
    body = ghl_body()
    response = post(client, body, **{"x-wh-signature": sign_rsa(b"something else")})
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6), timedelta(days=2)])
def test_it_rejects_a_stale_or_future_timestamp_with_a_clear_400(client: Any, age: timedelta) -> None:
    stamp = (datetime.now(UTC) - age).isoformat()
    body = ghl_body(timestamp=stamp)
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 400
    assert response.json()["error"] == "stale_timestamp"
    assert "5 minutes" in response.json()["detail"]
    assert not InboundEvent.objects.exists()


def test_it_accepts_a_timestamp_in_epoch_milliseconds(client: Any) -> None:
    body = ghl_body(timestamp=int(datetime.now(UTC).timestamp() * 1000))
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 200


@pytest.mark.parametrize("stamp", ["yesterday-ish", "2026-02-31T10:00:00Z", 10**30, None])
def test_it_rejects_a_timestamp_that_is_not_a_date(client: Any, stamp: Any) -> None:
    body = ghl_body(timestamp=stamp)
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_timestamp"


@pytest.mark.parametrize("raw", [b'{"type": "ContactUpdate", "locationId": ', b"[1, 2, 3]", b"\xff\xfe not utf-8"])
def test_it_answers_400_to_signed_malformed_json_but_keeps_the_body_as_a_failed_event(client: Any, raw: bytes) -> None:
    response = post(client, raw, **{"x-ghl-signature": sign_ed25519(raw)})
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "malformed_json"
    event = InboundEvent.objects.get(pk=payload["event"])
    assert event.status == EventStatus.FAILED
    assert event.error
    assert event.body  # nothing is lost, even undecodable bytes (kept as \xNN escapes)


def test_it_never_stores_unsigned_malformed_json(client: Any) -> None:
    response = post(client, b"{not json")
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_replayed_webhook_answers_duplicate_and_changes_nothing(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = ghl_body()
    signature = sign_ed25519(body)
    first = post(client, body, **{"x-ghl-signature": signature})
    event = InboundEvent.objects.get()
    InboundEvent.objects.filter(pk=event.pk).update(status=EventStatus.PROCESSED, error="done")
    with django_capture_on_commit_callbacks() as callbacks:
        replies = [post(client, body, **{"x-ghl-signature": signature}) for _ in range(4)]
    assert first.json()["status"] == "accepted"
    assert [r.status_code for r in replies] == [200] * 4
    assert {r.json()["status"] for r in replies} == {"duplicate"}
    assert {r.json()["event"] for r in replies} == {event.pk}
    assert InboundEvent.objects.count() == 1
    event.refresh_from_db()
    assert (event.status, event.error) == (EventStatus.PROCESSED, "done")
    assert callbacks == []  # no second processing task


def test_a_webhook_without_webhook_id_is_deduplicated_by_its_body(client: Any) -> None:
    payload = json.loads(ghl_body())
    del payload["webhookId"]
    body = json.dumps(payload).encode()
    for _ in range(3):
        assert post(client, body, **{"x-ghl-signature": sign_ed25519(body)}).status_code == 200
    assert InboundEvent.objects.get().event_id.startswith("sha256:")


def test_an_event_for_an_unknown_location_is_stored_without_a_connection(client: Any) -> None:
    body = ghl_body(location_id="nobody-here")
    assert post(client, body, **{"x-ghl-signature": sign_ed25519(body)}).status_code == 200
    assert InboundEvent.objects.get().connection is None


def test_get_is_not_allowed(client: Any) -> None:
    assert client.get(URL).status_code == 405


def test_the_published_key_is_used_when_no_key_is_configured(settings: Any) -> None:
    settings.GHL_WEBHOOK_PUBLIC_KEY = ""
    expected = open(ghl_webhooks.KEYS_DIR / "ghl-webhook-ed25519.pem").read()
    assert public_pem_of(ghl_webhooks.public_key(settings.GHL_WEBHOOK_PUBLIC_KEY)) == expected.strip()


def test_a_key_given_as_the_bare_base64_line_is_accepted(settings: Any) -> None:
    key = Ed25519PrivateKey.generate()
    pem = public_pem(key)
    settings.GHL_WEBHOOK_PUBLIC_KEY = "".join(pem.strip().splitlines()[1:-1])
    body = b'{"type":"x"}'
    assert (
        ghl_webhooks.verify(
            {"x-ghl-signature": sign_ed25519(body, key)}, body, ed25519_pem=settings.GHL_WEBHOOK_PUBLIC_KEY
        )
        == "ed25519"
    )


def public_pem_of(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode().strip()
    )


def test_a_database_that_refuses_writes_gets_429_so_ghl_retries_instead_of_dropping(client: Any) -> None:
    """GHL retries only a 429; any other failure loses the event for good."""
    from django.db import connection

    body = ghl_body()
    with connection.cursor() as cursor:
        cursor.execute("SET transaction_read_only = on")  # a real refusal from PostgreSQL, no mock
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert response.json()["error"] == "busy"
    assert not InboundEvent.objects.exists()


def test_a_stale_replay_of_a_known_webhook_is_a_duplicate_not_an_error(client: Any) -> None:
    body = ghl_body()
    assert post(client, body, **{"x-ghl-signature": sign_ed25519(body)}).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=30)
    from contacts_sync.services import inbox as svc

    received = svc.ghl_webhook_receive(body=body, headers={"x-ghl-signature": sign_ed25519(body)}, now=later)
    assert received.duplicate is True
    assert InboundEvent.objects.count() == 1


def test_nul_characters_in_a_signed_body_are_stored_visibly_not_refused(client: Any) -> None:
    """PostgreSQL text cannot hold NUL; found by the property test (a 429 would make GHL retry forever)."""
    body = ghl_body(location_id="loc\u0000x", webhookId="w\u0000id", type="Contact\u0000Update")
    response = post(client, body, **{"x-ghl-signature": sign_ed25519(body), "x-extra": "a"})
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.account_id, event.event_id, event.event_type) == (
        "loc\\x00x",
        "w\\x00id",
        "Contact\\x00Update",
    )
    assert post(client, body, **{"x-ghl-signature": sign_ed25519(body)}).json()["status"] == "duplicate"
