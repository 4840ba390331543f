"""End to end with real parts: the GHL emulator signs and delivers a webhook to the running service, a real
Celery worker runs the sync, the Hubstaff emulator receives the task. Replaying the delivery changes nothing."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from contacts_sync import models as m
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.support import ROOT, wait_until
from tests.sync.world import HubstaffOrg, connections

pytestmark = pytest.mark.timeout(240)
SANDBOX_PRIVATE_KEY = ROOT / "contacts_sync" / "sandbox" / "keys" / "ghl-webhook-ed25519-private.pem"


def sandbox_sign(body: bytes) -> str:
    """The emulator's own signature (Ed25519 is deterministic), so a replay is byte-for-byte GHL's delivery."""
    key: Any = serialization.load_pem_private_key(SANDBOX_PRIVATE_KEY.read_bytes(), password=None)
    return base64.b64encode(key.sign(body)).decode()


def hubstaff_tasks(org: HubstaffOrg, project_id: int) -> list[dict[str, Any]]:
    r = org.http.get(f"{org.sandbox.url}/hubstaff/v2/projects/{project_id}/tasks", timeout=10)
    r.raise_for_status()
    return r.json()["tasks"]


@pytest.fixture
def critical_sync(sandbox: Any, live_server: Any, settings: Any) -> Any:
    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=10).text
    org = HubstaffOrg(sandbox)
    projects = org.http.get(f"{sandbox.url}/hubstaff/v2/organizations/{org.org_id}/projects", timeout=10)
    project_id = projects.json()["projects"][0]["id"]
    hub, ghl = connections(sandbox, org)
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="critical",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project_id},
        poll_interval_seconds=None,
        webhook_trigger=True,
        live=True,
    )
    sandbox.admin(
        "POST",
        "/ghl/_admin/webhooks",
        json={"locationId": sandbox.location_id, "url": f"{live_server.url}/webhooks/ghl/"},
    )
    yield sync, org, project_id
    sandbox.admin("POST", "/ghl/_admin/webhooks", json={"locationId": sandbox.location_id, "url": ""})


def test_a_webhook_replayed_five_times_produces_one_change(
    critical_sync: Any, sandbox: Any, live_server: Any, celery_worker: Any
) -> None:
    sync, org, project_id = critical_sync
    email = f"crit-{uuid.uuid4().hex[:8]}@example.com"
    created = requests.post(
        f"{sandbox.ghl_url}/contacts/",
        json={
            "locationId": sandbox.location_id,
            "firstName": "Crit",
            "lastName": "Ical",
            "email": email,
            "tags": ["critical"],
        },
        headers={"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"},
        timeout=10,
    )
    created.raise_for_status()
    contact_id = created.json()["contact"]["id"]

    def delivered_event() -> m.InboundEvent | None:
        return m.InboundEvent.objects.filter(provider="ghl", body__contains=contact_id).order_by("pk").first()

    event = wait_until(delivered_event, timeout=30, what="the signed ContactCreate webhook")
    assert isinstance(event, m.InboundEvent)

    def task_created() -> bool:
        return len(hubstaff_tasks(org, project_id)) >= 1

    wait_until(task_created, timeout=90, interval=0.5, what="the Hubstaff task")

    body = event.body.encode()
    signature = sandbox_sign(body)
    replies = [
        requests.post(
            f"{live_server.url}/webhooks/ghl/",
            data=body,
            timeout=10,
            headers={"Content-Type": "application/json", "x-ghl-signature": signature},
        )
        for _ in range(5)
    ]
    assert [r.status_code for r in replies] == [200] * 5
    assert {r.json()["status"] for r in replies} == {"duplicate"}

    time.sleep(3)  # room for anything a replay might (wrongly) have enqueued to reach the worker
    wait_until(
        lambda: not m.Run.objects.filter(sync=sync, status__in=m.ACTIVE_RUN_STATUSES).exists(),
        timeout=60,
        what="no active run",
    )
    tasks = hubstaff_tasks(org, project_id)
    assert len(tasks) == 1, tasks
    assert m.InboundEvent.objects.filter(event_id=event.event_id).count() == 1
    runs = list(m.Run.objects.filter(sync=sync).values_list("pk", "trigger", "event_id", "status", "error_summary"))
    events = list(m.InboundEvent.objects.values_list("pk", "event_type", "status", "error"))
    # the event was taken by exactly one (coalesced) run, and that run is the only one the sync made
    taken = list(m.SyncEvent.objects.filter(event=event).values_list("sync_id", "run_id", "done"))
    assert len(runs) == 1 and taken == [(sync.pk, runs[0][0], True)], (runs, events, taken)
    event.refresh_from_db()
    assert event.status == m.EventStatus.PROCESSED


def test_an_editor_registers_the_hubstaff_webhook_and_its_event_syncs_the_client(
    sandbox: Any, live_server: Any, celery_worker: Any, settings: Any, client: Any, make_user: Any
) -> None:
    """The product path: the sync page's button -> a worker creates the Hubstaff webhook -> Hubstaff's
    X-Hook-Secret handshake reaches the running service -> the worker activates it -> a new client is a contact."""
    from django.urls import reverse

    from tests.sync.world import ghl_contacts

    settings.SITE_URL = live_server.url  # where Hubstaff must post
    org = HubstaffOrg(sandbox)
    hub, ghl = connections(sandbox, org)
    sync = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name="clients",
        source_connection=hub,
        target_connection=ghl,
        poll_interval_seconds=None,
        webhook_trigger=True,
        live=True,
    )
    client.force_login(make_user("Editor"))
    response = client.post(reverse("dashboard:sync_webhook_register", args=[sync.pk]))
    assert response.status_code == 302

    def registered() -> dict[str, Any] | None:
        hub.refresh_from_db()
        state = hub.config.get("webhook") or {}
        return state if state.get("status") not in (None, "registering") else None

    state = wait_until(registered, timeout=90, interval=0.5, what="the registration to finish")
    assert isinstance(state, dict)
    assert state["status"] == "active", state
    assert state["url"] == f"{live_server.url}/webhooks/{hub.webhook_token}/"
    hook = org.http.get(f"{sandbox.url}/hubstaff/v2/webhooks/{state['id']}", timeout=10).json()["webhook"]
    assert hook["status"] == "active"
    # Hubstaff was given the URL with the registration's single-use nonce; it is used up now.
    assert hook["target_url"].startswith(state["url"] + "?handshake=")
    assert "webhook_handshake" not in hub.config
    assert hub.secrets["webhook_secret"]

    org.add_clients(1)
    suffix = f".org{org.org_id}@example.com"
    wait_until(
        lambda: len(ghl_contacts(sandbox, email_suffix=suffix)) == 1,
        timeout=90,
        interval=0.5,
        what="the client as a GHL contact",
    )
    event = m.InboundEvent.objects.get(provider="hubstaff", connection=hub)
    assert event.event_type == "client.create"
    assert m.Run.objects.filter(sync=sync, trigger=m.RunTrigger.WEBHOOK).count() == 1
    wait_until(
        lambda: m.InboundEvent.objects.get(pk=event.pk).status == m.EventStatus.PROCESSED,
        timeout=20,
        what="the event marked processed",
    )
