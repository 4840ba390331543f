"""Hubstaff's flows (both directions) and their default mappings."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import ghl_note_rules, ghl_task_rules, rule

from . import from_ghl

# A GHL task (one a Hubstaff task sync wrote) completed -> its Hubstaff to-do completed. The summary is shown on
# the run item (Hubstaff tasks require one); only the status is written. The recipe's own mapping: the pair's
# default (from_ghl) copies a whole task.
_COMPLETION_RULES = (
    rule("summary", source="title", transforms=["trim", ("truncate", {"length": 200})], required=True),
    rule(
        "status",
        source="completed",
        transforms=[
            ("value_map", {"map": {"true": "completed", "false": "active"}, "ignore_case": True, "otherwise": "error"})
        ],
        required=True,
    ),
    rule("counterpart_id", source="counterpart_id", transforms=["to_text"], required=True),
)

RECIPES = (
    Recipe(
        key="hubstaff_client_to_ghl_contact",
        title="Hubstaff client -> GHL contact",
        source_provider="hubstaff",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="Each Hubstaff client becomes a GHL contact (upsert), and is updated when it changes.",
        source_options={"source": "clients"},
        trigger="A Hubstaff client is created or updated (client.* webhook, or a poll)",
        action="Upserts the GHL contact (matched by email, then phone) and keeps it updated",
        test="tests/webhooks/test_replay_end_to_end.py::test_an_editor_registers_the_hubstaff_webhook_and_its_event_syncs_the_client",
    ),
    Recipe(
        key="hubstaff_member_to_ghl_contact",
        title="Hubstaff member -> GHL contact",
        source_provider="hubstaff",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=(MANUAL, POLL),
        description="Each member of the Hubstaff organization becomes a GHL contact.",
        source_options={"source": "members"},
        trigger="A member joins or changes in the Hubstaff organization (poll)",
        action="Upserts the GHL contact with the member's name and email",
        test="tests/sync/test_member_flow.py::test_each_hubstaff_member_becomes_a_ghl_contact_with_their_email",
    ),
    Recipe(
        key="hubstaff_task_to_ghl_task",
        title="Hubstaff task -> GHL task",
        source_provider="hubstaff",
        source_object="task",
        target_provider="ghl",
        target_object="task",
        triggers=(MANUAL, POLL, WEBHOOK),
        description="Hubstaff to-dos become tasks on the client's GHL contact: created, updated, completed.",
        writer=Writer.TASK,
        parent_path="client_id",
        trigger="A Hubstaff to-do is created, updated or completed (task.* webhook, or a poll)",
        action="Creates the task on the client's GHL contact, updates it, marks it completed",
        test="tests/sync/test_recipes.py::test_hubstaff_tasks_become_tasks_on_the_clients_contact_and_completion_follows",
    ),
    Recipe(
        key="hubstaff_note_to_ghl_note",
        title="Hubstaff notes and metadata -> GHL notes and tags",
        source_provider="hubstaff",
        source_object="note",
        target_provider="ghl",
        target_object="note",
        triggers=(MANUAL, POLL),
        description="Hubstaff time-slot notes become notes on the client's contact; metadata become tags.",
        writer=Writer.NOTE_TAGS,
        parent_path="client_id",
        trigger="A time-slot note is recorded in Hubstaff (poll)",
        action="Adds the note to the client's GHL contact and its metadata as tags",
        test="tests/sync/test_recipes.py::test_hubstaff_notes_become_notes_on_the_clients_contact_once",
    ),
    Recipe(
        key="ghl_critical_contact_to_hubstaff_task",
        title="Critical GHL contact -> Hubstaff task",
        source_provider="ghl",
        source_object="contact",
        target_provider="hubstaff",
        target_object="task",
        triggers=(WEBHOOK, POLL, MANUAL),
        description="A GHL contact tagged 'critical' opens a Hubstaff to-do in the configured project.",
        writer=Writer.APP_WRITE,
        source_options={"tag": "critical"},
        record_filter={"tag": "critical"},
        trigger="A GHL contact tagged 'critical' is created or updated (Contact* webhook, or a poll)",
        action="Opens one Hubstaff to-do in the sync's project naming the contact",
        test="tests/webhooks/test_replay_end_to_end.py::test_a_webhook_replayed_five_times_produces_one_change",
        settings=("project_id",),
    ),
    Recipe(
        key="ghl_task_completed_to_hubstaff_task",
        title="GHL task completed -> Hubstaff task completed",
        source_provider="ghl",
        source_object="task",
        target_provider="hubstaff",
        target_object="task",
        triggers=(POLL, MANUAL),
        description="A task completed in HighLevel completes the Hubstaff to-do it was made from (by the "
        "'Hubstaff task -> GHL task' sync of the same connections; PUT /v2/tasks/{id} with the task's current "
        "lock_version). Reads only the GHL tasks that sync wrote; never reopens, never creates.",
        writer=Writer.MIRROR_STATUS,
        source_options={"mirror_of": "task"},
        rules=_COMPLETION_RULES,
        incremental_source=True,  # only completed tasks are read: a poll may rightly read none
        trigger="A GHL task that a Hubstaff to-do became is completed in HighLevel (a poll)",
        action="Completes the Hubstaff to-do (with its current lock_version); never reopens, never creates",
        test="tests/connectors/hubstaff/test_flows.py::"
        "test_a_task_completed_in_ghl_completes_its_hubstaff_task_with_its_lock_version",
    ),
    *from_ghl.RECIPES,
)

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    # Hubstaff clients are companies (no person name to split); members carry user.first_name/last_name.
    ("hubstaff", "contact", "ghl", "contact"): [
        rule("name", source="name|user.name", transforms=["trim"]),
        rule("firstName", source="user.first_name", transforms=["trim"]),
        rule("lastName", source="user.last_name", transforms=["trim"]),
        rule("email", source="emails.0|email|user.email", transforms=["email"]),
        rule("phone", source="phone|user.phone", transforms=["e164"], on_invalid="skip"),
        rule("companyName", source="company|name", transforms=["trim", ("truncate", {"length": 255})]),
        rule("source", constant="Hubstaff"),
        # Hubstaff has no tags; its key/value metadata becomes GHL tags ("tier:gold").
        rule("tags", source="metadata", transforms=["to_tags"], on_invalid="skip"),
    ],
    ("hubstaff", "task", "ghl", "task"): ghl_task_rules(
        title="summary", due="due_at|created_at", status="status", body="details"
    ),
    ("hubstaff", "note", "ghl", "note"): ghl_note_rules(template="{note}\n\n(Hubstaff, {recorded_at|date})"),
    # A critical GHL contact event -> a Hubstaff to-do.
    ("ghl", "contact", "hubstaff", "task"): [
        rule(
            "summary",
            template="Follow up: {name|firstName|email|phone|id}",
            transforms=[("truncate", {"length": 200})],
            required=True,
        ),
        rule(
            "details",
            template="GHL contact {id}\nEmail: {email}\nPhone: {phone}\nTags: {tags}",
            transforms=["trim"],
        ),
        # Hubstaff metadata values are at most 200 characters; a GHL contact id is far shorter.
        rule("metadata.ghl_contact_id", source="id", transforms=[("to_text", {})]),
    ],
}
if MAPPINGS.keys() & from_ghl.MAPPINGS.keys():  # a pair declared in both would silently lose one mapping
    raise ValueError(f"default mappings declared twice: {sorted(MAPPINGS.keys() & from_ghl.MAPPINGS.keys())}")
MAPPINGS.update(from_ghl.MAPPINGS)
