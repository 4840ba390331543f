"""Tasks, notes, appointments, users, businesses and custom field definitions over real HTTP."""

from __future__ import annotations

import pytest

from contacts_sync.connectors.ghl.client import GHLClient
from contacts_sync.connectors.ghl.errors import NotFoundError, ValidationError
from tests.connectors.ghl.conftest import Account


@pytest.fixture
def contact(ghl: GHLClient) -> dict:
    return ghl.create_contact({"email": "kids@example.com", "firstName": "Kid"})


def test_tasks_are_created_listed_updated_completed_and_deleted(ghl: GHLClient, contact: dict) -> None:
    cid = contact["id"]
    task = ghl.create_task(
        cid,
        {
            "title": "Send proposal",
            "dueDate": "2026-12-01T10:00:00Z",
            "completed": False,
            "body": "Ünïcode body",
        },
    )
    assert (task["contactId"], task["completed"]) == (cid, False)
    assert ghl.get_task(cid, task["id"])["title"] == "Send proposal"
    assert [t["id"] for t in ghl.list_tasks(cid)] == [task["id"]]
    assert (
        ghl.update_task(cid, task["id"], {"title": "Send final proposal", "dueDate": "2026-12-02T10:00:00Z"})["title"]
        == "Send final proposal"
    )
    assert ghl.complete_task(cid, task["id"])["completed"] is True
    assert ghl.complete_task(cid, task["id"], completed=False)["completed"] is False
    assert ghl.delete_task(cid, task["id"]) is True
    with pytest.raises(NotFoundError):
        ghl.get_task(cid, task["id"])


def test_a_task_without_its_required_fields_is_rejected(ghl: GHLClient, contact: dict) -> None:
    with pytest.raises(ValidationError) as info:
        ghl.create_task(contact["id"], {"title": "No due date"})
    assert "dueDate should not be empty" in info.value.messages
    assert "completed should not be empty" in info.value.messages


def test_notes_are_created_listed_updated_and_deleted(ghl: GHLClient, contact: dict) -> None:
    cid = contact["id"]
    note = ghl.create_note(cid, {"body": "Rückruf erbeten 📞"})
    assert ghl.get_note(cid, note["id"])["body"] == "Rückruf erbeten 📞"
    assert ghl.update_note(cid, note["id"], {"body": "Called back", "pinned": True})["pinned"] is True
    assert [n["body"] for n in ghl.list_notes(cid)] == ["Called back"]
    assert ghl.delete_note(cid, note["id"]) is True
    assert ghl.list_notes(cid) == []
    with pytest.raises(NotFoundError):
        ghl.update_note(cid, note["id"], {"body": "gone"})


def test_a_note_for_an_unknown_contact_is_not_found(ghl: GHLClient) -> None:
    with pytest.raises(NotFoundError, match="Contact with id nope not found"):
        ghl.create_note("nope", {"body": "x"})


def test_appointments_of_a_contact_are_listed(ghl: GHLClient, account: Account, contact: dict) -> None:
    assert ghl.list_appointments(contact["id"]) == []
    appt = account.admin(
        "POST",
        "appointments",
        json={"locationId": account.id, "contactId": contact["id"], "title": "Intro call"},
    )["appointment"]
    events = ghl.list_appointments(contact["id"])
    assert [(e["id"], e["title"]) for e in events] == [(appt["id"], "Intro call")]


def test_users_businesses_and_custom_fields_of_the_location_are_listed(ghl: GHLClient, account: Account) -> None:
    users = ghl.list_users()
    assert users and all(u["roles"]["locationIds"] == [account.id] for u in users)
    businesses = ghl.list_businesses()
    assert len(businesses) == 5 and all(b["locationId"] == account.id for b in businesses)
    fields = ghl.list_custom_fields()
    assert {f["fieldKey"] for f in fields} >= {"contact.industry", "contact.plan"}
    assert all(f["model"] == "contact" for f in fields)
