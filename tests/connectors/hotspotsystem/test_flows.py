"""HotspotSystem's flows end to end against the emulators, with a real worker: customers -> contacts with their
onboarding checklist, transactions -> notes, the customer's company -> a GHL business, an activity summary note.

Every test uses its own venue (location) so that only the customers it made are read; they have the data users
really have: one e-mail twice in different case, a customer with no name/e-mail/phone, one company written two
ways, a company GHL already knows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from contacts_sync import models as m
from tests.connectors.flows import (
    GhlApi,
    Received,
    app_connection,
    calls,
    ghl_connection,
    items,
    limits_off,
    make_sync,
    run,
    spec_checked,
)

pytestmark = [pytest.mark.worker]
__all__ = ["spec_checked"]


def _venue(sandbox: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """A new venue with five customers (their keys: anna, ben, blank, dora, eva)."""
    venue = str(900 + uuid.uuid4().int % 10_000)
    made = {}
    for key, fields in {
        "anna": {
            "name": "Anna Berg",
            "email": "Anna.Berg@Example.com",
            "company_name": "Café Nord",
            "phone": "+49 30 1234567",
            "transactions": [
                {"type": "social", "social_network": "google"},
                {"type": "social"},
                {"type": "paid", "amount": "4.50", "currency": "EUR"},
            ],
        },
        "ben": {
            "name": "Ben Kurz",
            "email": "anna.berg@example.com",
            "company_name": "café nord ",
            "transactions": [{"type": "voucher", "amount": "2.00", "currency": "EUR"}],
        },
        "blank": {"name": "", "user_name": "", "email": "", "phone": "", "company_name": ""},
        "dora": {"name": "Dora Lind", "email": "dora@example.com", "company_name": "Acme GmbH"},
        "eva": {"name": "Eva Ost", "email": "eva@example.com", "company_name": "CAFÉ NORD"},
    }.items():
        made[key] = sandbox.admin(
            "POST",
            "/hotspotsystem/_admin/customer",
            json={**fields, "location_id": venue, "location_name": f"Venue {venue}"},
        )
    return venue, made


def _contacts(sandbox: Any, venue: str, **options: Any) -> tuple[m.Sync, m.Run]:
    source, ghl = app_connection(sandbox, "hotspotsystem"), ghl_connection(sandbox)
    sync = make_sync("hotspotsystem_customer_to_ghl_contact", source, ghl, location_id=venue, **options)
    return sync, run(sync)


def _linked(sync: m.Sync, customer: dict[str, Any]) -> str:
    return m.RecordLink.objects.get(sync=sync, source_id=customer["id"]).target_id


def test_new_customers_become_contacts_with_the_syncs_onboarding_checklist(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    api = GhlApi(clean_sandbox)
    user = api.call("GET", f"/users/?locationId={clean_sandbox.location_id}")["users"][0]["id"]
    checklist = [
        {"title": "Welcome call", "due_in_days": 1, "assigned_to": user},
        {"title": "Welcome call", "due_in_days": 7, "body": "Second call after a week"},
    ]
    venue, made = _venue(clean_sandbox)
    received = Received(clean_sandbox)
    sync, first = _contacts(clean_sandbox, venue, onboarding_tasks=checklist)
    assert first.status == m.RunStatus.PARTIAL, first.error_summary
    linked = {i.source_id for i in items(first, m.ItemAction.CREATED)}
    assert linked == {made[k]["id"] for k in ("anna", "dora", "eva")}
    failed = {i.source_id: i.error_class for i in items(first, m.ItemAction.FAILED)}
    assert failed == {made["ben"]["id"]: "DuplicateSourceRecord", made["blank"]["id"]: "MappingError"}
    # Two checklist items per new contact, even with the same title; what GHL received is what the run reports.
    posted = received.exchanges("POST", "/tasks")
    assert len(posted) == calls(first, "POST", "/contacts/{contactId}/tasks") == 2 * len(linked)
    for key in ("anna", "dora", "eva"):
        tasks = sorted(
            api.call("GET", f"/contacts/{_linked(sync, made[key])}/tasks")["tasks"], key=lambda t: t["dueDate"]
        )
        assert [t["title"] for t in tasks] == ["Welcome call", "Welcome call"]
        assert tasks[0].get("assignedTo") == user and tasks[1]["body"] == "Second call after a week"
        assert not any(t["completed"] for t in tasks)

    again = run(sync)
    assert again.created_count == 0 and calls(again, "POST", "/contacts/{contactId}/tasks") == 0

    # The template changes; only the customer linked from now on gets the new checklist.
    sync.options = {**sync.options, "onboarding_tasks": [{"title": "Send the Wi-Fi guide", "due_in_days": 3}]}
    sync.save(update_fields=["options"])
    new = clean_sandbox.admin(
        "POST",
        "/hotspotsystem/_admin/customer",
        json={"name": "Finn Neu", "email": "finn@example.com", "location_id": venue},
    )
    third = run(sync)
    assert [i.source_id for i in items(third, m.ItemAction.CREATED)] == [new["id"]]
    assert calls(third, "POST", "/contacts/{contactId}/tasks") == 1
    assert [t["title"] for t in api.call("GET", f"/contacts/{_linked(sync, new)}/tasks")["tasks"]] == [
        "Send the Wi-Fi guide"
    ]
    assert len(api.call("GET", f"/contacts/{_linked(sync, made['anna'])}/tasks")["tasks"]) == 2


def test_transactions_become_notes_on_their_customers_contact(clean_sandbox: Any, celery_worker: Any) -> None:
    limits_off(clean_sandbox)
    venue, made = _venue(clean_sandbox)
    contacts, _ = _contacts(clean_sandbox, venue, onboarding_tasks=[])
    notes = make_sync(
        "hotspotsystem_transaction_to_ghl_note",
        contacts.source_connection,
        contacts.target_connection,
        location_id=venue,
    )
    first = run(notes)
    assert first.read_count == 4  # anna's three, ben's one
    assert first.created_count == 3
    orphan = first.items.get(action=m.ItemAction.FAILED)
    assert orphan.error_class == "ParentNotLinked"  # ben's contact was refused as anna's duplicate
    in_ghl = GhlApi(clean_sandbox).call("GET", f"/contacts/{_linked(contacts, made['anna'])}/notes")["notes"]
    assert len(in_ghl) == calls(first, "POST", "/contacts/{contactId}/notes") == 3
    assert all(f"Venue {venue}" in n["body"] for n in in_ghl)
    again = run(notes)
    assert again.unchanged_count == 3 and calls(again, "POST", "/contacts/{contactId}/notes") == 0


def test_a_customers_company_becomes_the_business_of_their_contact(clean_sandbox: Any, celery_worker: Any) -> None:
    limits_off(clean_sandbox)
    api = GhlApi(clean_sandbox)
    known = {
        b["name"]: b["id"]
        for b in api.call("GET", f"/businesses/?locationId={clean_sandbox.location_id}")["businesses"]
    }
    assert "Acme GmbH" in known
    venue, made = _venue(clean_sandbox)
    contacts, _ = _contacts(clean_sandbox, venue, onboarding_tasks=[])
    received = Received(clean_sandbox)
    business = make_sync(
        "hotspotsystem_customer_to_ghl_business",
        contacts.source_connection,
        contacts.target_connection,
        location_id=venue,
    )
    first = run(business)
    assert first.status == m.RunStatus.PARTIAL, first.error_summary
    by_key = {k: first.items.get(source_id=c["id"]) for k, c in made.items()}
    assert by_key["blank"].action == m.ItemAction.SKIPPED  # no company
    assert by_key["ben"].error_class == "ParentNotLinked"
    assert {by_key[k].action for k in ("anna", "dora", "eva")} == {m.ItemAction.CREATED}
    # "Café Nord" and "CAFÉ NORD" are one new business; "Acme GmbH" is the one GHL already had.
    created = received.exchanges("POST", "/businesses/")
    assert [c["json"]["name"] for c in created] == ["Café Nord"]
    assert calls(first, "POST", "/businesses/") == 1
    nord = json.loads(created[0]["response"])["buiseness"]["id"]
    assert calls(first, "POST", "/contacts/bulk/business") == 3
    for key, expected in (("anna", nord), ("eva", nord), ("dora", known["Acme GmbH"])):
        contact = api.call("GET", f"/contacts/{_linked(contacts, made[key])}")["contact"]
        assert contact["businessId"] == expected
        assert by_key[key].target_id == f"{contact['id']}/{expected}"
    again = run(business)
    assert again.unchanged_count == 3 and calls(again, "POST", "/contacts/bulk/business") == 0


def test_a_customers_activity_is_one_pinned_summary_note_updated_in_place(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    venue, made = _venue(clean_sandbox)
    contacts, _ = _contacts(clean_sandbox, venue, onboarding_tasks=[])
    summary = make_sync(
        "hotspotsystem_activity_to_ghl_note", contacts.source_connection, contacts.target_connection, location_id=venue
    )
    first = run(summary)
    assert first.read_count == 2  # only customers with transactions: anna, ben
    assert first.created_count == 1 and first.items.get(action=m.ItemAction.FAILED).error_class == "ParentNotLinked"
    contact_id = _linked(contacts, made["anna"])
    notes = GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]
    assert len(notes) == 1 and notes[0]["pinned"] is True and notes[0]["title"] == "Wi-Fi activity summary"
    assert "3 sessions (paid 1, social 2)" in notes[0]["body"] and "paid: 4.50 EUR" in notes[0]["body"]

    again = run(summary)
    assert again.unchanged_count == 1 and again.created_count == 0
    assert calls(again, "PUT", "/notes/{id}") == 0

    clean_sandbox.admin(
        "POST",
        "/hotspotsystem/_admin/customer",
        json={"id": made["anna"]["id"], "transactions": [{"type": "paid", "amount": "9.90", "currency": "EUR"}]},
    )
    third = run(summary)
    assert third.updated_count == 1 and calls(third, "PUT", "/contacts/{contactId}/notes/{id}") == 1
    notes = GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]
    assert len(notes) == 1 and "4 sessions (paid 2, social 2)" in notes[0]["body"]
    assert "paid: 14.40 EUR" in notes[0]["body"]
