"""Changes to GHL records over raw HTTP and their webhooks: deletes through the API, changes a user makes in GHL's
own UI (admin endpoints), a deleted contact staying deleted, and the drop_field fault for verified delivery."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.sandbox.ghl_support import Loc, Receiver, receiver, spec_conformance
from tests.sandbox_fixture import Sandbox

__all__ = ["receiver", "spec_conformance"]  # fixtures used by this module

DUE = "2026-12-01T09:00:00.000Z"


def test_changes_made_in_ghls_ui_send_the_documented_signed_webhooks(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    c = loc.contact(email="ui@example.com", firstName="Uwe")
    cid, at = c["id"], {"locationId": loc.id, "contactId": c["id"]}
    receiver.payloads(1)  # API webhooks follow the answer, admin ones precede it: wait, then order is fixed
    task = sandbox.admin("POST", "/ghl/_admin/tasks", json={**at, "title": "Call back", "dueDate": DUE})["task"]
    edited = sandbox.admin("PUT", "/ghl/_admin/tasks", json={**at, "id": task["id"], "title": "Call back today"})
    assert edited["webhooks"] == []  # GHL has no TaskUpdate webhook
    sandbox.admin("PUT", "/ghl/_admin/tasks", json={**at, "id": task["id"], "completed": True})
    sandbox.admin("DELETE", "/ghl/_admin/tasks", params={**at, "id": task["id"]})
    note = sandbox.admin("POST", "/ghl/_admin/notes", json={**at, "body": "Rückruf erbeten"})["note"]
    sandbox.admin("PUT", "/ghl/_admin/notes", json={**at, "id": note["id"], "body": "Erledigt"})
    sandbox.admin("DELETE", "/ghl/_admin/notes", params={**at, "id": note["id"]})
    appt = sandbox.admin("POST", "/ghl/_admin/appointments", json={**at, "title": "Intro"})["appointment"]
    moved = {"startTime": "2027-01-04T10:00:00.000Z", "endTime": "2027-01-04T10:30:00.000Z"}
    sandbox.admin("PUT", "/ghl/_admin/appointments", json={"locationId": loc.id, "id": appt["id"], **moved})
    sandbox.admin("DELETE", "/ghl/_admin/appointments", params={"locationId": loc.id, "id": appt["id"]})
    sandbox.admin("PUT", "/ghl/_admin/contacts", json={"locationId": loc.id, "id": cid, "companyName": "Acme"})
    sandbox.admin("DELETE", "/ghl/_admin/contacts", params={"locationId": loc.id, "id": cid})
    expected = [
        "ContactCreate",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
        "ContactUpdate",
        "ContactDelete",
    ]
    payloads = receiver.payloads(len(expected))  # every signature verified
    assert [p["type"] for p in payloads] == expected
    by_type = {p["type"]: p for p in payloads}
    complete = by_type["TaskComplete"]
    assert (complete["id"], complete["contactId"], complete["title"], complete["completed"]) == (
        task["id"],
        cid,
        "Call back today",
        True,
    )
    assert by_type["NoteUpdate"]["body"] == "Erledigt" and by_type["NoteDelete"]["id"] == note["id"]
    assert by_type["AppointmentUpdate"]["appointment"]["startTime"] == moved["startTime"]
    assert by_type["AppointmentDelete"]["appointment"]["id"] == appt["id"]
    assert by_type["ContactUpdate"]["companyName"] == "Acme"
    assert by_type["ContactDelete"]["email"] == "ui@example.com"
    assert all(p["locationId"] == loc.id and p["webhookId"] and p["timestamp"] for p in payloads)
    assert loc.call("GET", f"/contacts/{cid}").status_code == 400


def test_the_ui_admin_endpoints_refuse_unknown_records_with_a_clear_400(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    c = loc.contact(email="known@example.com")
    cases = [
        ("POST", "tasks", {"locationId": "nope", "contactId": c["id"], "title": "x"}, "unknown locationId"),
        ("POST", "tasks", {"locationId": loc.id, "contactId": "nope", "title": "x"}, "Contact with id nope"),
        ("PUT", "tasks", {"locationId": loc.id, "contactId": c["id"], "id": "nope"}, "Task with id nope"),
        ("PUT", "notes", {"locationId": loc.id, "contactId": c["id"], "id": "nope"}, "Note with id nope"),
        ("POST", "notes", {"locationId": loc.id, "contactId": c["id"]}, "body should not be empty"),
        ("PUT", "appointments", {"locationId": loc.id, "id": "nope"}, "unknown appointment id"),
        ("POST", "appointments", {"locationId": loc.id, "contactId": c["id"], "colour": "red"}, "colour"),
        ("PUT", "contacts", {"locationId": loc.id, "id": "nope"}, "unknown contact id"),
        ("PUT", "contacts", {"locationId": loc.id, "id": c["id"], "email": 7}, "email must be a string"),
    ]
    for method, what, body, message in cases:
        r = requests.request(method, f"{sandbox.ghl_url}/_admin/{what}", json=body, timeout=5)
        assert r.status_code == 400 and message in r.json()["error"], (method, what, r.text)


def test_api_deletes_send_their_webhooks_and_a_deleted_contact_stays_deleted(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    c = loc.contact(email="Gone@Example.com", phone="+49 30 555 0100", firstName="Gone")
    task = loc.call(
        "POST", f"/contacts/{c['id']}/tasks", json={"title": "T", "dueDate": DUE, "completed": False}
    ).json()["task"]
    deleted_task = loc.call("DELETE", f"/contacts/{c['id']}/tasks/{task['id']}")
    assert deleted_task.status_code == 200 and deleted_task.json() == {"succeded": True}
    assert loc.call("GET", f"/contacts/{c['id']}/tasks/{task['id']}").status_code == 400
    duplicate = {"locationId": loc.id, "number": "+49305550100"}
    assert loc.call("GET", "/contacts/search/duplicate", params=duplicate).json()["contact"]["id"] == c["id"]
    deleted = loc.call("DELETE", f"/contacts/{c['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"succeded": True}
    # each API answer goes out before its webhook: deliveries of consecutive calls may arrive in any order
    by_type = {p["type"]: p for p in receiver.payloads(4)}
    assert sorted(by_type) == ["ContactCreate", "ContactDelete", "TaskCreate", "TaskDelete"]
    assert by_type["TaskDelete"]["id"] == task["id"] and by_type["ContactDelete"]["id"] == c["id"]
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/tasks")):
        kw: dict[str, Any] = {"json": {"firstName": "Back"}} if method == "PUT" else {}
        r = loc.call(method, f"/contacts/{c['id']}{path}", **kw)
        assert r.status_code == 400 and r.json()["message"] == f"Contact with id {c['id']} not found"
    again = loc.call("POST", "/contacts/upsert", json={"locationId": loc.id, "email": "gone@example.com"}).json()
    assert again["new"] is True and again["contact"]["id"] != c["id"]  # a NEW contact, as GHL does
    by_phone = loc.call("GET", "/contacts/search/duplicate", params=duplicate)
    assert by_phone.json()["contact"] is None  # the deleted contact's phone matches nothing any more


def test_drop_field_answers_as_usual_but_stores_without_the_field(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    sandbox.set_faults("ghl", loc.id, drop_field="companyName")
    try:
        created = loc.call(
            "POST", "/contacts/", json={"locationId": loc.id, "email": "d@example.com", "companyName": "Acme"}
        )
        assert created.status_code == 201 and created.json()["contact"]["companyName"] == "Acme"
        cid = created.json()["contact"]["id"]
        upsert = {"locationId": loc.id, "email": "d@example.com", "companyName": "Acme 2", "city": "Köln"}
        upserted = loc.call("POST", "/contacts/upsert", json=upsert).json()
        assert upserted["new"] is False and upserted["contact"]["companyName"] == "Acme 2"
        stored = loc.call("GET", f"/contacts/{cid}").json()["contact"]
        assert "companyName" not in stored and stored["city"] == "Köln"  # only the dropped field is lost
        counted = sandbox.health()["faults"]["dropped_field"]
    finally:
        sandbox.admin("DELETE", "/_admin/faults", params={"app": "ghl", "account": loc.id})
    assert counted >= 2
    create_hook = next(p for p in receiver.payloads(2) if p["type"] == "ContactCreate")
    assert "companyName" not in create_hook  # the webhook shows what was stored
    loc.call("POST", "/contacts/upsert", json={**upsert, "companyName": "Acme 3"})
    assert loc.call("GET", f"/contacts/{cid}").json()["contact"]["companyName"] == "Acme 3"  # fault cleared


def test_drop_field_takes_a_list_and_covers_put(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    c = loc.contact(email="p@example.com", firstName="Pia")
    sandbox.set_faults("ghl", loc.id, drop_field=["city", "firstName"])
    try:
        answer = loc.call("PUT", f"/contacts/{c['id']}", json={"city": "Bonn", "lastName": "Lang"}).json()
        assert answer["contact"]["city"] == "Bonn" and answer["succeded"] is True
    finally:
        sandbox.admin("DELETE", "/_admin/faults", params={"app": "ghl", "account": loc.id})
    stored = loc.call("GET", f"/contacts/{c['id']}").json()["contact"]
    assert "city" not in stored and "firstName" not in stored and stored["lastName"] == "Lang"
    bad = requests.post(f"{sandbox.url}/_admin/faults", json={"app": "ghl", "drop_field": 5}, timeout=5)
    assert bad.status_code == 400 and "drop_field" in bad.json()["error"]


def test_a_task_edit_in_the_ui_sends_nothing_but_moves_its_date_updated(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    c = loc.contact(email="quiet@example.com")
    at = {"locationId": loc.id, "contactId": c["id"]}
    task = loc.call("POST", f"/contacts/{c['id']}/tasks", json={"title": "T", "dueDate": DUE, "completed": False})
    receiver.payloads(2)
    before = loc.call("POST", f"/locations/{loc.id}/tasks/search", json={}).json()["tasks"][0]["dateUpdated"]
    time.sleep(0.01)
    sandbox.admin("PUT", "/ghl/_admin/tasks", json={**at, "id": task.json()["task"]["id"], "body": "edited in GHL"})
    rows = loc.call("POST", f"/locations/{loc.id}/tasks/search", json={}).json()["tasks"]
    assert rows[0]["body"] == "edited in GHL" and rows[0]["dateUpdated"] > before
    time.sleep(0.3)
    assert sorted(receiver.types()) == ["ContactCreate", "TaskCreate"]  # the edit itself sent nothing
