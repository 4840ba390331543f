"""UpGuard's flows (both directions) and their default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import contact_rules, ghl_note_rules, rule

SOURCE_LABEL = "UpGuard"
# The tag the vendor-contact sync puts on its GHL contacts: the label flow back reads only those (a server-side
# filter of the GHL search) and never sends the tag itself as a label.
MARKER_TAG = "upguard"

RECIPES = (
    Recipe(
        key="upguard_vendor_to_ghl_contact",
        title="UpGuard vendor contact -> GHL contact + tags",
        source_provider="upguard",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="UpGuard vendor contacts become GHL contacts tagged 'upguard'; vendor labels become tags, the "
        "vendor's primary hostname the contact's website.",
        trigger="A vendor contact is added or changed in UpGuard (poll)",
        action="Upserts the GHL contact tagged 'upguard'; the vendor's labels become tags, its hostname the website",
        test="tests/connectors/upguard/test_flows.py::"
        "test_vendor_contacts_become_contacts_with_the_vendors_labels_and_hostname",
    ),
    Recipe(
        key="upguard_risk_to_ghl_task",
        title="UpGuard risk or breach -> GHL security task",
        source_provider="upguard",
        source_object="task",
        target_provider="ghl",
        target_object="task",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="Each vendor risk, and each breach notification, becomes a security task on the vendor's "
        "first contact (severity in the title, the finding and remediation in the body); when UpGuard reports "
        "the risk resolved, the task is completed (PUT /contacts/:contactId/tasks/:taskId/completed).",
        writer=Writer.TASK,
        parent_path="vendor_contact_id",
        trigger="A vendor risk is found, a breach reported or a risk resolved (poll, or an UpGuard webhook)",
        action="Creates a security task on the vendor's contact and completes it when UpGuard reports the risk resolved",
        test="tests/connectors/upguard/test_flows.py::"
        "test_risks_and_breaches_become_security_tasks_completed_when_upguard_reports_them_resolved",
    ),
    Recipe(
        key="upguard_notification_to_ghl_note",
        title="UpGuard activity -> GHL notes (audit trail)",
        source_provider="upguard",
        source_object="note",
        target_provider="ghl",
        target_object="note",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="UpGuard notifications (score changes, assessments, breaches) become notes on the vendor's "
        "first contact: an audit trail of what UpGuard saw. Notifications about no vendor need a default "
        "contact (option ghl_contact_id).",
        writer=Writer.NOTE_TAGS,
        parent_path="vendor_contact_id",
        settings=("ghl_contact_id",),
        trigger="UpGuard records an activity notification (poll, or an UpGuard webhook)",
        action="Adds an audit-trail note to the vendor's contact",
        test="tests/connectors/upguard/test_flows.py::test_notifications_become_an_audit_trail_of_notes",
    ),
    Recipe(
        key="ghl_tags_to_upguard_vendor_labels",
        title="GHL tags -> UpGuard vendor labels",
        source_provider="ghl",
        source_object="contact",
        target_provider="upguard",
        target_object="tag",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="Tags of the GHL contacts the UpGuard vendor-contact sync made (tagged 'upguard', website = "
        "the vendor's hostname) are added to the vendor's labels (PUT /vendor/labels with the current labels "
        "kept): GHL enriches UpGuard, it never removes a label.",
        writer=Writer.APP_WRITE,
        source_options={"tag": MARKER_TAG},
        record_filter={"tag": MARKER_TAG},
        trigger="A GHL contact tagged 'upguard' gets tags (Contact* webhook, or a poll)",
        action="Adds the tags to the vendor's UpGuard labels, never removing one",
        test="tests/connectors/upguard/test_flows.py::"
        "test_ghl_tags_are_added_to_the_vendors_labels_and_never_remove_one",
    ),
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("upguard", "contact", "ghl", "contact"): [
        *contact_rules(
            name="name",
            email="email_address|email",
            phone="phone_mobile|phone",
            company="vendor.name|vendor_name|company",
            source_label=SOURCE_LABEL,
            tags="labels|vendor.labels",
        ),
        rule("tags", constant=[MARKER_TAG], transforms=["to_tags"]),
        rule("website", source="vendor.primary_hostname|primary_hostname", transforms=["trim", "lower"]),
    ],
    ("upguard", "task", "ghl", "task"): [
        rule(
            "title",
            template="[{severity}] {finding} ({vendor.name|vendor.primary_hostname})",
            transforms=["trim", ("truncate", {"length": 255})],
            required=True,
        ),
        # Resolved risks (from the risk diffs) carry no detection date: the task keeps the one it has.
        rule("dueDate", source="firstDetected", transforms=["datetime"]),
        rule("completed", source="status", transforms=[("equals", {"value": "resolved"})], required=True),
        rule(
            "body",
            template="{description}\n\nRemediation: {remediation}\nVendor: {vendor.name} ({vendor.primary_hostname})",
            transforms=["html_to_text"],
        ),
    ],
    ("upguard", "note", "ghl", "note"): ghl_note_rules(template="{description}\n\n({type}, {occurred_at})"),
    ("ghl", "contact", "upguard", "tag"): [
        rule("vendor_primary_hostname", source="website", transforms=["trim", "lower"], required=True),
        rule("labels", source="tags", transforms=[("to_tags", {"exclude": MARKER_TAG})]),
    ],
}
