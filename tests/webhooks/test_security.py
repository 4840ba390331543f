"""Standing security tests of the webhook endpoints.

- Nobody can plant a webhook secret: a Hubstaff handshake is taken only with the single-use, short-lived nonce
  of a registration this service started; forged events signed with a planted secret start nothing.
- Connection ids are not in webhook URLs (a random token per connection); an old /webhooks/<id>/ URL, an unknown
  token and every refusal a caller without the secret can provoke get one and the same 404.
- Requests to one webhook URL are rate-limited (429 + Retry-After), each URL on its own.
- Deeply nested signed JSON is a 400 (kept as a failed event), never a 500.
- A signed GHL event without a timestamp is refused (GHL signs one into every event).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync.models import AuthKind, Connection, EventStatus, InboundEvent, Provider, Run
from tests.factories import ConnectionFactory, SyncFactory
from tests.webhooks.signing import ghl_body, sign_ed25519

pytestmark = pytest.mark.django_db
ATTACKER_SECRET = "attacker-chosen-secret-0123456789"


def hubstaff(**secrets: str) -> Connection:
    return ConnectionFactory(
        provider=Provider.HUBSTAFF,
        auth_kind=AuthKind.API_KEY,
        external_account_id="501",
        secrets={"refresh_token": "pat-123", **secrets},
    )


def hub_event(event: str = "client.create") -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "event": event,
            "created_at": "2026-11-23T02:00:00.000000",
            "payload": {"organization_id": 501, "client_id": 7},
        }
    ).encode()


def hex_sig(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def url_of(conn: Connection) -> str:
    """The connection's webhook URL as the pages show it (the old code had only the id)."""
    token = getattr(conn, "webhook_token", None)
    return f"/webhooks/{token or conn.pk}/"


def post(client: Any, url: str, body: bytes, **headers: str) -> Any:
    return client.post(url, data=body, content_type="application/json", headers=headers)


def answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


# --- the handshake takeover ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url_kind", ["page_url", "old_id_url"])
def test_an_anonymous_handshake_cannot_plant_a_secret_and_forged_events_start_nothing(
    client: Any, django_capture_on_commit_callbacks: Any, url_kind: str
) -> None:
    conn = hubstaff()  # no webhook secret yet: the state the takeover needed
    SyncFactory(source_connection=conn, webhook_trigger=True)
    url = url_of(conn) if url_kind == "page_url" else f"/webhooks/{conn.pk}/"
    taken = post(client, url, b"{}", **{"X-Hook-Secret": ATTACKER_SECRET})
    body = hub_event()
    with django_capture_on_commit_callbacks(execute=True):
        forged = post(client, url, body, **{"X-Hook-Signature": hex_sig(body, ATTACKER_SECRET)})
    assert taken.status_code == 404 and "X-Hook-Secret" not in taken
    assert forged.status_code == 404
    conn.refresh_from_db()
    assert "webhook_secret" not in conn.secrets
    assert not InboundEvent.objects.exists() and not Run.objects.exists()


def test_a_handshake_needs_the_unused_unexpired_nonce_of_our_registration(client: Any) -> None:
    from contacts_sync.services import inbox

    conn = hubstaff()
    nonce = inbox.handshake_nonce_issue(connection_id=conn.pk)
    hs = {"X-Hook-Secret": "secret-from-hubstaff-1"}
    assert post(client, f"{url_of(conn)}", b"{}", **hs).status_code == 404  # no nonce
    assert post(client, f"{url_of(conn)}?handshake=wrong-{nonce}", b"{}", **hs).status_code == 404
    ok = post(client, f"{url_of(conn)}?handshake={nonce}", b"{}", **hs)
    assert ok.status_code == 200 and ok["X-Hook-Secret"] == hs["X-Hook-Secret"]
    # single use: the same nonce cannot replace the secret afterwards
    again = post(client, f"{url_of(conn)}?handshake={nonce}", b"{}", **{"X-Hook-Secret": ATTACKER_SECRET})
    assert again.status_code == 404
    conn.refresh_from_db()
    assert conn.secrets["webhook_secret"] == hs["X-Hook-Secret"]


def test_an_expired_nonce_is_refused(client: Any) -> None:
    from contacts_sync.services import inbox

    conn = hubstaff()
    issued = timezone.now() - timedelta(seconds=inbox.HANDSHAKE_NONCE_TTL_SECONDS + 1)
    nonce = inbox.handshake_nonce_issue(connection_id=conn.pk, now=issued)
    response = post(client, f"{url_of(conn)}?handshake={nonce}", b"{}", **{"X-Hook-Secret": "late"})
    assert response.status_code == 404
    conn.refresh_from_db()
    assert "webhook_secret" not in conn.secrets


# --- unguessable URLs, one answer -------------------------------------------------------------------------------


def test_webhook_urls_carry_a_random_token_not_the_connection_id() -> None:
    a, b = hubstaff(), hubstaff()
    assert url_of(a) != f"/webhooks/{a.pk}/"
    assert len(a.webhook_token) >= 32 and a.webhook_token != b.webhook_token


@pytest.mark.parametrize("kind", ["unsigned", "bad_signature", "handshake", "signed_by_nobody"])
def test_unknown_old_and_known_urls_answer_exactly_the_same(client: Any, kind: str) -> None:
    known = hubstaff(webhook_secret="the-real-secret-0123456789")
    fresh = hubstaff()  # known, but without a secret yet
    body = hub_event()
    headers = {
        "unsigned": {},
        "bad_signature": {"X-Hook-Signature": hex_sig(body, "guess")},
        "handshake": {"X-Hook-Secret": ATTACKER_SECRET},
        "signed_by_nobody": {"X-Hook-Signature": "0" * 64},
    }[kind]
    urls = [
        url_of(known),
        url_of(fresh),
        f"/webhooks/{known.pk}/",
        "/webhooks/999999/",
        f"/webhooks/{uuid.uuid4().hex}/",
    ]
    answers = {json.dumps(answer(post(client, url, body, **headers))) for url in urls}
    assert len(answers) == 1, answers
    status, payload = answer(post(client, "/webhooks/999999/", body, **headers))
    assert status == 404 and payload["error"] == "not_found"
    assert not InboundEvent.objects.exists()


def test_requests_over_the_limit_get_429_per_url(client: Any, monkeypatch: Any) -> None:
    from contacts_sync.services import inbox

    monkeypatch.setattr(inbox, "WEBHOOK_RATE_PER_MINUTE", 3)
    secret = "the-real-secret-0123456789"
    busy, quiet = hubstaff(webhook_secret=secret), hubstaff(webhook_secret=secret)
    statuses = [post(client, url_of(busy), b"{}").status_code for _ in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    limited = post(client, url_of(busy), b"{}")
    assert limited.json()["error"] == "rate_limited" and int(limited["Retry-After"]) == 60
    body = hub_event()
    assert post(client, url_of(quiet), body, **{"X-Hook-Signature": hex_sig(body, secret)}).status_code == 200
    unknown = f"/webhooks/{uuid.uuid4().hex}/"
    assert [post(client, unknown, b"{}").status_code for _ in range(4)][-1] == 429  # the same for unknown URLs


# --- bodies that used to give a 500 or slip through ------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_signed_json_is_400_and_kept_never_a_500(client: Any, depth: int) -> None:
    secret = "the-real-secret-0123456789"
    conn = hubstaff(webhook_secret=secret)
    body = b'{"id": "e1", "event": "client.create", "payload": ' + b"[" * depth + b"]" * depth + b"}"
    response = post(client, url_of(conn), body, **{"X-Hook-Signature": hex_sig(body, secret)})
    assert response.status_code == 400 and "nests deeper" in response.json()["detail"]
    assert InboundEvent.objects.get(pk=response.json()["event"]).status == EventStatus.FAILED


@pytest.mark.usefixtures("ghl_keys")
@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_signed_ghl_json_is_400_never_a_500(client: Any, depth: int) -> None:
    body = ghl_body()[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"
    response = post(client, "/webhooks/ghl/", body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 400 and "nests deeper" in response.json()["detail"]
    assert InboundEvent.objects.get().status == EventStatus.FAILED


@pytest.mark.usefixtures("ghl_keys")
@pytest.mark.parametrize("event_type", ["ContactUpdate", "RecordCreate", "INSTALL"])
def test_a_signed_ghl_event_without_a_timestamp_is_refused(client: Any, event_type: str) -> None:
    payload = json.loads(ghl_body(event_type))
    del payload["timestamp"]
    body = json.dumps(payload).encode()
    response = post(client, "/webhooks/ghl/", body, **{"x-ghl-signature": sign_ed25519(body)})
    assert response.status_code == 400 and response.json()["error"] == "missing_timestamp"
    assert not InboundEvent.objects.exists()


# --- existing connections ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_existing_connection_its_own_token_and_asks_to_register_again() -> None:
    from django.db import connection as db
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(db)
    graph = executor.loader.graph
    [adds] = [k for k in graph.nodes if k[0] == "contacts_sync" and k[1].endswith("_connection_webhook_token")]
    [before] = graph.node_map[adds].parents
    latest = graph.leaf_nodes("contacts_sync")
    try:
        executor.migrate([before.key])
        old = executor.loader.project_state([before.key]).apps.get_model("contacts_sync", "Connection")
        registered = old.objects.create(
            name="hub",
            provider="hubstaff",
            auth_kind="api_key",
            config={"webhook": {"status": "active", "id": "h1", "url": "https://sync.example.com/webhooks/1/"}},
        )
        plain = old.objects.create(name="app", provider="custom", auth_kind="webhook_secret", config={})
        executor = MigrationExecutor(db)
        executor.migrate(latest)
    finally:
        MigrationExecutor(db).migrate(latest)
    rows = {c.pk: c for c in Connection.objects.filter(pk__in=[registered.pk, plain.pk])}
    tokens = {c.webhook_token for c in rows.values()}
    assert len(tokens) == 2 and all(len(t) >= 32 for t in tokens)
    hook = rows[registered.pk].config["webhook"]
    assert hook["status"] == "error" and "register again" in hook["error"] and hook["id"] == "h1"
    assert rows[plain.pk].config == {}
    assert len(Connection(name="new").webhook_token) >= 32  # new rows get one from the model default
