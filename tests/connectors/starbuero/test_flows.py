"""starbuero.de's flows end to end against the emulators, with a real worker: callers -> contacts (create or
update), transcriptions -> notes, call-back tasks -> GHL tasks completed through the completed endpoint, the GHL
contact bundle for a known caller written into the address book, and GHL leads -> the address book.

The emulator's 120 seeded calls are read too (random, partly nameless callers); the calls each test adds are the
same caller dialling in three spellings, an anonymous caller and a number no one can read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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

pytestmark = [pytest.mark.worker]
__all__ = ["spec_checked"]

LENA = "+49301234567"


def _call(sandbox: Any, **fields: Any) -> dict[str, Any]:
    return sandbox.admin("POST", "/starbuero/_admin/call", json=fields)


def _address_book(sandbox: Any) -> list[dict[str, Any]]:
    r = requests.get(
        f"{sandbox.url}/starbuero/addon_contact/contact",
        params={"limit": 1000},
        timeout=10,
        headers={"Authorization": "Bearer starbuero-sandbox-token"},
    )
    r.raise_for_status()
    return list(r.json()["data"])


def _callers(sandbox: Any) -> tuple[m.Sync, m.Run, dict[str, Any]]:
    """Lena calls twice (two spellings of one number), Anna anonymously, someone from an unreadable number."""
    made = {
        "lena1": _call(
            sandbox,
            caller_number="+49 30 1234567",
            caller_name="Lena Vogel",
            caller_email="Lena.Vogel@Example.com",
            message="Bitte um Rückruf.",
            transcript="Agent: Guten Tag. Caller: Bitte um Rückruf wegen der Rechnung.",
            callback_requested=True,
        ),
        "lena2": _call(sandbox, caller_number="030 1234567", caller_company="Vogel GmbH", message="Noch mal ich."),
        "anon": _call(sandbox, caller_name="Anonymous Anna", message="Ruft später wieder an."),
        "junk": _call(sandbox, caller_number="12345", message=""),
    }
    source, ghl = app_connection(sandbox, "starbuero"), ghl_connection(sandbox)
    sync = make_sync("starbuero_call_to_ghl_contact", source, ghl)
    return sync, run(sync), made


def test_every_caller_is_one_contact_created_then_updated_however_the_number_is_written(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    sync, first, made = _callers(clean_sandbox)
    assert first.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), first.error_summary
    assert not first.items.filter(error_class="DuplicateSourceRecord").exists()  # one caller, one record
    lena = first.items.get(source_id=LENA)
    assert lena.action == m.ItemAction.CREATED
    api = GhlApi(clean_sandbox)
    contact = api.call("GET", f"/contacts/{lena.target_id}")["contact"]
    assert (contact["phone"], contact["email"], contact["companyName"]) == (
        LENA,
        "lena.vogel@example.com",
        "Vogel GmbH",
    )
    anon = first.items.get(source_id=f"call:{made['anon']['id']}")
    assert anon.action == m.ItemAction.CREATED
    junk = first.items.get(source_id=f"call:{made['junk']['id']}")  # an unreadable number is no identity
    assert junk.action == m.ItemAction.FAILED and junk.error_class == "MappingError", (junk.payload, junk.error_message)
    assert calls(first, "POST", "/contacts/upsert") == first.created_count + first.updated_count

    _call(clean_sandbox, caller_number="+49 (30) 1234567", caller_name="Lena Vogel-Berg", message="Neuer Name.")
    second = run(sync)
    assert second.items.get(source_id=LENA).action == m.ItemAction.UPDATED
    assert second.updated_count == 1 and calls(second, "PUT", "/contacts/{contactId}") == 1
    assert api.call("GET", f"/contacts/{lena.target_id}")["contact"]["lastName"] == "Vogel-Berg"
    third = run(sync)
    assert third.created_count + third.updated_count == 0


def test_each_calls_transcription_becomes_a_note_on_the_callers_contact(clean_sandbox: Any, celery_worker: Any) -> None:
    limits_off(clean_sandbox)
    contacts, _, made = _callers(clean_sandbox)
    notes = make_sync("starbuero_call_to_ghl_note", contacts.source_connection, contacts.target_connection)
    first = run(notes)
    assert first.items.get(source_id=str(made["lena1"]["id"])).action == m.ItemAction.CREATED
    assert first.items.get(source_id=str(made["junk"]["id"])).error_class == "ParentNotLinked"
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=LENA).target_id
    bodies = sorted(n["body"] for n in GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"])
    assert len(bodies) == 2
    assert any(
        b.startswith("Call from Lena Vogel") and b.endswith("Caller: Bitte um Rückruf wegen der Rechnung.")
        for b in bodies
    )  # the transcription
    assert any(b.startswith("Call from 030 1234567") and b.endswith("Noch mal ich.") for b in bodies)  # else the
    # message
    assert calls(first, "POST", "/contacts/{contactId}/notes") == first.created_count
    assert run(notes).created_count == 0


def test_a_call_back_task_completed_in_starbuero_is_completed_in_ghl_through_the_completed_endpoint(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    contacts, _, _made = _callers(clean_sandbox)
    tasks = make_sync("starbuero_task_to_ghl_task", contacts.source_connection, contacts.target_connection)
    first = run(tasks)
    mine = next(i for i in first.items.all() if i.payload.get("title") == "Rückruf Lena Vogel")
    assert mine.action == m.ItemAction.CREATED
    contact_id, task_id = mine.target_id.split("/")
    assert contact_id == m.RecordLink.objects.get(sync=contacts, source_id=LENA).target_id

    clean_sandbox.admin("POST", "/starbuero/_admin/complete_task", json={"id": int(mine.source_id)})
    received = Received(clean_sandbox)
    second = run(tasks)
    assert second.items.get(source_id=mine.source_id).action == m.ItemAction.UPDATED
    assert [(e["path"], e["json"]) for e in received.exchanges("PUT", "/completed")] == [
        (f"/contacts/{contact_id}/tasks/{task_id}/completed", {"completed": True})
    ]
    assert GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/tasks/{task_id}")["task"]["completed"] is True


def _known_caller(sandbox: Any) -> dict[str, Any]:
    """A GHL contact with Lena's number, two tasks (one done), two notes and an appointment next week."""
    api = GhlApi(sandbox)
    contact = api.call(
        "POST",
        "/contacts/",
        {
            "locationId": sandbox.location_id,
            "firstName": "Lena",
            "lastName": "Vogel",
            "phone": LENA,
            "companyName": "Vogel GmbH",
            "tags": ["vip"],
        },
    )["contact"]
    due = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for title, done in (("Send the quote", False), ("Welcome call", True)):
        api.call("POST", f"/contacts/{contact['id']}/tasks", {"title": title, "dueDate": due, "completed": done})
    for body in ("Prefers calls after 2 pm.", "Asked about the 3-office quote."):
        api.call("POST", f"/contacts/{contact['id']}/notes", {"body": body})
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
    sandbox.admin(
        "POST",
        "/ghl/_admin/appointments",
        json={"locationId": sandbox.location_id, "contactId": contact["id"], "title": "Beratung", "startTime": start},
    )
    return contact


def test_a_known_callers_ghl_bundle_lands_in_their_address_book_entry_and_unknown_callers_are_skipped(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    contact = _known_caller(clean_sandbox)
    _call(clean_sandbox, caller_number="030 1234567", caller_name="Lena Vogel", message="Rückruf bitte.")
    source, ghl = app_connection(clean_sandbox, "starbuero"), ghl_connection(clean_sandbox)
    bundle = make_sync("starbuero_call_to_ghl_bundle", source, ghl)
    before = len(_address_book(clean_sandbox))
    received = Received(clean_sandbox)
    first = run(bundle)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    lena = first.items.get(source_id=LENA)
    assert lena.action == m.ItemAction.CREATED
    # One step for the known caller: the contact, its tasks, notes and appointments.
    for suffix in (
        f"/contacts/{contact['id']}",
        f"/contacts/{contact['id']}/tasks",
        f"/contacts/{contact['id']}/notes",
        f"/contacts/{contact['id']}/appointments",
    ):
        assert [e["path"] for e in received.exchanges("GET", suffix) if e["path"] == suffix] == [suffix]
    skipped = first.items.filter(action=m.ItemAction.SKIPPED)
    assert skipped.count() == first.read_count - 1  # every seeded caller is unknown to GHL
    assert all(
        (i.error_class == "NothingToWrite" and "unknown caller" in i.error_message)
        or "no caller number" in i.error_message
        for i in skipped
    )
    book = {str(e["id"]): e for e in _address_book(clean_sandbox)}
    assert len(book) == before + 1
    entry = book[lena.target_id]
    assert entry["phoneNumbers"] == [LENA] and (entry["firstname"], entry["lastname"]) == ("Lena", "Vogel")
    notice = entry["notice"]
    assert "HighLevel: Lena Vogel (Vogel GmbH)" in notice and "Tags: vip" in notice
    assert "Open tasks: 1" in notice and "Send the quote" in notice and "Welcome call" not in notice
    assert "Prefers calls after 2 pm." in notice and "Beratung" in notice

    GhlApi(clean_sandbox).call("POST", f"/contacts/{contact['id']}/notes", {"body": "Called again today."})
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")  # call times have seconds
    _call(clean_sandbox, caller_number="+49 30 1234567", message="Noch mal.", call_start=later)
    second = run(bundle)
    again = second.items.get(source_id=LENA)
    assert again.action == m.ItemAction.UPDATED, again.error_message
    assert len(_address_book(clean_sandbox)) == before + 1  # the same entry, refreshed
    assert "Called again today." in {str(e["id"]): e for e in _address_book(clean_sandbox)}[lena.target_id]["notice"]


def test_ghl_leads_become_address_book_entries_that_follow_changes_and_deletes_and_take_the_bundle(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    api = GhlApi(clean_sandbox)
    contact = _known_caller(clean_sandbox)
    api.call("PUT", f"/contacts/{contact['id']}", {"tags": ["vip", "lead"]})
    other = api.call(
        "POST",
        "/contacts/",
        {"locationId": clean_sandbox.location_id, "firstName": "Otto", "email": "Otto@Example.com", "tags": ["LEAD"]},
    )["contact"]
    api.call("POST", "/contacts/", {"locationId": clean_sandbox.location_id, "firstName": "Not", "lastName": "Lead"})
    book = app_connection(clean_sandbox, "starbuero")
    ghl = ghl_connection(clean_sandbox)
    leads = make_sync("ghl_contact_to_starbuero_contact", ghl, book, tag="lead")
    leads.delete_policy = m.DeletePolicy.MIRROR
    leads.save(update_fields=["delete_policy"])
    before = len(_address_book(clean_sandbox))
    first = run(leads)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    assert first.created_count == 2 and first.read_count == 2
    assert calls(first, "POST", "/addon_contact/contact", provider="starbuero") == 2
    entries = {str(e["id"]): e for e in _address_book(clean_sandbox)}
    assert len(entries) == before + 2
    lena_entry = m.RecordLink.objects.get(sync=leads, source_id=contact["id"]).target_id
    otto_entry = m.RecordLink.objects.get(sync=leads, source_id=other["id"]).target_id
    assert entries[otto_entry]["emailAddresses"] == ["otto@example.com"]

    api.call("PUT", f"/contacts/{other['id']}", {"lastName": "Kraus"})
    changed = run(leads)
    assert changed.updated_count == 1
    assert {str(e["id"]): e for e in _address_book(clean_sandbox)}[otto_entry]["lastname"] == "Kraus"

    # The caller bundle goes into the entry the lead sync made: no second entry for Lena.
    _call(clean_sandbox, caller_number="030 1234567", message="Hallo.")
    bundle = make_sync("starbuero_call_to_ghl_bundle", book, ghl)
    bundled = run(bundle)
    assert bundled.items.get(source_id=LENA).target_id == lena_entry
    after = {str(e["id"]): e for e in _address_book(clean_sandbox)}
    assert len(after) == before + 2 and "Send the quote" in after[lena_entry]["notice"]
    assert after[lena_entry]["firstname"] == "Lena"  # what the lead sync wrote is kept

    api.call("DELETE", f"/contacts/{other['id']}")
    event = m.InboundEvent.objects.create(
        provider="ghl",
        event_id=f"del-{other['id']}",
        event_type="ContactDelete",
        account_id=clean_sandbox.location_id,
        body=json.dumps({"type": "ContactDelete", "id": other["id"], "locationId": clean_sandbox.location_id}),
    )
    from contacts_sync.services import runs
    from tests.sync.world import wait_finished

    gone = wait_finished(runs.run_enqueue(sync=leads, trigger=m.RunTrigger.WEBHOOK, event=event))
    assert gone.items.get().action == m.ItemAction.DELETED
    assert otto_entry not in {str(e["id"]) for e in _address_book(clean_sandbox)}
