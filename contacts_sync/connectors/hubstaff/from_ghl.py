"""Flows from GHL into Hubstaff beyond the critical contact: a GHL task, note or appointment becomes a Hubstaff
to-do in the sync's project (option `project_id`). Each to-do keeps its GHL contact's id in its metadata, so
the team can find the contact; a record deleted in GHL follows the sync's delete policy ("mirror" deletes the
to-do)."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.defaults import rule

E2E = "tests/sync/test_ghl_source_flows.py"

RECIPES = (
    Recipe(
        key="ghl_task_to_hubstaff_task",
        title="GHL task -> Hubstaff to-do",
        source_provider="ghl",
        source_object="task",
        target_provider="hubstaff",
        target_object="task",
        triggers=(WEBHOOK, POLL, MANUAL),
        description="Tasks on GHL contacts become Hubstaff to-dos in the sync's project; completing the GHL task "
        "completes the to-do.",
        writer=Writer.APP_WRITE,
        trigger="A task is added to, completed on or deleted from a GHL contact (TaskCreate, TaskComplete, "
        "TaskDelete); edits, which send no webhook, are found by the reconcile poll's task search",
        action="Creates the Hubstaff to-do in the sync's project, updates it, marks it completed, deletes it "
        "when the delete policy is 'mirror'",
        test=f"{E2E}::test_a_task_added_and_completed_in_ghl_becomes_a_completed_hubstaff_todo",
    ),
    Recipe(
        key="ghl_note_to_hubstaff_task",
        title="GHL note -> Hubstaff to-do",
        source_provider="ghl",
        source_object="note",
        target_provider="hubstaff",
        target_object="task",
        triggers=(WEBHOOK, POLL, MANUAL),
        description="Notes written on GHL contacts become Hubstaff to-dos (follow-ups) in the sync's project.",
        writer=Writer.APP_WRITE,
        trigger="A note is written, edited or deleted on a GHL contact (NoteCreate, NoteUpdate, NoteDelete)",
        action="Creates the Hubstaff to-do with the note's text, updates it when the note is edited",
        test=f"{E2E}::test_a_note_written_then_edited_in_ghl_is_one_hubstaff_todo_with_the_new_text",
    ),
    Recipe(
        key="ghl_appointment_to_hubstaff_task",
        title="GHL appointment -> Hubstaff to-do",
        source_provider="ghl",
        source_object="appointment",
        target_provider="hubstaff",
        target_object="task",
        triggers=(WEBHOOK, POLL, MANUAL),
        description="Appointments booked with GHL contacts become Hubstaff to-dos to prepare them.",
        writer=Writer.APP_WRITE,
        trigger="An appointment with a GHL contact is booked, moved or cancelled (AppointmentCreate, "
        "AppointmentUpdate, AppointmentDelete)",
        action="Creates the Hubstaff to-do naming the appointment and its time, updates it when it moves",
        test=f"{E2E}::test_an_appointment_booked_then_moved_in_ghl_is_one_hubstaff_todo_with_the_new_time",
    ),
)

_CONTACT_METADATA = [
    # Hubstaff metadata values are at most 200 characters; GHL ids are far shorter.
    rule("metadata.ghl_contact_id", source="contactId", transforms=[("to_text", {})]),
]

MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    ("ghl", "task", "hubstaff", "task"): [
        rule("summary", source="title", transforms=["trim", ("truncate", {"length": 200})], required=True),
        rule("details", template="{body}\n\nDue {dueDate}. GHL contact {contactId}.", transforms=["trim"]),
        # Hubstaff takes a status on updates only (a new to-do is active): completed <-> completed.
        rule(
            "status",
            source="completed",
            transforms=[
                "to_bool",
                ("value_map", {"map": {"true": "completed", "false": "active"}, "otherwise": "keep"}),
            ],
        ),
        *_CONTACT_METADATA,
        rule("metadata.ghl_task_id", source="id", transforms=[("to_text", {})]),
    ],
    ("ghl", "note", "hubstaff", "task"): [
        rule(
            "summary",
            template="GHL note: {body}",
            transforms=["html_to_text", ("truncate", {"length": 200})],
            required=True,
        ),
        rule("details", source="body", transforms=["html_to_text"]),
        *_CONTACT_METADATA,
        rule("metadata.ghl_note_id", source="id", transforms=[("to_text", {})]),
    ],
    ("ghl", "appointment", "hubstaff", "task"): [
        rule(
            "summary",
            template="Prepare: {title} ({startTime})",
            transforms=["trim", ("truncate", {"length": 200})],
            required=True,
        ),
        rule(
            "details",
            template="{title}\nFrom {startTime} to {endTime}\n{address}\n{notes}\n"
            "Status: {appointmentStatus}. GHL contact {contactId}.",
            transforms=["trim"],
        ),
        *_CONTACT_METADATA,
        rule("metadata.ghl_appointment_id", source="id", transforms=[("to_text", {})]),
    ],
}
