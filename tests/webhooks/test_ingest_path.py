"""The GHL webhook's hot path: the INSERT is its own connection check, the drain kick leaves the request."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest
from django.db import connection

from contacts_sync.models import EventStatus, InboundEvent
from contacts_sync.services.inbox_kick import DRAIN_KICK_KEY
from tests.webhooks.signing import ghl_body, sign_ed25519

pytestmark = [pytest.mark.usefixtures("ghl_keys", "transactional_db")]
URL = "/webhooks/ghl/"


def post(client: Any, body: bytes) -> Any:
    return client.post(URL, data=body, content_type="application/json", headers={"x-ghl-signature": sign_ed25519(body)})


def test_a_webhook_arriving_on_a_connection_the_server_dropped_is_stored_on_a_new_one(client: Any) -> None:
    """No SELECT 1 before each webhook (Django's CONN_HEALTH_CHECKS): the INSERT finds the dead connection and is
    sent once more on a new one."""
    assert post(client, ghl_body()).status_code == 200
    dropped = connection.connection.info.backend_pid
    with pytest.raises(psycopg.OperationalError):  # as a server restart or an idle-session timeout would
        connection.connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    body = ghl_body()
    response = post(client, body)
    assert (response.status_code, response.json()["status"]) == (200, "accepted")
    event = InboundEvent.objects.get(event_id=json.loads(body)["webhookId"])
    assert event.status == EventStatus.PENDING
    assert connection.connection.info.backend_pid != dropped


def _kicked(redis_client: Any, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if redis_client.exists(DRAIN_KICK_KEY):
            return True
        time.sleep(0.02)
    return False


def test_stored_events_kick_the_drain_and_the_first_event_after_a_drain_started_kicks_again(
    client: Any, redis_client: Any
) -> None:
    redis_client.delete(DRAIN_KICK_KEY)
    assert post(client, ghl_body()).status_code == 200
    assert _kicked(redis_client)
    redis_client.delete(DRAIN_KICK_KEY)  # what the drain does when it starts
    assert post(client, ghl_body()).status_code == 200
    assert _kicked(redis_client)


def test_a_refused_webhook_kicks_nothing(client: Any, redis_client: Any) -> None:
    redis_client.delete(DRAIN_KICK_KEY)
    body = ghl_body()
    response = client.post(
        URL, data=body, content_type="application/json", headers={"x-ghl-signature": sign_ed25519(body + b" ")}
    )
    assert response.status_code == 401
    assert not _kicked(redis_client, within=0.5)
