"""GHL -> your app: contact, task, note and appointment changes pushed as signed Standard Webhooks (outgoing.py),
with a cursor-paged changes feed to catch up on missed ones. The default mapping shapes `data`: the GHL record's
fields under plain snake_case names (only those the record has); edit it like any other mapping. The receiver URL,
signing secret and feed token live on the sync's WebhookEndpoint (set up on its delivery log page), not in options;
the option `kinds` (e.g. ["contact", "task"]) narrows what is forwarded."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import rule

from .outgoing import KINDS

RECIPES = (
    Recipe(
        key="ghl_changes_to_custom_app",
        title="GHL changes -> your app (signed webhooks)",
        source_provider="ghl",
        source_object="change",
        target_provider="custom",
        target_object="webhook",
        triggers=(WEBHOOK,),
        description="Every contact, task, note and appointment change in the GHL location is sent to your app "
        "in real time as a Standard Webhook (signed with the endpoint's whsec_ secret), retried with backoff, "
        "logged per attempt, and kept in a changes feed (GET /api/v1/changes/) your app can page through.",
        writer=Writer.OUTBOX,
        source_objects=KINDS,
        settings=("kinds",),
        # GHL sends a location's events to an app that holds the object's read scope (Marketplace webhook
        # settings; the shared specs do not list them per event).
        ghl_scopes=("calendars/events.readonly", "contacts.readonly"),
        trigger="A contact, task, note or appointment is created, changed or deleted in GHL (its webhook)",
        action="Sends your app a signed webhook per change (retried, logged, replayable) and adds it to the "
        "changes feed",
        test="tests/connectors/custom/test_outgoing.py::"
        "test_ghl_changes_reach_the_app_signed_in_order_once_and_match_the_delivery_log",
    ),
)


def _text(target: str, source: str) -> dict[str, Any]:
    """A text field of the record, trimmed; a value of another shape (an object where text belongs) is left out of
    `data`, never sent as it came."""
    return rule(target, source=source, transforms=["trim"], on_invalid="skip")


MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("ghl", "change", "custom", "webhook"): [
        rule("id", source="id", transforms=["to_text"], required=True),
        *(
            _text(target, source)
            for target, source in (
                ("contact_id", "contactId"),
                ("first_name", "firstName"),
                ("last_name", "lastName"),
                ("name", "name|contactName"),
                ("email", "email"),
                ("phone", "phone"),
                ("company", "companyName"),
            )
        ),
        rule("tags", source="tags", transforms=["to_tags"], on_invalid="skip"),
        *(_text(target, source) for target, source in (("title", "title"), ("body", "body"), ("due_date", "dueDate"))),
        rule("completed", source="completed", transforms=["to_bool"], on_invalid="skip"),
        *(
            _text(target, source)
            for target, source in (
                ("calendar_id", "calendarId"),
                ("start_time", "startTime"),
                ("end_time", "endTime"),
                ("status", "appointmentStatus|status"),
                ("updated_at", "dateUpdated"),
            )
        ),
    ],
}
