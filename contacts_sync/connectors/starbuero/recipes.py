"""starbuero.de's flows and their default mappings (record shapes: the assumptions in docs/apps/starbuero.md).

starbuero.de sends no webhooks: every flow from it polls (the flow into it may start on GHL contact webhooks).
"""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, ghl_task_rules, rule

RECIPES = (
    Recipe(
        key="starbuero_call_to_ghl_contact",
        title="starbuero.de caller -> GHL contact",
        source_provider="starbuero",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="Each caller (one per phone number, however often they call) becomes a lead contact in GHL, "
        "created or updated; calls without a number are leads of their own.",
        source_options={"source": "callers"},
        trigger="starbuero.de takes a call for you (poll of call records)",
        action="Upserts the caller as a GHL contact, one per phone number",
        test="tests/connectors/starbuero/test_flows.py::"
        "test_every_caller_is_one_contact_created_then_updated_however_the_number_is_written",
    ),
    Recipe(
        key="starbuero_call_to_ghl_note",
        title="starbuero.de call transcription -> GHL note",
        source_provider="starbuero",
        source_object="note",
        target_provider="ghl",
        target_object="note",
        triggers=(MANUAL, POLL),
        description="Each call's transcription (else its message) becomes a note on the caller's contact (the "
        "caller sync of the same connections must have run).",
        writer=Writer.NOTE_TAGS,
        parent_path="caller_key",
        trigger="A call's transcription or message is recorded (poll)",
        action="Adds a note to the caller's contact",
        test="tests/connectors/starbuero/test_flows.py::"
        "test_each_calls_transcription_becomes_a_note_on_the_callers_contact",
    ),
    Recipe(
        key="starbuero_task_to_ghl_task",
        title="starbuero.de call-back task -> GHL task",
        source_provider="starbuero",
        source_object="task",
        target_provider="ghl",
        target_object="task",
        triggers=(MANUAL, POLL),
        description="Call-back tasks become tasks on the caller's contact; a task completed in starbuero.de is "
        "completed in GHL through PUT /contacts/:contactId/tasks/:taskId/completed.",
        writer=Writer.TASK,
        parent_path="caller_key",
        trigger="A call-back task is created or completed in starbuero.de (poll)",
        action="Creates the task on the caller's contact and completes it through the completed endpoint",
        test="tests/connectors/starbuero/test_flows.py::"
        "test_a_call_back_task_completed_in_starbuero_is_completed_in_ghl_through_the_completed_endpoint",
    ),
    Recipe(
        key="starbuero_call_to_ghl_bundle",
        title="starbuero.de call -> GHL contact bundle in the address book",
        source_provider="starbuero",
        source_object="contact",
        target_provider="ghl",
        target_object="bundle",
        triggers=(MANUAL, POLL),
        description="When a known number calls, the caller's GHL contact with its tasks, notes and appointments "
        "is read in one step (GET /contacts/:id, /tasks, /notes, /appointments) and summed up in the notice of "
        "the caller's starbuero.de address-book entry, where the call agent sees it. Unknown numbers are "
        "skipped.",
        writer=Writer.CONTACT_BUNDLE,
        source_options={"source": "callers"},
        trigger="A known number calls (poll)",
        action="Reads the GHL contact with its tasks, notes and appointments and writes the summary into the caller's address-book entry",
        test="tests/connectors/starbuero/test_flows.py::"
        "test_a_known_callers_ghl_bundle_lands_in_their_address_book_entry_and_unknown_callers_are_skipped",
    ),
    Recipe(
        key="ghl_contact_to_starbuero_contact",
        title="GHL lead -> starbuero.de address book",
        source_provider="ghl",
        source_object="contact",
        target_provider="starbuero",
        target_object="contact",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="GHL contacts (set a tag on the sync to take only leads with it) become entries of the "
        "starbuero.de caller address book, so call agents recognise them; changes follow, deletes follow the "
        "sync's delete policy.",
        writer=Writer.APP_WRITE,
        settings=("tag",),
        trigger="A GHL contact (optionally with a tag) is created, changed or deleted (Contact* webhook, or a poll)",
        action="Creates, updates or deletes the starbuero.de address-book entry",
        test="tests/connectors/starbuero/test_flows.py::"
        "test_ghl_leads_become_address_book_entries_that_follow_changes_and_deletes_and_take_the_bundle",
    ),
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    # Callers: German numbers by default.
    ("starbuero", "contact", "ghl", "contact"): [
        *contact_rules(
            name="caller_name|name",
            email="caller_email|email",
            phone="caller_number|phone",
            company="caller_company|company",
            source_label="starbuero.de",
            region_hint="DE",
        ),
        rule("tags", constant=["starbuero"], transforms=["to_tags"]),
    ],
    ("starbuero", "note", "ghl", "note"): ghl_note_rules(
        template="Call from {caller_name|caller_number} at {call_start}:\n{transcript|message}"
    ),
    ("starbuero", "task", "ghl", "task"): ghl_task_rules(
        title="title|summary|message", due="due_at|call_start|created_at", status="status", body="message"
    ),
    # A caller's number looks the GHL contact up; a new call (last_call) refreshes the summary.
    ("starbuero", "contact", "ghl", "bundle"): [
        # An anonymous or unreadable number looks nothing up: the writer skips the call and says so.
        rule("phone", source="caller_number", transforms=[("e164", {"region": "DE"})], on_invalid="skip"),
        rule("name", source="caller_name", transforms=["trim"]),
        rule("call_at", source="last_call", transforms=["datetime"], required=True),
    ],
    ("ghl", "contact", "starbuero", "contact"): [
        rule("firstname", source="firstName", transforms=["trim"]),
        rule("lastname", source="lastName", transforms=["trim"]),
        rule("company", source="companyName", transforms=["trim"]),
        # Lists in the address book: one checked value becomes a list of one (to_tags).
        rule("emailAddresses", source="email", transforms=["email", "to_tags"], on_invalid="skip"),
        rule("phoneNumbers", source="phone", transforms=["e164", "to_tags"], on_invalid="skip"),
        # No notice: the contact bundle flow writes the caller's summary there.
    ],
}
