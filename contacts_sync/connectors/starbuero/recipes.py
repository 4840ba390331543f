"""starbuero.de's flows and their default mappings (record shapes: the documented assumptions in __init__)."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, ghl_task_rules, rule

RECIPES = (
    Recipe(
        key="starbuero_call_to_ghl_contact",
        title="starbuero.de call -> GHL contact + note",
        source_provider="starbuero",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(WEBHOOK, MANUAL, POLL),
        description="Each call record becomes a lead contact with a note carrying the message.",
        note_from="note",
        trigger="starbuero.de takes a call for you (webhook, or a poll of call records)",
        action="Upserts the caller as a GHL contact (new lead) and adds a note with the message",
        test="tests/sync/test_app_recipes.py::test_a_starbuero_call_leaves_a_note_on_its_contact",
    ),
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    # Call records: German numbers by default.
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
        template="Call from {caller_name|caller_number} at {call_start}:\n{message|transcript}"
    ),
    ("starbuero", "task", "ghl", "task"): ghl_task_rules(
        title="title|summary|message", due="due_at|call_start|created_at", status="status", body="message"
    ),
}
