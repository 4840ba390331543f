"""The GHL writers of the app flows, over real HTTP against the emulator (a fresh location per test): onboarding
tasks with a contact, a contact's business, the contact bundle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contacts_sync.connectors.base import NothingToWrite
from contacts_sync.connectors.ghl.client import GHLClient
from contacts_sync.connectors.ghl.flow_writers import (
    GHLBusinessWriter,
    GHLContactBundleWriter,
    GHLOnboardingContactWriter,
    bundle_summary,
)
from contacts_sync.connectors.ghl.writers import GHLTaskWriter

CHECKLIST = {
    "onboarding_tasks": [
        {"title": "Welcome call", "due_in_days": 1},
        {"title": "", "due_in_days": 2},  # no title: left out
        {"title": "Send the guide", "due_in_days": "3"},
    ]
}


def test_a_first_link_gets_the_checklist_and_a_later_update_does_not(ghl: GHLClient) -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    writer = GHLOnboardingContactWriter(ghl, options=CHECKLIST, now=lambda: now)
    target, created = writer.push({"email": "new@example.com", "firstName": "New"}, target_id=None)
    assert created
    tasks = sorted(ghl.list_tasks(target), key=lambda t: t["dueDate"])
    assert [(t["title"], t["dueDate"][:10]) for t in tasks] == [
        ("Welcome call", "2026-01-06"),
        ("Send the guide", "2026-01-08"),
    ]
    writer.push({"email": "new@example.com", "firstName": "Renamed"}, target_id=target)
    assert len(ghl.list_tasks(target)) == 2


def test_after_a_crash_only_the_missing_checklist_tasks_are_created(ghl: GHLClient) -> None:
    intent = datetime.now(UTC) - timedelta(seconds=5)
    contact = ghl.create_contact({"email": "crash@example.com", "firstName": "Crash"})
    ghl.create_task(contact["id"], {"title": "Welcome call", "dueDate": "2026-01-06T09:00:00Z", "completed": False})
    writer = GHLOnboardingContactWriter(ghl, options=CHECKLIST)
    target, _ = writer.push({"email": "crash@example.com", "firstName": "Crash"}, target_id=None, adopt_since=intent)
    assert target == contact["id"]
    assert sorted(t["title"] for t in ghl.list_tasks(target)) == ["Send the guide", "Welcome call"]


def test_one_business_per_name_in_any_case_and_read_back_tells_a_moved_contact(ghl: GHLClient) -> None:
    first = ghl.create_contact({"email": "b1@example.com", "firstName": "B1"})
    second = ghl.create_contact({"email": "b2@example.com", "firstName": "B2"})
    writer = GHLBusinessWriter(ghl)
    one, created = writer.push({"name": "Café Nord"}, target_id=None, parent_id=first["id"])
    two, _ = writer.push({"name": "  CAFÉ   NORD "}, target_id=None, parent_id=second["id"])
    assert created and one.split("/")[1] == two.split("/")[1]
    assert [b["name"] for b in ghl.list_businesses()].count("Café Nord") == 1
    assert writer.read_back(two) == {"name": "  CAFÉ   NORD "}  # linked to the business its name matched
    other = next(b for b in ghl.list_businesses() if b["name"] != "Café Nord")
    ghl.bulk_business([second["id"]], other["id"])  # someone moved the contact in HighLevel
    assert writer.read_back(two) == {"name": other["name"]}
    writer.delete(one)
    assert not ghl.get_contact(first["id"]).get("businessId")


class AddressBook:
    """Stands in for starbuero.de's deliver_bundle (the writer's other side); records what it was handed."""

    provider = "starbuero"

    def __init__(self) -> None:
        self.handed: list[tuple[dict[str, Any], str | None]] = []

    def deliver_bundle(self, bundle: dict[str, Any], *, target_id: str | None) -> tuple[str, bool]:
        self.handed.append((bundle, target_id))
        return target_id or "entry-1", target_id is None


def test_a_bundle_is_the_contact_with_its_tasks_notes_and_appointments_and_an_unknown_number_is_skipped(
    ghl: GHLClient,
) -> None:
    contact = ghl.create_contact({"firstName": "Lena", "lastName": "Vogel", "phone": "+49301234567"})
    GHLTaskWriter(ghl).push({"title": "Send the quote"}, target_id=None, parent_id=contact["id"])
    ghl.create_note(contact["id"], {"body": "Prefers mornings.\nCall before 10."})
    book = AddressBook()
    writer = GHLContactBundleWriter(ghl, deliver=book)
    assert writer.push({"phone": "+49301234567", "call_at": "2026-01-01T10:00:00Z"}, target_id=None) == (
        "entry-1",
        True,
    )
    bundle, target = book.handed[0]
    assert target is None and bundle["contact"]["id"] == contact["id"]
    assert [t["title"] for t in bundle["tasks"]] == ["Send the quote"] and len(bundle["notes"]) == 1
    assert "Open tasks: 1" in bundle["summary"] and "Prefers mornings. Call before 10." in bundle["summary"]
    with pytest.raises(NothingToWrite, match="unknown caller"):
        writer.push({"phone": "+4989000000"}, target_id=None)
    with pytest.raises(NothingToWrite, match="no caller number"):
        writer.push({}, target_id=None)


def test_a_summary_stays_within_what_one_text_field_takes() -> None:
    tasks = [{"title": "T" * 300, "dueDate": f"2026-01-{d:02d}"} for d in range(1, 20)]
    notes = [{"body": "N" * 3000, "dateAdded": "2026-01-01"}] * 10
    text = bundle_summary({"id": "c1"}, tasks, notes, [])
    assert len(text) <= 2000 and text.startswith("HighLevel: c1") and "Open tasks: 19" in text


@pytest.mark.parametrize("stored", ["contact-only", "/task-only", ""])
def test_a_stored_id_missing_a_part_is_the_records_error_not_a_request_to_none(ghl: GHLClient, stored: str) -> None:
    with pytest.raises(ValueError, match="no contact or child part"):
        GHLTaskWriter(ghl).read_back(stored)
