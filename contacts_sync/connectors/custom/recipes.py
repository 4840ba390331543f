"""Your own app's flows (conventions: ../shared/reference/source-apps.md section 5) and default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, ghl_task_rules, rule

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
