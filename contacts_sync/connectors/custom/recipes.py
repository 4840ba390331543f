"""Your own app's flows (conventions: ../shared/reference/source-apps.md section 5) and default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, ghl_task_rules, rule

from . import from_ghl

E2E = "tests/connectors/custom/test_flows.py"

RECIPES = (
    Recipe(
        key="custom_contact_to_ghl_contact",
        title="Your app -> GHL contact",
        source_provider="custom",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(WEBHOOK, MANUAL, POLL),
        description="Contacts from your own app (REST poll or signed webhook) become GHL contacts.",
        trigger="Your app sends a signed contact webhook, or a REST poll finds a changed record",
        action="Upserts the GHL contact",
        test="tests/sync/test_app_recipes.py::test_an_apps_records_become_ghl_contacts_and_a_rerun_writes_nothing[custom_contact_to_ghl_contact]",
    ),
    Recipe(
        key="custom_task_to_ghl_task",
        title="Your app task -> GHL task",
        source_provider="custom",
        source_object="task",
        target_provider="ghl",
        target_object="task",
        triggers=(WEBHOOK, MANUAL, POLL),
        description="Tasks from your app become tasks on the GHL contact their contact_id names (through the "
        "'Your app -> GHL contact' sync's links): created, updated, completed, and deleted by the delete policy.",
        writer=Writer.TASK,
        parent_path="contact_id",
        trigger="Your app sends a signed task.* webhook, or a REST poll of /tasks finds a changed task",
        action="Creates the task on the contact's GHL record, updates it, marks it completed",
        test=f"{E2E}::test_tasks_with_the_same_title_stay_distinct_tasks_and_follow_completion_and_deletes",
    ),
    Recipe(
        key="custom_note_to_ghl_note",
        title="Your app note -> GHL note",
        source_provider="custom",
        source_object="note",
        target_provider="ghl",
        target_object="note",
        triggers=(WEBHOOK, MANUAL, POLL),
        description="Notes from your app become notes on the GHL contact their contact_id names; an edit updates "
        "the same note.",
        writer=Writer.NOTE_TAGS,
        parent_path="contact_id",
        trigger="Your app sends a signed note.* webhook, or a REST poll of /notes finds a changed note",
        action="Adds the note to the contact's GHL record, updates it when it is edited",
        test=f"{E2E}::test_notes_land_on_their_contact_once_and_an_edit_updates_the_same_note",
    ),
    *from_ghl.RECIPES,
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("custom", "contact", "ghl", "contact"): [
        *contact_rules(
            name="name|full_name",
            email="email",
            phone="phone",
            company="company|company_name",
            source_label="Custom app",
            tags="tags",
        ),
        rule("firstName", source="first_name|firstName", transforms=["trim"]),
        rule("lastName", source="last_name|lastName", transforms=["trim"]),
    ],
    ("custom", "task", "ghl", "task"): ghl_task_rules(
        title="title|summary",
        due="due_date|due_at|dueDate|created_at",
        status="status|completed",
        body="description|body|details",
    ),
    ("custom", "note", "ghl", "note"): ghl_note_rules(body="body|text|note"),
}
if MAPPINGS.keys() & from_ghl.MAPPINGS.keys():  # a pair declared in both would silently lose one mapping
    raise ValueError(f"default mappings declared twice: {sorted(MAPPINGS.keys() & from_ghl.MAPPINGS.keys())}")
MAPPINGS.update(from_ghl.MAPPINGS)
