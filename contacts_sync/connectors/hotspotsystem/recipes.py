"""HotspotSystem's flows (its API is read-only: to GHL only) and their default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, Recipe
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, rule

RECIPES = (
    Recipe(
        key="hotspotsystem_customer_to_ghl_contact",
        title="HotspotSystem customer -> GHL contact",
        source_provider="hotspotsystem",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="New HotspotSystem customers become GHL contacts.",
        trigger="A customer registers on a HotspotSystem hotspot (poll)",
        action="Upserts the GHL contact with the customer's name, email, phone and address",
        test="tests/sync/test_app_recipes.py::test_an_apps_records_become_ghl_contacts_and_a_rerun_writes_nothing[hotspotsystem_customer_to_ghl_contact]",
    ),
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("hotspotsystem", "contact", "ghl", "contact"): [
        *contact_rules(
            name="name|user_name",
            email="email",
            phone="phone",
            company="company_name",
            source_label="HotspotSystem",
            tags="social_network",
        ),
        rule("address1", source="address", transforms=["trim"]),
        rule("city", source="city", transforms=["trim"]),
        rule("state", source="state", transforms=["trim"]),
        rule("postalCode", source="zip", transforms=["trim"]),
        rule("country", source="country_code", transforms=["trim", "upper"]),
    ],
    ("hotspotsystem", "note", "ghl", "note"): ghl_note_rules(
        template="Wi-Fi login via {social_network|type} at {location_name|location_id} on {action_date_gmt}"
    ),
}
