"""UpGuard's flows and their default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, Recipe
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, ghl_task_rules

RECIPES = (
    Recipe(
        key="upguard_vendor_to_ghl_contact",
        title="UpGuard vendor contact -> GHL contact + tags",
        source_provider="upguard",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="UpGuard vendor contacts become GHL contacts; vendor labels become tags.",
        trigger="A vendor contact is added or changed in UpGuard (poll)",
        action="Upserts the GHL contact; the vendor's labels become tags",
        test="tests/sync/test_app_recipes.py::test_an_apps_records_become_ghl_contacts_and_a_rerun_writes_nothing[upguard_vendor_to_ghl_contact]",
    ),
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("upguard", "contact", "ghl", "contact"): contact_rules(
        name="name",
        email="email_address|email",
        phone="phone_mobile|phone",
        company="vendor.name|vendor_name|company",
        source_label="UpGuard",
        tags="labels|vendor.labels",
    ),
    ("upguard", "task", "ghl", "task"): ghl_task_rules(
        title="finding|title|risk",
        due="firstDetected|date_occurred|created_at",
        status="status",
        body="description|remediation",
        done_value="closed",
    ),
    ("upguard", "note", "ghl", "note"): ghl_note_rules(template="{description}\n\n({type}, {occurred_at})"),
}
