"""GHL as a source, over real HTTP against the emulator: every object kind the API allows, in one shape per kind,
children carrying their contact's id, reads since a cursor, and the webhook records in the same shapes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from contacts_sync.connectors.base import ConnectionInfo
from contacts_sync.connectors.ghl import webhooks
from contacts_sync.connectors.ghl.reader import GHLConnector
from contacts_sync.exceptions import ConfigurationError


def _connector(sandbox: Any, account: Any, ghl: Any) -> GHLConnector:
    info = ConnectionInfo(
        provider="ghl",
        connection_id=None,
        account_id=account.id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": account.token},
    )
    return GHLConnector(info, client=ghl)


def _records(conn: GHLConnector, kind: str, **options: Any) -> list[dict[str, Any]]:
    return [r for page in conn.read(kind, cursor=None, options=options) for r in page.records]


def _contact(ghl: Any, email: str) -> str:
    return ghl.create_contact({"firstName": "Ann", "email": email})["id"]


def _moment() -> str:
    time.sleep(0.01)  # the emulator's dates have millisecond precision
    return datetime.now(UTC).isoformat()


def test_tasks_come_from_the_location_search_keyed_id_with_their_contact(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    a, b = _contact(ghl, "a@example.com"), _contact(ghl, "b@example.com")
    # same-titled tasks on two contacts stay two records
    t1 = ghl.create_task(a, {"title": "Call", "dueDate": "2030-01-01T00:00:00Z", "completed": False})
    t2 = ghl.create_task(b, {"title": "Call", "dueDate": "2030-01-01T00:00:00Z", "completed": True})
    rows = _records(conn, "task", page_limit=1)
    assert {(r["id"], r["contactId"], r["completed"]) for r in rows} == {(t1["id"], a, False), (t2["id"], b, True)}
    assert all("_id" not in r for r in rows)
    assert [c.path_template for c in account.calls if c.method == "POST"][-1] == "/locations/{locationId}/tasks/search"
    assert [r["id"] for r in _records(conn, "task", contact_id=b)] == [t2["id"]]


def test_a_task_read_since_a_moment_keeps_only_the_tasks_changed_after_it(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    cid = _contact(ghl, "since@example.com")
    old = ghl.create_task(cid, {"title": "Old", "dueDate": "2030-01-01T00:00:00Z", "completed": False})
    ghl.create_task(cid, {"title": "Untouched", "dueDate": "2030-01-01T00:00:00Z", "completed": False})
    since = _moment()
    ghl.update_task(cid, old["id"], {"title": "Old, edited"})
    new = ghl.create_task(cid, {"title": "New", "dueDate": "2030-01-01T00:00:00Z", "completed": False})
    pages = list(conn.read("task", cursor=None, options={"updated_since": since, "page_limit": 2}))
    assert sorted(r["title"] for p in pages for r in p.records) == ["New", "Old, edited"]
    assert pages[0].cursor == {"skip": 2} and pages[-1].cursor is None
    resumed = conn.read("task", cursor={"skip": 2}, options={"updated_since": since, "page_limit": 2})
    assert [r["id"] for p in resumed for r in p.records] == [new["id"]]


def test_contacts_read_since_a_cursor_are_only_the_changed_ones_oldest_change_first(
    sandbox: Any, account: Any, ghl: Any
):
    conn = _connector(sandbox, account, ghl)
    ids = [_contact(ghl, f"c{i}@example.com") for i in range(3)]
    since = _moment()
    ghl.add_tags(ids[2], ["vip"])
    ghl.update_contact(ids[0], {"firstName": "Changed"})
    changed = _records(conn, "contact", updated_since=since)
    assert [c["id"] for c in changed] == [ids[2], ids[0]]
    search = [c for c in account.calls if c.path_template == "/contacts/search"]
    assert len(search) == 1  # one page when little changed


def test_notes_are_read_per_contact_and_carry_the_contact_id(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    a, b = _contact(ghl, "na@example.com"), _contact(ghl, "nb@example.com")
    n1 = ghl.create_note(a, {"body": "first"})
    n2 = ghl.create_note(b, {"body": "<p>second</p>"})
    notes = _records(conn, "note")
    assert {(n["id"], n["contactId"]) for n in notes} == {(n1["id"], a), (n2["id"], b)}


def test_appointments_per_contact_or_from_a_calendar_window(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    cid = _contact(ghl, "appt@example.com")
    booked = account.admin("POST", "appointments", json={"locationId": account.id, "contactId": cid, "title": "Demo"})[
        "appointment"
    ]
    per_contact = _records(conn, "appointment")
    assert [(r["id"], r["contactId"]) for r in per_contact] == [(booked["id"], cid)]
    from_calendar = _records(conn, "appointment", calendar_id="sandbox-calendar")
    assert [r["id"] for r in from_calendar] == [booked["id"]]
    assert "/calendars/events" in {c.path_template for c in account.calls}
    assert _records(conn, "appointment", updated_since="2999-01-01T00:00:00Z") == []


def test_businesses_are_read_and_unknown_kinds_refused(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    assert isinstance(_records(conn, "business"), list)
    with pytest.raises(ConfigurationError):
        _records(conn, "invoice")
    assert conn.objects() == ["contact", "task", "note", "appointment", "business"]
    assert {f.path for f in conn.fields("task")} >= {"id", "contactId", "title", "completed", "dateUpdated"}


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (
            "task",
            {
                "type": "TaskComplete",
                "locationId": "L",
                "id": "t1",
                "contactId": "c1",
                "completed": True,
                "webhookId": "w",
                "timestamp": "2026-01-01T00:00:00Z",
            },
            {"locationId": "L", "id": "t1", "contactId": "c1", "completed": True},
        ),
        (
            "note",
            {"type": "NoteCreate", "locationId": "L", "id": "n1", "contactId": "c1", "body": "hi"},
            {"locationId": "L", "id": "n1", "contactId": "c1", "body": "hi"},
        ),
        (
            "appointment",
            {
                "type": "AppointmentCreate",
                "locationId": "L",
                "appointment": {"id": "a1", "contactId": "c1", "title": "Demo"},
            },
            {"id": "a1", "contactId": "c1", "title": "Demo"},
        ),
        (
            "contact",
            {"type": "ContactCreate", "locationId": "L", "id": "c1", "email": "x@example.com"},
            {"locationId": "L", "id": "c1", "email": "x@example.com"},
        ),
        ("task", {"type": "TaskCreate", "locationId": "L"}, None),
        ("note", ["not", "an", "object"], None),
    ],
)
def test_a_webhook_carries_its_record_in_the_shape_a_read_returns(kind: str, body: Any, expected: Any) -> None:
    assert webhooks.event_record(body, kind) == expected


def test_only_delete_events_mark_a_record_deleted() -> None:
    assert [t for t in webhooks.EVENT_OBJECTS if webhooks.is_delete(t)] == [
        "ContactDelete",
        "TaskDelete",
        "NoteDelete",
        "AppointmentDelete",
        "RecordDelete",
    ]
    assert not webhooks.is_delete("SomethingDelete")


def test_the_contacts_of_one_business_are_read_through_their_business(sandbox: Any, account: Any, ghl: Any):
    conn = _connector(sandbox, account, ghl)
    ids = [_contact(ghl, f"biz{i}@example.com") for i in range(3)]
    businesses = _records(conn, "business")
    assert len(businesses) == 5  # every emulator location has five
    bid = businesses[0]["id"]
    ghl.bulk_business(ids[:2], bid)
    linked = _records(conn, "contact", business_id=bid)
    assert {c["id"] for c in linked} == set(ids[:2])
    assert "/contacts/business/{businessId}" in {c.path_template for c in account.calls}
