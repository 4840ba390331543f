"""The fields a mapping can write, per target object (GHL standard fields + the location's custom fields).

Names follow GHL's write DTOs (CreateContactDto, CreateTaskParams, NotesDTO, ...; ../shared/reference/ghl-api.md).
Only documented body fields are listed: GHL answers 422 "property X should not exist" for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from .types import CUSTOM_PREFIX

# Types whose text may be cut to the field's limit (a cut email, phone, date or id would be a wrong value).
CUTTABLE_TYPES = frozenset({"string", "text", "html", "list"})


@dataclass(frozen=True)
class FieldSpec:
    path: str  # the target field name, or customField.<id|key>
    label: str
    type: str = "string"  # string | email | phone | date | datetime | bool | number | list | html | text
    sensitive: bool = False
    required: bool = False  # the target rejects a record without it
    multi: bool = False  # several rows may fill it (values merged)
    one_of: str = ""  # fields sharing a group name: at least one of them must be mapped (and have a value)
    help: str = ""
    max_length: int | None = None  # the most characters the target keeps (per entry for lists); None = no limit
    multiline: bool = False  # the target keeps line breaks (and tabs) in it: note and task bodies
    exact: bool = False  # an id or code: a longer value is refused, never cut (it would point somewhere else)

    @property
    def can_cut(self) -> bool:
        return self.type in CUTTABLE_TYPES and not self.exact


def _f(path: str, label: str, type: str = "string", **kw: Any) -> FieldSpec:
    return FieldSpec(path, label, type, **kw)


# Length limits. GHL's spec states one text limit (NotesDTO.body, maxLength 5000, apps/calendars.json); its other
# write DTOs state none, so the rest are our choices, each with its reason. A text over its limit is cut with a
# warning on the run item; an id, code, email or phone over it is refused.
NOTE_BODY_MAX = 5000  # stated: NotesDTO.body maxLength 5000 (../shared/specs/ghl/apps/calendars.json)
LONG_TEXT_MAX = 5000  # task bodies, descriptions, custom field values: the one long-text limit GHL states
NAME_PART_MAX = 100  # a first or last name: real ones are far shorter; more is a wrong column or junk
FULL_NAME_MAX = 201  # a first name, a space and a last name
LINE_MAX = 255  # company, street, source, titles: the VARCHAR(255) of the forms GHL imports from
SHORT_MAX = 100  # city, state, country, gender, status: short words
POSTAL_CODE_MAX = 20  # the longest real postal codes have 10 characters; 20 leaves room for spacing
EMAIL_MAX = 254  # RFC 5321: the longest address a mail server accepts
PHONE_MAX = 50  # E.164 has at most 16 characters; 50 leaves room for "(202) 456-1111 ext. 12" before e164
URL_MAX = 2048  # the practical URL limit of browsers
TIME_ZONE_MAX = 64  # IANA zone names have at most 32 characters
ID_MAX = 50  # GHL ids have 20 characters; the spec's one id limit (ContactsBusinessUpdate.ids) is 50
TAG_MAX = 100  # a tag is a label shown as a chip; more is a sentence, not a tag
DATE_MAX = 40  # the longest ISO 8601 date-time with microseconds and an offset
HUBSTAFF_SUMMARY_MAX = 200  # Hubstaff states no to-do limit; 200 is its metadata value limit (source-apps.md)
HUBSTAFF_METADATA_MAX = 200  # stated: Hubstaff metadata values are at most 200 characters (source-apps.md)

_IDENTITY = "contact identity"


class _Exact(TypedDict):
    max_length: int
    exact: bool


_ID: _Exact = {"max_length": ID_MAX, "exact": True}

GHL_FIELDS: dict[str, list[FieldSpec]] = {
    "contact": [
        _f("firstName", "First name", one_of=_IDENTITY, max_length=NAME_PART_MAX),
        _f("lastName", "Last name", one_of=_IDENTITY, max_length=NAME_PART_MAX),
        _f("name", "Full name", one_of=_IDENTITY, max_length=FULL_NAME_MAX),
        _f("email", "Email", "email", one_of=_IDENTITY, sensitive=True, max_length=EMAIL_MAX),
        _f("phone", "Phone (E.164)", "phone", one_of=_IDENTITY, sensitive=True, max_length=PHONE_MAX),
        _f("companyName", "Company name", max_length=LINE_MAX),
        _f("address1", "Street address", sensitive=True, max_length=LINE_MAX),
        _f("city", "City", max_length=SHORT_MAX),
        _f("state", "State", max_length=SHORT_MAX),
        _f("postalCode", "Postal code", max_length=POSTAL_CODE_MAX),
        _f("country", "Country (2 letters)", max_length=SHORT_MAX),
        _f("website", "Website", max_length=URL_MAX, exact=True),
        _f("timezone", "Time zone", max_length=TIME_ZONE_MAX, exact=True),
        _f("dateOfBirth", "Date of birth", "date", sensitive=True, max_length=DATE_MAX),
        _f("gender", "Gender", max_length=SHORT_MAX),
        _f("source", "Source", max_length=LINE_MAX),
        _f(
            "tags",
            "Tags",
            "list",
            multi=True,
            help="Merged from every row that maps to it",
            max_length=TAG_MAX,
        ),
        _f("assignedTo", "Assigned user id", **_ID),
        _f("dnd", "Do not disturb", "bool"),
        # Not a contact field: the contact writer turns it into a note on the contact (a call's message).
        _f(
            "note",
            "Note on the contact",
            "text",
            help="Created as a separate note after the upsert",
            max_length=NOTE_BODY_MAX,
            multiline=True,
        ),
    ],
    "task": [
        _f("title", "Title", required=True, max_length=LINE_MAX),
        _f("body", "Description", "text", max_length=LONG_TEXT_MAX, multiline=True),
        _f("dueDate", "Due date (ISO, UTC)", "datetime", required=True, max_length=DATE_MAX),
        _f("completed", "Completed", "bool", required=True),
        _f("assignedTo", "Assigned user id", **_ID),
    ],
    "note": [
        _f("body", "Body", "text", required=True, max_length=NOTE_BODY_MAX, multiline=True),
        _f("title", "Title", max_length=LINE_MAX),
        _f("pinned", "Pinned", "bool"),
        _f("userId", "Author user id", **_ID),
        # Not a note field: the note writer adds these tags to the parent contact.
        _f("tags", "Tags on the contact", "list", multi=True, max_length=TAG_MAX),
    ],
    "tag": [
        _f("tags", "Tags", "list", required=True, multi=True, max_length=TAG_MAX),
    ],
    "appointment": [
        _f("calendarId", "Calendar id", required=True, **_ID),
        _f("startTime", "Start (ISO)", "datetime", required=True, max_length=DATE_MAX),
        _f("endTime", "End (ISO)", "datetime", max_length=DATE_MAX),
        _f("title", "Title", max_length=LINE_MAX),
        _f("appointmentStatus", "Status", max_length=SHORT_MAX, exact=True),
        _f("assignedUserId", "Assigned user id", **_ID),
        _f("address", "Address", max_length=LINE_MAX),
        _f("notes", "Notes", "text", max_length=LONG_TEXT_MAX, multiline=True),
    ],
    # Not a GHL object: what a contact bundle is looked up by (a caller's number) and named in the summary.
    "bundle": [
        _f("phone", "Phone to look the contact up by (E.164)", "phone", max_length=PHONE_MAX),
        _f("name", "Caller name (shown when the entry is new)", max_length=FULL_NAME_MAX),
        _f("call_at", "Call time (a new call refreshes the summary)", "datetime", required=True, max_length=DATE_MAX),
    ],
    "business": [
        _f("name", "Name", required=True, max_length=LINE_MAX),
        _f("phone", "Phone", "phone", max_length=PHONE_MAX),
        _f("email", "Email", "email", max_length=EMAIL_MAX),
        _f("website", "Website", max_length=URL_MAX, exact=True),
        _f("address", "Address", max_length=LINE_MAX),
        _f("city", "City", max_length=SHORT_MAX),
        _f("state", "State", max_length=SHORT_MAX),
        _f("postalCode", "Postal code", max_length=POSTAL_CODE_MAX),
        _f("country", "Country", max_length=SHORT_MAX),
        _f("description", "Description", "text", max_length=LONG_TEXT_MAX, multiline=True),
    ],
}

# Written targets outside GHL (a GHL contact event -> a Hubstaff to-do; spec: POST /v2/projects/{id}/tasks).
OTHER_FIELDS: dict[tuple[str, str], list[FieldSpec]] = {
    ("hubstaff", "task"): [
        _f("summary", "Summary", required=True, max_length=HUBSTAFF_SUMMARY_MAX),
        _f("details", "Details", "text", max_length=LONG_TEXT_MAX, multiline=True),
        _f("status", "Status (active | completed; updates only)", max_length=SHORT_MAX, exact=True),
        _f("assignee_ids", "Assignee user ids", "list"),
        _f("project_id", "Project id (else the sync's project)", "number"),
        *(
            _f(f"metadata.ghl_{kind}_id", f"Metadata: GHL {kind} id", max_length=HUBSTAFF_METADATA_MAX, exact=True)
            for kind in ("contact", "task", "note", "appointment")  # a to-do names the GHL record it came from
        ),
        # Mirror flows only (a GHL task completed -> its Hubstaff task): the task to set, from the forward link.
        _f("counterpart_id", "Hubstaff task id (mirror flows)", max_length=ID_MAX, exact=True),
    ],
    # GHL contacts -> the starbuero.de caller address book (POST/PUT /addon_contact/contact; assumed shapes).
    ("starbuero", "contact"): [
        _f("salutation", "Salutation", max_length=SHORT_MAX),
        _f("firstname", "First name", one_of=_IDENTITY, max_length=NAME_PART_MAX),
        _f("lastname", "Last name", one_of=_IDENTITY, max_length=NAME_PART_MAX),
        _f("company", "Company", one_of=_IDENTITY, max_length=LINE_MAX),
        _f("emailAddresses", "E-mail addresses", "list", max_length=EMAIL_MAX),
        _f("phoneNumbers", "Phone numbers", "list", one_of=_IDENTITY, max_length=PHONE_MAX),
        _f("notice", "Notice (shown to the call agent)", "text", max_length=LONG_TEXT_MAX, multiline=True),
        _f("vip", "VIP", "bool"),
    ],
    # GHL changes -> your app: the `data` of each outgoing webhook (connectors/custom/from_ghl.py). No limits: the
    # app takes what GHL has.
    ("custom", "webhook"): [
        _f("id", "Record id", required=True, exact=True),
        _f("contact_id", "Contact id (tasks, notes, appointments)", exact=True),
        _f("first_name", "First name"),
        _f("last_name", "Last name"),
        _f("name", "Name"),
        _f("email", "E-mail"),
        _f("phone", "Phone"),
        _f("company", "Company"),
        _f("tags", "Tags", "list"),
        _f("title", "Title (tasks, appointments)"),
        _f("body", "Body (notes, tasks)", "text", multiline=True),
        _f("due_date", "Due date (tasks)"),
        _f("completed", "Completed (tasks)", "bool"),
        _f("calendar_id", "Calendar id (appointments)", exact=True),
        _f("start_time", "Start (appointments)"),
        _f("end_time", "End (appointments)"),
        _f("status", "Status (appointments)"),
        _f("updated_at", "Updated at"),
    ],
    # GHL tags -> an UpGuard vendor's labels (PUT /vendor/labels; added to the vendor's labels, never removed).
    ("upguard", "tag"): [
        _f("vendor_primary_hostname", "Vendor primary hostname", required=True, max_length=LINE_MAX, exact=True),
        _f("labels", "Labels to add", "list", max_length=TAG_MAX),
    ],
}

# What a custom field value gets when the location's definitions are not at hand (apply() has only the rule's
# path): a LARGE_TEXT field keeps line breaks, and keeping one in a single-line field loses nothing.
CUSTOM_FIELD_SPEC = FieldSpec(CUSTOM_PREFIX, "Custom field", "text", max_length=LONG_TEXT_MAX, multiline=True)

# Required fields the GHL writers fill themselves when the payload has none (connectors/ghl/writer.py:
# GHLTaskWriter sets completed=False and a due date DEFAULT_TASK_DUE_DAYS ahead; the contact writer sets
# locationId): a record without them is not a failure.
WRITER_FILLS: dict[tuple[str, str], frozenset[str]] = {
    ("ghl", "contact"): frozenset({"locationId"}),
    ("ghl", "task"): frozenset({"dueDate", "completed"}),
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
        specs.append(
            FieldSpec(
                f"{CUSTOM_PREFIX}{ref}",
                label,
                kind,
                max_length=CUSTOM_FIELD_SPEC.max_length,
                multiline=kind == "text",
            )
        )
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


def field_specs(provider: str, object_kind: str) -> dict[str, FieldSpec]:
    """The target's standard fields by path ({} for an unknown target: then nothing is cut or checked)."""
    return {f.path: f for f in target_fields(object_kind, provider=provider or "ghl")}
