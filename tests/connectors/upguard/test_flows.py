"""UpGuard's flows end to end against the emulators, with a real worker: vendor contacts -> contacts with their
vendor's labels as tags, risks and breaches -> security tasks completed when UpGuard reports them resolved,
notifications -> audit notes, GHL tags -> the vendor's labels.

The emulator's 60 seeded vendors are read as they are: some have no contacts (their risks cannot be placed and
say so), some have no risks, labels come in mixed case.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync import models as m
from tests.connectors.flows import (
    GhlApi,
    Received,
    app_connection,
    calls,
    ghl_connection,
    limits_off,
    make_sync,
    run,
    spec_checked,
)
from tests.support import wait_until
from tests.sync.world import wait_finished

pytestmark = [pytest.mark.worker]
__all__ = ["spec_checked"]
KEY = {"Authorization": "upguard-sandbox-key"}


def _vendors(sandbox: Any) -> list[dict[str, Any]]:
    r = requests.get(f"{sandbox.url}/upguard/vendors", headers=KEY, timeout=10)
    r.raise_for_status()
    return [
        sandbox.admin("GET", "/upguard/_admin/vendor", params={"hostname": v["primary_hostname"]})
        for v in r.json()["vendors"]
    ]


def _pick(sandbox: Any, *, contacts: int = 1, risks: int = 0) -> dict[str, Any]:
    return next(v for v in _vendors(sandbox) if len(v["contacts"]) >= contacts and len(v["risks"]) >= risks)


def _contact_sync(sandbox: Any) -> tuple[m.Sync, m.Run]:
    sync = make_sync("upguard_vendor_to_ghl_contact", app_connection(sandbox, "upguard"), ghl_connection(sandbox))
    return sync, run(sync)


def _ghl_contact(sync: m.Sync, vendor_contact: dict[str, Any]) -> str:
    return m.RecordLink.objects.get(sync=sync, source_id=str(vendor_contact["id"])).target_id


def test_vendor_contacts_become_contacts_with_the_vendors_labels_and_hostname(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    vendor = next(v for v in _vendors(clean_sandbox) if v["contacts"] and v["labels"])
    sync, first = _contact_sync(clean_sandbox)
    assert first.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), first.error_summary
    for item in first.items.filter(action=m.ItemAction.FAILED):  # messy seeded contacts say why
        assert item.error_class == "MappingError" and item.error_message, item.payload
    assert first.read_count == sum(len(v["contacts"]) for v in _vendors(clean_sandbox))
    contact = GhlApi(clean_sandbox).call("GET", f"/contacts/{_ghl_contact(sync, vendor['contacts'][0])}")["contact"]
    assert set(contact["tags"]) == {t.lower() for t in vendor["labels"]} | {"upguard"}
    assert contact["website"] == vendor["primary_hostname"] and contact["source"] == "UpGuard"


def test_risks_and_breaches_become_security_tasks_completed_when_upguard_reports_them_resolved(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    vendor = _pick(clean_sandbox, risks=2)
    contacts, _ = _contact_sync(clean_sandbox)
    first_contact = min(vendor["contacts"], key=lambda c: c["id"])
    contact_id = _ghl_contact(contacts, first_contact)
    tasks = make_sync("upguard_risk_to_ghl_task", contacts.source_connection, contacts.target_connection)
    first = run(tasks)
    assert first.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), first.error_summary
    for item in first.items.filter(action=m.ItemAction.FAILED):
        assert item.error_class == "ParentNotLinked"  # a vendor without contacts: its risks say so
    api = GhlApi(clean_sandbox)
    in_ghl = {t["title"]: t for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    for risk in vendor["risks"]:
        title = f"[{risk['severity']}] {risk['finding']} ({vendor['name']})"
        assert title in in_ghl and not in_ghl[title]["completed"]
        assert risk["description"] in in_ghl[title]["body"] and risk["remediation"] in in_ghl[title]["body"]
    assert calls(first, "POST", "/contacts/{contactId}/tasks") == first.created_count
    # One task per risk, never one task for several (risks used to be adopted by an equal title: 85 became 4).
    created = first.items.filter(action=m.ItemAction.CREATED)
    assert len({i.target_id for i in created}) == len({i.source_id for i in created}) == first.created_count
    mine = created.filter(source_id__startswith=f"{vendor['id']}:")
    assert sorted(i.source_id for i in mine) == sorted(f"{vendor['id']}:{r['id']}" for r in vendor["risks"])
    on_contact = {t["id"] for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    assert {i.target_id for i in mine} <= {f"{contact_id}/{t}" for t in on_contact}

    resolved = vendor["risks"][0]
    clean_sandbox.admin(
        "POST", "/upguard/_admin/resolve_risk", json={"vendor_id": vendor["id"], "risk_id": resolved["id"]}
    )
    clean_sandbox.admin(
        "POST",
        "/upguard/_admin/notify",
        json={
            "vendor_id": vendor["id"],
            "type": "IdentityBreachDetected",
            "description": f"A new identity breach affects staff at '{vendor['name']}'",
        },
    )
    received = Received(clean_sandbox)
    second = run(tasks)
    assert (second.updated_count, second.created_count) == (1, 1)
    done = second.items.get(action=m.ItemAction.UPDATED)
    assert done.source_id == f"{vendor['id']}:{resolved['id']}"
    task_id = done.target_id.split("/")[1]
    assert [(e["path"], e["json"]) for e in received.exchanges("PUT", "/completed")] == [
        (f"/contacts/{contact_id}/tasks/{task_id}/completed", {"completed": True})
    ]
    breach = second.items.get(action=m.ItemAction.CREATED)
    assert breach.source_id.startswith("notification:") and breach.target_id.startswith(f"{contact_id}/")
    now = {t["id"]: t for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    assert now[task_id]["completed"] is True
    assert now[breach.target_id.split("/")[1]]["title"].startswith("[high] A new identity breach")
    assert sum(t["completed"] for t in now.values()) == 1
    third = run(tasks)
    assert third.created_count + third.updated_count == 0


def test_notifications_become_an_audit_trail_of_notes(clean_sandbox: Any, celery_worker: Any) -> None:
    limits_off(clean_sandbox)
    vendor = _pick(clean_sandbox)
    contacts, _ = _contact_sync(clean_sandbox)
    contact_id = _ghl_contact(contacts, min(vendor["contacts"], key=lambda c: c["id"]))
    audit = GhlApi(clean_sandbox).call(
        "POST", "/contacts/", {"locationId": clean_sandbox.location_id, "firstName": "UpGuard", "lastName": "Audit"}
    )["contact"]
    for kind in ("VendorScoreDropped", "VendorScoreDropped"):  # the same event twice: two notes, not one
        clean_sandbox.admin(
            "POST",
            "/upguard/_admin/notify",
            json={"vendor_id": vendor["id"], "type": kind, "description": f"The score of '{vendor['name']}' dropped"},
        )
    lonely = clean_sandbox.admin(
        "POST", "/upguard/_admin/notify", json={"type": "ReportReady", "description": "Board report ready"}
    )
    notes = make_sync(
        "upguard_notification_to_ghl_note",
        contacts.source_connection,
        contacts.target_connection,
        ghl_contact_id=audit["id"],
    )
    first = run(notes)
    assert first.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), first.error_summary
    on_vendor = [
        n
        for n in GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]
        if n["body"].startswith(f"The score of '{vendor['name']}' dropped")
    ]
    assert len(on_vendor) == 2 and all("(VendorScoreDropped, " in n["body"] for n in on_vendor)
    assert first.items.get(source_id=lonely["notification_id"]).target_id.startswith(f"{audit['id']}/")
    assert calls(first, "POST", "/contacts/{contactId}/notes") == first.created_count
    assert run(notes).created_count == 0


def test_ghl_tags_are_added_to_the_vendors_labels_and_never_remove_one(clean_sandbox: Any, celery_worker: Any) -> None:
    limits_off(clean_sandbox)
    vendor = _pick(clean_sandbox, contacts=2)
    contacts, _ = _contact_sync(clean_sandbox)
    api = GhlApi(clean_sandbox)
    first_id, second_id = (_ghl_contact(contacts, c) for c in vendor["contacts"][:2])
    api.call("POST", f"/contacts/{first_id}/tags", {"tags": ["gdpr-reviewed"]})
    api.call("POST", f"/contacts/{second_id}/tags", {"tags": ["Payments", "gdpr-reviewed"]})
    labels = make_sync("ghl_tags_to_upguard_vendor_labels", contacts.target_connection, contacts.source_connection)
    first = run(labels)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    # Only the contacts the UpGuard sync made (tagged upguard) are read.
    assert first.read_count == contacts.links.exclude(target_id="").count()
    after = clean_sandbox.admin("GET", "/upguard/_admin/vendor", params={"hostname": vendor["primary_hostname"]})
    assert after["labels"][: len(vendor["labels"])] == vendor["labels"]  # kept, in their order
    assert {"gdpr-reviewed", "payments"} <= {x.lower() for x in after["labels"]}
    assert "upguard" not in {x.lower() for x in after["labels"]}
    assert len({x.lower() for x in after["labels"]}) == len(after["labels"])
    assert calls(first, "PUT", "/vendor/labels", provider="upguard") >= 1
    again = run(labels)
    assert again.created_count + again.updated_count == 0
    assert calls(again, "PUT", "/vendor/labels", provider="upguard") == 0


def test_a_webhook_registered_with_upguard_starts_the_audit_note_sync_and_a_forged_one_is_refused(
    clean_sandbox: Any, celery_worker: Any, live_server: Any
) -> None:
    from contacts_sync.services.app_webhooks import app_webhook_register

    limits_off(clean_sandbox)
    vendor = _pick(clean_sandbox)
    contacts, _ = _contact_sync(clean_sandbox)
    contact_id = _ghl_contact(contacts, min(vendor["contacts"], key=lambda c: c["id"]))
    notes = make_sync("upguard_notification_to_ghl_note", contacts.source_connection, contacts.target_connection)
    assert notes.webhook_trigger
    upguard = contacts.source_connection
    url = f"{live_server.url}/webhooks/{upguard.webhook_token}/"
    state = app_webhook_register(connection_id=upguard.pk, target_url=url)
    assert state["status"] == "active", state
    upguard.refresh_from_db()
    assert len(upguard.secrets["webhook_secret"]) == 64
    hooks = requests.get(f"{clean_sandbox.url}/upguard/webhooks", headers=KEY, timeout=10).json()["webhooks"]
    assert [h["url"] for h in hooks] == [url] and "secret" not in hooks[0]

    forged = requests.post(
        url,
        data=b'{"type": "VendorScoreDropped"}',
        timeout=10,
        headers={"Content-Type": "application/json", "X-Webhook-Signature": "00" * 32},
    )
    assert forged.status_code == 404 and not m.InboundEvent.objects.filter(provider="upguard").exists()

    text = f"The score of vendor '{vendor['name']}' dropped below 600 (webhook)"
    clean_sandbox.admin(
        "POST",
        "/upguard/_admin/notify",
        json={"vendor_id": vendor["id"], "type": "VendorScoreDropped", "description": text},
    )

    def noted() -> bool:
        bodies = [n["body"] for n in GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]]
        return any(b.startswith(text) for b in bodies)

    wait_until(noted, timeout=60, interval=0.5, what="the webhook's notification as a note")
    event = m.InboundEvent.objects.get(provider="upguard")
    assert (event.event_type, event.connection_id) == ("VendorScoreDropped", upguard.pk)
    wait_until(
        lambda: m.InboundEvent.objects.get(pk=event.pk).status == m.EventStatus.PROCESSED,
        timeout=30,
        what="the event to be processed",
    )
    by_webhook = wait_finished(notes.runs.get(trigger=m.RunTrigger.WEBHOOK))
    assert by_webhook.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), by_webhook.error_summary
    mine = [
        i
        for i in by_webhook.items.filter(action=m.ItemAction.CREATED)
        if str(i.payload.get("body", "")).startswith(text)
    ]
    assert len(mine) == 1 and mine[0].target_id.startswith(f"{contact_id}/")
