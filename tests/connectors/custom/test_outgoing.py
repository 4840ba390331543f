"""GHL changes -> your app, end to end with real parts: a person changes contacts, tasks, notes and appointments in
GHL (the emulator's API and admin endpoints), the emulator signs and delivers GHL's webhooks to the running service,
a real Celery worker puts each event in the outbox and sends it as a Standard Webhook to the custom-app emulator's
receiver, which checks the signature and records what arrived. What it recorded is compared with the delivery log;
the changes feed is paged over HTTP with its bearer token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from contacts_sync import models as m
from contacts_sync.services import outbox
from tests.connectors.flows import GhlApi, app_connection, ghl_connection, limits_off, make_sync
from tests.support import wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.worker]


class Hooks:
    """One 'GHL changes -> your app' sync with its endpoint at the custom emulator's receiver."""

    def __init__(self, sandbox: Any, live_server: Any) -> None:
        self.sandbox, self.live = sandbox, live_server
        self.api = GhlApi(sandbox)
        self.sync = make_sync("ghl_changes_to_custom_app", ghl_connection(sandbox), app_connection(sandbox, "custom"))
        self.endpoint, self.secrets = outbox.endpoint_create(sync=self.sync, url=f"{sandbox.url}/custom/hooks/receive")
        self.receiver(secret=self.secrets.signing_secret)
        sandbox.admin(
            "POST",
            "/ghl/_admin/webhooks",
            json={"locationId": sandbox.location_id, "url": f"{live_server.url}/webhooks/ghl/"},
        )

    def receiver(self, **config: Any) -> None:
        self.sandbox.admin("POST", "/custom/hooks/config", json=config)

    def received(self) -> list[dict[str, Any]]:
        return list(self.sandbox.admin("GET", "/custom/hooks/received")["received"])

    def wait_received(self, n: int, timeout: float = 60) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.received()) >= n, timeout=timeout, interval=0.2, what=f"{n} webhooks received")
        return self.received()

    def deliveries(self) -> list[m.WebhookDelivery]:
        return list(m.WebhookDelivery.objects.filter(endpoint=self.endpoint).order_by("pk"))

    def contact(self, **fields: Any) -> dict[str, Any]:
        body = {"locationId": self.sandbox.location_id, **fields}
        return dict(self.api.call("POST", "/contacts/", body)["contact"])

    def feed(self, token: str | None = None, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.live.url}/api/v1/changes/",
            params=params,
            timeout=10,
            headers={"Authorization": f"Bearer {token or self.secrets.feed_token}"},
        )


@pytest.fixture
def hooks(clean_sandbox: Any, live_server: Any, settings: Any, celery_worker: Any) -> Iterator[Hooks]:
    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{clean_sandbox.ghl_url}/_admin/public-key", timeout=10).text
    limits_off(clean_sandbox)
    yield Hooks(clean_sandbox, live_server)
    clean_sandbox.admin("POST", "/ghl/_admin/webhooks", json={"locationId": clean_sandbox.location_id, "url": ""})


def _changes(h: Hooks) -> list[str]:
    """A person's changes in GHL, each waited for at the app before the next: the order the app must see."""
    due = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    steps: list[tuple[str, Any]] = []
    ada: dict[str, Any] = {}

    def create() -> None:
        ada.update(h.contact(firstName="Ada", email="ADA.Lovelace@Example.COM", tags=["vip"]))

    steps.append(("contact.created", create))
    steps.append(("contact.updated", lambda: h.api.call("PUT", f"/contacts/{ada['id']}", {"lastName": "Lovelace"})))
    for _ in range(2):  # two tasks with the same title: two events, two distinct task ids
        steps.append(
            (
                "task.created",
                lambda: h.api.call(
                    "POST", f"/contacts/{ada['id']}/tasks", {"title": "Call back", "dueDate": due, "completed": False}
                ),
            )
        )
    note: dict[str, Any] = {}
    steps.append(
        (
            "note.created",
            lambda: note.update(
                h.api.call("POST", f"/contacts/{ada['id']}/notes", {"body": "Long note " + "x" * 8000})["note"]
            ),
        )
    )
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
    steps.append(
        (
            "appointment.created",
            lambda: h.sandbox.admin(
                "POST",
                "/ghl/_admin/appointments",
                json={
                    "locationId": h.sandbox.location_id,
                    "contactId": ada["id"],
                    "title": "Beratung",
                    "startTime": start,
                },
            ),
        )
    )
    steps.append(("note.deleted", lambda: h.api.call("DELETE", f"/contacts/{ada['id']}/notes/{note['id']}")))
    for n, (_, step) in enumerate(steps, start=1):
        step()
        h.wait_received(n)
    return [kind for kind, _ in steps]


def test_ghl_changes_reach_the_app_signed_in_order_once_and_match_the_delivery_log(hooks: Hooks) -> None:
    expected = _changes(hooks)
    # the app has answered; the worker records the answer right after: wait for the log to say so
    wait_until(
        lambda: (
            not m.WebhookDelivery.objects.filter(endpoint=hooks.endpoint)
            .exclude(status=m.DeliveryStatus.DELIVERED)
            .exists()
        ),
        timeout=20,
        what="every delivery logged as delivered",
    )
    received = hooks.received()
    assert [r["json"]["type"] for r in received] == expected
    assert all(r["signature_valid"] and r["answered"] == 200 for r in received)
    ids = [r["webhook_id"] for r in received]
    assert len(set(ids)) == len(ids)  # each change once
    deliveries = hooks.deliveries()
    assert [d.msg_id for d in deliveries] == ids  # the delivery log, in the same order
    for got, delivery in zip(received, deliveries, strict=True):
        assert got["json"] == json.loads(delivery.body) and got["json"]["id"] == delivery.msg_id
        assert delivery.status == m.DeliveryStatus.DELIVERED and delivery.attempts == 1
        assert [(a.number, a.status_code, a.replay) for a in delivery.attempt_log.all()] == [(1, 200, False)]
    first = received[0]["json"]
    assert first["ghl"]["event"] == "ContactCreate" and first["ghl"]["location_id"] == hooks.sandbox.location_id
    assert first["data"]["email"] == "ADA.Lovelace@Example.COM" and first["data"]["tags"] == ["vip"]  # as GHL has it
    task_ids = [r["json"]["data"]["id"] for r in received if r["json"]["type"] == "task.created"]
    assert len(set(task_ids)) == 2 and all(r["json"]["data"]["title"] == "Call back" for r in received[2:4])
    assert len(received[4]["json"]["data"]["body"]) == len("Long note ") + 8000
    assert received[6]["json"]["data"]["id"] == received[4]["json"]["data"]["id"]  # the deleted note
    events = m.InboundEvent.objects.filter(account_id=hooks.sandbox.location_id)
    assert events.count() == len(expected) and not events.exclude(status=m.EventStatus.PROCESSED).exists()
    hooks.sync.refresh_from_db()
    assert hooks.sync.health == m.SyncHealth.HEALTHY and not m.Run.objects.filter(sync=hooks.sync).exists()

    # The changes feed: the same bodies, in order, three at a time.
    pages, cursor = [], ""
    while True:
        r = hooks.feed(limit=3, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json()["next_cursor"]
        if not r.json()["has_more"]:
            break
    assert [len(p["data"]) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p["data"]] == [r["json"] for r in received]
    again = hooks.feed(cursor=cursor).json()
    assert again == {"data": [], "next_cursor": cursor, "has_more": False}  # caught up: the cursor stays


def test_the_changes_feed_refuses_unknown_tokens_and_unreadable_cursors(hooks: Hooks) -> None:
    assert hooks.feed(token="cfeed_not-a-token").status_code == 401
    assert requests.get(f"{hooks.live.url}/api/v1/changes/", timeout=10).status_code == 401
    bad = hooks.feed(cursor="not-ours!")
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
    assert hooks.feed(limit=0).status_code == 400 and hooks.feed(limit="ten").status_code == 400
    assert hooks.feed().json() == {"data": [], "next_cursor": hooks.feed().json()["next_cursor"], "has_more": False}


def test_a_500_is_retried_after_the_apps_retry_after_and_delivered_once(hooks: Hooks) -> None:
    hooks.receiver(secret=hooks.secrets.signing_secret, fail=[500], retry_after="7")
    hooks.contact(firstName="Retry", email="retry@example.com")
    first, second = hooks.wait_received(2, timeout=60)
    assert (first["answered"], second["answered"]) == (500, 200)
    assert first["webhook_id"] == second["webhook_id"] and first["json"] == second["json"]
    assert first["signature_valid"] and second["signature_valid"]
    assert second["at"] - first["at"] >= 7  # Retry-After (7 s) outranks the schedule's first wait (5 s +-20 %)
    (delivery,) = hooks.deliveries()
    wait_until(
        lambda: m.WebhookDelivery.objects.get(pk=delivery.pk).status == m.DeliveryStatus.DELIVERED,
        timeout=10,
        what="delivered",
    )
    log = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, 200)]
    assert "HTTP 500" in log[0].error and log[1].error == ""
    assert len(hooks.received()) == 2  # no third copy


def test_a_410_disables_the_endpoint_with_one_alert_holds_later_changes_and_re_enabling_sends_them(
    hooks: Hooks, admin_user: Any
) -> None:
    hooks.receiver(secret=hooks.secrets.signing_secret, always=410)
    hooks.contact(firstName="Gone", email="gone@example.com")
    hooks.wait_received(1)
    wait_until(lambda: m.Alert.objects.filter(sync=hooks.sync).exists(), timeout=30, what="an alert")
    hooks.endpoint.refresh_from_db()
    hooks.sync.refresh_from_db()
    assert not hooks.endpoint.enabled and "410" in hooks.endpoint.disabled_reason
    assert hooks.sync.health == m.SyncHealth.FAILING
    hooks.contact(firstName="Later", email="later@example.com")  # arrives while disabled: held, not sent
    wait_until(lambda: len(hooks.deliveries()) == 2, timeout=30, what="the second event in the outbox")
    assert [d.status for d in hooks.deliveries()] == [m.DeliveryStatus.FAILED, m.DeliveryStatus.HELD]
    assert len(hooks.received()) == 1
    assert m.Alert.objects.filter(sync=hooks.sync).count() == 1
    assert m.StatusChange.objects.filter(sync=hooks.sync, new_status=m.SyncHealth.FAILING).count() == 1

    hooks.receiver(secret=hooks.secrets.signing_secret)  # the app is back
    assert outbox.endpoint_enable(endpoint=hooks.endpoint, user=admin_user) == 1
    got = hooks.wait_received(2)
    assert got[1]["answered"] == 200 and got[1]["json"]["data"]["first_name"] == "Later"
    hooks.sync.refresh_from_db()
    assert hooks.sync.health == m.SyncHealth.HEALTHY
    assert m.AuditEntry.objects.filter(action="webhook_endpoint.enable", actor=admin_user).count() == 1


def test_permanent_refusals_in_a_row_disable_the_endpoint(hooks: Hooks) -> None:
    hooks.receiver(secret=hooks.secrets.signing_secret, always=422)
    for n in range(outbox.DISABLE_AFTER):
        hooks.contact(firstName=f"Bad{n}", email=f"bad{n}@example.com")
        hooks.wait_received(n + 1)
    wait_until(
        lambda: not m.WebhookEndpoint.objects.get(pk=hooks.endpoint.pk).enabled,
        timeout=20,
        what="the endpoint disabled",
    )
    assert [d.status for d in hooks.deliveries()] == [m.DeliveryStatus.FAILED] * outbox.DISABLE_AFTER
    assert all(d.attempts == 1 for d in hooks.deliveries())  # a 422 is never retried


def test_an_admin_replays_one_delivery_with_the_same_webhook_id_and_it_is_audited(
    hooks: Hooks, admin_user: Any
) -> None:
    hooks.contact(firstName="Replay", email="replay@example.com")
    (original,) = hooks.wait_received(1)
    (delivery,) = hooks.deliveries()
    outbox.delivery_replay_request(delivery=delivery, user=admin_user)
    _, again = hooks.wait_received(2)
    assert again["webhook_id"] == original["webhook_id"] and again["json"] == original["json"]
    assert again["signature_valid"] and again["answered"] == 200
    wait_until(lambda: delivery.attempt_log.count() == 2, timeout=10, what="the replay logged")
    assert [(a.number, a.replay) for a in delivery.attempt_log.order_by("number")] == [(1, False), (2, True)]
    entry = m.AuditEntry.objects.get(action="webhook_delivery.replay")
    assert entry.actor == admin_user and entry.object_id == str(delivery.pk)
