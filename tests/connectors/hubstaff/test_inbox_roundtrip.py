"""The Hubstaff connector with a real Connection row: the database token store, and the webhook inbox.

Hubstaff emulator (sandbox process) -> our Django app (live_server) -> InboundEvent, all over real HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync.models import AuthKind, Connection, InboundEvent, Provider
from contacts_sync.services import inbox
from contacts_sync.services.credentials import connector_for
from tests.connectors.conftest import HUBSTAFF_ORG, HubstaffBox
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def hubstaff_connection(box: HubstaffBox) -> Connection:
    return Connection.objects.create(
        name="Hubstaff (test)",
        provider=Provider.HUBSTAFF,
        auth_kind=AuthKind.OAUTH2,
        external_account_id=HUBSTAFF_ORG,
        base_url=box.url,
        secrets={"refresh_token": box.new_pat()},
    )


def test_the_rotated_refresh_token_is_saved_on_the_connection(hubstaff: HubstaffBox) -> None:
    conn = hubstaff_connection(hubstaff)
    pat = conn.secrets["refresh_token"]
    assert connector_for(conn).test().startswith("Hubstaff organization Sandbox Org 1001")
    conn.refresh_from_db()
    assert conn.secrets["refresh_token"] != pat
    assert conn.secrets["access_token"]
    assert conn.token_expires_at is not None
    # A second connector (another worker) reuses the saved access token: no new exchange.
    before = hubstaff.stats()["token_exchanges"]
    connector_for(conn).test()
    assert hubstaff.stats()["token_exchanges"] == before


def test_a_webhook_registered_through_the_connector_lands_in_the_inbox(hubstaff: HubstaffBox, live_server: Any) -> None:
    conn = hubstaff_connection(hubstaff)
    connector = connector_for(conn)
    # The handshake is taken only with the single-use nonce of a registration we started (services/app_webhooks).
    nonce = inbox.handshake_nonce_issue(connection_id=conn.pk)
    hook = connector.create_webhook(
        target_url=f"{live_server.url}/webhooks/{conn.webhook_token}/?handshake={nonce}", events=["client.create"]
    )

    def secret() -> str:
        conn.refresh_from_db()
        return str(conn.secrets.get("webhook_secret") or "")

    wait_until(secret, timeout=15, what="the inbox to keep the X-Hook-Secret")
    wait_until(
        lambda: connector.client.get_webhook(hook["id"])["status"] == "verified",
        timeout=10,
        what="the emulator to see the echo",
    )
    assert connector.activate_webhook(hook["id"], secret())["status"] == "active"

    client = connector.client.create_client(HUBSTAFF_ORG, {"name": "Inbox Roundtrip GmbH"})
    event = wait_until(
        lambda: InboundEvent.objects.filter(connection=conn, event_type="client.create").first(),
        timeout=15,
        what="the signed client.create event to be stored",
    )
    assert str(client["id"]) in event.body
