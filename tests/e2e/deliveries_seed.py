"""A "GHL changes -> your app" sync with a delivery log to look at: delivered, retried, refused, held and invalid
deliveries, each with its attempts (no worker: the rows a worker would have written)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import outbox
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory

ROWS = [  # (type, status, [(code, latency ms, error)], next try in s)
    ("contact.created", "delivered", [(200, 84, "")], None),
    ("contact.updated", "delivered", [(500, 1203, "HTTP 500: upstream busy"), (200, 95, "")], None),
    (
        "task.created",
        "retrying",
        [(503, 15003, "HTTP 503: maintenance"), (None, 15000, "ReadTimeout: read timed out")],
        290,
    ),
    ("note.created", "failed", [(422, 41, 'HTTP 422: {"error":"unknown contact"}')], None),
    ("appointment.created", "held", [], None),
    ("note.deleted", "invalid", [], None),
]


def delivery_sync(**endpoint: Any) -> tuple[m.Sync, m.WebhookEndpoint, outbox.EndpointSecrets]:
    ghl = ConnectionFactory(name="Main location")
    app = ConnectionFactory(
        name="Acme CRM",
        provider="custom",
        auth_kind="webhook_secret",
        external_account_id="",
        base_url="http://127.0.0.1:9/custom",
        secrets={"api_token": "t"},
    )
    sync = sync_create_from_recipe(
        recipe=outbox.OUTBOX_RECIPE,
        name="GHL changes to Acme CRM",
        source_connection=ghl,
        target_connection=app,
        live=True,
    )
    ep, secrets = outbox.endpoint_create(sync=sync, url="http://127.0.0.1:9/hooks/receive")
    if endpoint:
        m.WebhookEndpoint.objects.filter(pk=ep.pk).update(**endpoint)
        ep.refresh_from_db()
    return sync, ep, secrets


def seed_deliveries(ep: m.WebhookEndpoint, rows: list[tuple[Any, ...]] = ROWS) -> list[m.WebhookDelivery]:
    now, made = timezone.now(), []
    for n, (kind, status, attempts, next_in) in enumerate(rows):
        msg_id = f"msg_{n:02d}{'0' * 28}"
        body = json.dumps({"id": msg_id, "type": kind, "timestamp": now.isoformat(), "data": {"id": f"rec{n}"}})
        d = m.WebhookDelivery.objects.create(
            endpoint=ep,
            event_key=f"evt-{ep.pk}-{n}",
            msg_id=msg_id,
            event_type=kind,
            body=body,
            status=status,
            attempts=len(attempts),
            last_error=attempts[-1][2]
            if attempts
            else ("the GHL NoteDelete event carries no record id" if status == "invalid" else ""),
            next_attempt_at=now + timedelta(seconds=next_in) if next_in else None,
        )
        for i, (code, ms, error) in enumerate(attempts, start=1):
            m.WebhookAttempt.objects.create(delivery=d, number=i, status_code=code, latency_ms=ms, error=error)
        made.append(d)
    return made
