"""HotspotSystem's flows (its API is read-only: to GHL only) and their default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, Recipe, Writer
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, rule

# The checklist a new customer's contact gets unless the sync's settings say otherwise (editable per sync).
DEFAULT_ONBOARDING = [
    {"title": "Welcome call", "due_in_days": 1},
    {"title": "Send the Wi-Fi guide", "due_in_days": 3},
    {"title": "Ask for a review", "due_in_days": 14},
]

RECIPES = (
    Recipe(
        key="hotspotsystem_customer_to_ghl_contact",
        title="HotspotSystem customer -> GHL contact + onboarding tasks",
        source_provider="hotspotsystem",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="New HotspotSystem customers become GHL contacts (upsert), and each new contact gets the "
        "tasks of the sync's onboarding checklist (title, due in N days, assignee; edited on the sync's "
        "settings page). HotspotSystem has no webhooks: the sync polls.",
        writer=Writer.CONTACT_ONBOARDING,
        source_options={"onboarding_tasks": DEFAULT_ONBOARDING},
        settings=("onboarding_tasks",),
        trigger="A customer registers on a HotspotSystem hotspot (poll)",
        action="Upserts the GHL contact and adds the tasks of the sync's onboarding checklist",
        test="tests/connectors/hotspotsystem/test_flows.py::"
        "test_new_customers_become_contacts_with_the_syncs_onboarding_checklist",
    ),
    Recipe(
        key="hotspotsystem_transaction_to_ghl_note",
        title="HotspotSystem transactions -> GHL notes",
        source_provider="hotspotsystem",
        source_object="note",
        target_provider="ghl",
        target_object="note",
        triggers=(MANUAL, POLL),
        description="Each Wi-Fi login or purchase (social, MAC, voucher, paid) becomes a note on the customer's "
        "contact (the customer sync of the same connections must have run).",
        writer=Writer.NOTE_TAGS,
        parent_path="customer_id",
        trigger="A Wi-Fi login or purchase is recorded (poll)",
        action="Adds a note to the customer's contact",
        test="tests/connectors/hotspotsystem/test_flows.py::test_transactions_become_notes_on_their_customers_contact",
    ),
    Recipe(
        key="hotspotsystem_customer_to_ghl_business",
        title="HotspotSystem customer's company -> GHL business",
        source_provider="hotspotsystem",
        source_object="contact",
        target_provider="ghl",
        target_object="business",
        triggers=(MANUAL, POLL),
        description="A customer's company becomes the business of their GHL contact: the location's business of "
        "that name, or a new one (POST /businesses/), linked with POST /contacts/bulk/business (GHL's spec has "
        "no PUT /contacts/business/:businessId). Customers without a company are skipped.",
        writer=Writer.BUSINESS,
        parent_path="id",
        record_filter={"present": "company_name"},
        trigger="A customer with a company registers (poll)",
        action="Links the contact to the GHL business of that company, created when missing",
        test="tests/connectors/hotspotsystem/test_flows.py::"
        "test_a_customers_company_becomes_the_business_of_their_contact",
    ),
    Recipe(
        key="hotspotsystem_activity_to_ghl_note",
        title="HotspotSystem activity summary -> GHL note",
        source_provider="hotspotsystem",
        source_object="contact",
        target_provider="ghl",
        target_object="note",
        triggers=(MANUAL, POLL),
        description="One pinned note per customer sums up their Wi-Fi activity (sessions by type, locations, "
        "first and last seen, amount paid), updated in place when it changes, for the contact's dashboard.",
        writer=Writer.NOTE_TAGS,
        source_options={"source": "activity"},
        parent_path="customer_id",
        trigger="A customer's Wi-Fi activity changes (poll)",
        action="Keeps one pinned summary note on the contact, updated in place",
        test="tests/connectors/hotspotsystem/test_flows.py::"
        "test_a_customers_activity_is_one_pinned_summary_note_updated_in_place",
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
    ("hotspotsystem", "contact", "ghl", "business"): [
        rule("name", source="company_name", transforms=["trim", ("truncate", {"length": 255})], required=True),
    ],
    ("hotspotsystem", "contact", "ghl", "note"): [
        *ghl_note_rules(
            template="Wi-Fi activity (HotspotSystem): {sessions} sessions ({by_type}) at {locations}; first seen "
            "{first_seen} GMT, last seen {last_seen} GMT; paid: {spent}."
        ),
        rule("title", constant="Wi-Fi activity summary"),
        rule("pinned", constant=True),
    ],
}
