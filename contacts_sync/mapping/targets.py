"""The fields a mapping can write, per target object (GHL standard fields + the location's custom fields).

Names follow GHL's write DTOs (CreateContactDto, CreateTaskParams, NotesDTO, ...; ../shared/reference/ghl-api.md).
Only documented body fields are listed: GHL answers 422 "property X should not exist" for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import CUSTOM_PREFIX


@dataclass(frozen=True)
class FieldSpec:
    path: str  # the target field name, or customField.<id|key>
    label: str
    type: str = "string"  # string | email | phone | date | datetime | bool | number | list | html | text
    sensitive: bool = False
    required: bool = False  # the target rejects a record without it
    multi: bool = False  # several rows may fill it (values merged)
    one_of: str = ""  # fields sharing a group name: at least one of them must be mapped
    help: str = ""


def _f(path: str, label: str, type: str = "string", **kw: Any) -> FieldSpec:
    return FieldSpec(path, label, type, **kw)


_IDENTITY = "contact identity"

GHL_FIELDS: dict[str, list[FieldSpec]] = {
    "contact": [
        _f("firstName", "First name", one_of=_IDENTITY),
        _f("lastName", "Last name", one_of=_IDENTITY),
        _f("name", "Full name", one_of=_IDENTITY),
        _f("email", "Email", "email", one_of=_IDENTITY, sensitive=True),
        _f("phone", "Phone (E.164)", "phone", one_of=_IDENTITY, sensitive=True),
        _f("companyName", "Company name"),
        _f("address1", "Street address", sensitive=True),
        _f("city", "City"),
        _f("state", "State"),
        _f("postalCode", "Postal code"),
        _f("country", "Country (2 letters)"),
        _f("website", "Website"),
        _f("timezone", "Time zone"),
        _f("dateOfBirth", "Date of birth", "date", sensitive=True),
        _f("gender", "Gender"),
        _f("source", "Source"),
        _f("tags", "Tags", "list", multi=True, help="Merged from every row that maps to it"),
        _f("assignedTo", "Assigned user id"),
        _f("dnd", "Do not disturb", "bool"),
        # Not a contact field: the contact writer turns it into a note on the contact (a call's message).
        _f("note", "Note on the contact", "text", help="Created as a separate note after the upsert"),
    ],
    "task": [
        _f("title", "Title", required=True),
        _f("body", "Description", "text"),
        _f("dueDate", "Due date (ISO, UTC)", "datetime", required=True),
        _f("completed", "Completed", "bool", required=True),
        _f("assignedTo", "Assigned user id"),
    ],
    "note": [
        _f("body", "Body", "text", required=True),
        _f("userId", "Author user id"),
        # Not a note field: the note writer adds these tags to the parent contact.
        _f("tags", "Tags on the contact", "list", multi=True),
    ],
    "tag": [
        _f("tags", "Tags", "list", required=True, multi=True),
    ],
    "appointment": [
        _f("calendarId", "Calendar id", required=True),
        _f("startTime", "Start (ISO)", "datetime", required=True),
        _f("endTime", "End (ISO)", "datetime"),
        _f("title", "Title"),
        _f("appointmentStatus", "Status"),
        _f("assignedUserId", "Assigned user id"),
        _f("address", "Address"),
        _f("notes", "Notes", "text"),
    ],
    "business": [
        _f("name", "Name", required=True),
        _f("phone", "Phone", "phone"),
        _f("email", "Email", "email"),
        _f("website", "Website"),
        _f("address", "Address"),
        _f("city", "City"),
        _f("state", "State"),
        _f("postalCode", "Postal code"),
        _f("country", "Country"),
        _f("description", "Description", "text"),
    ],
}

# Written targets outside GHL (a GHL contact event -> a Hubstaff to-do; spec: POST /v2/projects/{id}/tasks).
OTHER_FIELDS: dict[tuple[str, str], list[FieldSpec]] = {
    ("hubstaff", "task"): [
        _f("summary", "Summary", required=True),
        _f("details", "Details", "text"),
        _f("status", "Status (active | completed; updates only)"),
        _f("assignee_ids", "Assignee user ids", "list"),
        _f("project_id", "Project id (else the sync's project)", "number"),
        _f("metadata.ghl_contact_id", "Metadata: GHL contact id"),
    ],
}

# GHL custom field dataType -> our field type (for the editor's hints and suggested transforms).
_CUSTOM_TYPES = {
    "DATE": "date",
    "NUMERICAL": "number",
    "MONETORY": "number",
    "PHONE": "phone",
    "EMAIL": "email",
    "CHECKBOX": "list",
    "MULTIPLE_OPTIONS": "list",
    "LARGE_TEXT": "text",
}


def custom_field_specs(custom_fields: list[dict[str, Any]] | None) -> list[FieldSpec]:
    """The location's custom fields (GET /locations/{id}/customFields) as target fields.

    The path uses the field key (customField.contact.industry) when there is one: keys are the same in every
    location that defines the field and survive re-creation, ids do not. Without a key: customField.<id>.
    """
    specs = []
    for field in custom_fields or []:
        if not isinstance(field, dict):
            continue
        key = str(field.get("fieldKey") or field.get("key") or "")
        ref = key if "." in key else str(field.get("id") or key)
        if not ref:
            continue
        name = field.get("name") or ref
        label = f"{name} (custom{': ' + key if key else ''})"
        kind = _CUSTOM_TYPES.get(str(field.get("dataType")), "string")
        specs.append(FieldSpec(f"{CUSTOM_PREFIX}{ref}", label, kind))
    return specs


def target_fields(
    object_kind: str, custom_fields: list[dict[str, Any]] | None = None, *, provider: str = "ghl"
) -> list[FieldSpec]:
    """The fields a rule may target for this object (custom fields only exist on GHL contacts)."""
    if provider != "ghl":
        return list(OTHER_FIELDS.get((provider, object_kind), []))
    fields = list(GHL_FIELDS.get(object_kind, []))
    if object_kind == "contact":
        fields.extend(custom_field_specs(custom_fields))
    return fields
