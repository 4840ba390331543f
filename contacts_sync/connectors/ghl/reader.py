"""GHL as a source connector (contacts, tasks, notes, appointments, businesses) and the factory of its target
writers.

Every record handed to the engine has an `id`, and a child record (task, note, appointment) carries its
contact's id in `contactId`, so a target app can find the parent. What the API offers for "changed since"
(docs/ghl-client.md, "Reads for reconcile polls"): contacts are searched by a `dateUpdated` range sorted by
`dateUpdated`; tasks come from the location-wide task search, which has no date filter, so rows are compared with
`updated_since` here; notes have no date at all and are read per contact; appointments are read per contact or
from one calendar's time window and compared by `dateUpdated`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping.phones import region_for_country

from . import spec
from .auth import build_client
from .client import GHLClient
from .flow_writers import GHLBusinessWriter, GHLContactBundleWriter, GHLOnboardingContactWriter
from .writers import GHLContactWriter, GHLNoteTagsWriter, GHLTaskWriter

# Records per page of a GHL contact read (the engine checkpoints after each page).
DEFAULT_PAGE_LIMIT = 100
# Contacts whose notes / appointments one page holds (each costs one GET per contact).
CHILD_CONTACTS_PER_PAGE = 25
# A calendar read covers appointments that started this long ago up to this far ahead, unless the sync says.
APPOINTMENT_LOOKBACK = timedelta(days=30)
APPOINTMENT_LOOKAHEAD = timedelta(days=365)

# The writer class of each recipe writer kind (connectors.spec.Writer); the catalogue derives operations from it.
WRITERS: dict[str, type] = {
    "contact": GHLContactWriter,
    "task": GHLTaskWriter,
    "note_tags": GHLNoteTagsWriter,
    "business": GHLBusinessWriter,
    "contact_onboarding": GHLOnboardingContactWriter,
    "contact_bundle": GHLContactBundleWriter,
}
# The method of GHLConnector that reads each object kind; the catalogue derives operations from it.
READERS = {
    "contact": "_read_contacts",
    "task": "_read_tasks",
    "note": "_read_notes",
    "appointment": "_read_appointments",
    "business": "_read_businesses",
}

CONTACT_FIELDS = [
    SourceField("id", "Contact id"),
    SourceField("firstName", "First name"),
    SourceField("lastName", "Last name"),
    SourceField("name", "Name"),
    SourceField("email", "Email", "email"),
    SourceField("phone", "Phone", "phone"),
    SourceField("companyName", "Company"),
    SourceField("address1", "Address"),
    SourceField("city", "City"),
    SourceField("state", "State"),
    SourceField("postalCode", "Postal code"),
    SourceField("country", "Country"),
    SourceField("website", "Website"),
    SourceField("tags", "Tags", "list"),
    SourceField("source", "Source"),
    SourceField("dateOfBirth", "Date of birth", "date", sensitive=True),
    SourceField("ssn", "SSN", sensitive=True),
    SourceField("dateUpdated", "Updated", "datetime"),
]
TASK_FIELDS = [
    SourceField("id", "Task id"),
    SourceField("contactId", "Contact id (the parent)"),
    SourceField("title", "Title"),
    SourceField("body", "Description"),
    SourceField("dueDate", "Due date", "datetime"),
    SourceField("completed", "Completed", "bool"),
    SourceField("assignedTo", "Assigned user id"),
    SourceField("contactDetails.firstName", "Contact first name (location task search only)"),
    SourceField("contactDetails.lastName", "Contact last name (location task search only)"),
    SourceField("dateAdded", "Added", "datetime"),
    SourceField("dateUpdated", "Updated", "datetime"),
]
NOTE_FIELDS = [
    SourceField("id", "Note id"),
    SourceField("contactId", "Contact id (the parent)"),
    SourceField("body", "Text"),
    SourceField("userId", "Author user id"),
    SourceField("dateAdded", "Added", "datetime"),
]
APPOINTMENT_FIELDS = [
    SourceField("id", "Appointment id"),
    SourceField("contactId", "Contact id (the parent)"),
    SourceField("title", "Title"),
    SourceField("calendarId", "Calendar id"),
    SourceField("startTime", "Starts", "datetime"),
    SourceField("endTime", "Ends", "datetime"),
    SourceField("appointmentStatus", "Status"),
    SourceField("assignedUserId", "Assigned user id"),
    SourceField("address", "Address / meeting link"),
    SourceField("notes", "Notes"),
    SourceField("dateAdded", "Added", "datetime"),
    SourceField("dateUpdated", "Updated", "datetime"),
]
BUSINESS_FIELDS = [
    SourceField("id", "Business id"),
    SourceField("name", "Name"),
    SourceField("email", "Email", "email"),
    SourceField("phone", "Phone", "phone"),
    SourceField("website", "Website"),
    SourceField("address", "Address"),
    SourceField("city", "City"),
    SourceField("state", "State"),
    SourceField("postalCode", "Postal code"),
    SourceField("country", "Country"),
    SourceField("description", "Description"),
    SourceField("updatedAt", "Updated", "datetime"),
]


def parse_moment(value: Any) -> datetime | None:
    """GHL dates: ISO strings (with Z or an offset) or epoch milliseconds; None when neither."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str) and value.strip():
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def task_record(row: dict[str, Any]) -> dict[str, Any]:
    """A task search row (`_id`) or a contact's task (`id`) in one shape."""
    if "id" not in row and row.get("_id"):
        row = {"id": row["_id"], **{k: v for k, v in row.items() if k != "_id"}}
    return row


def _change_fields() -> list[SourceField]:
    """The fields of a GHL change (a contact, task, note or appointment webhook, recipe ghl_changes_to_custom_app):
    each path once, its label naming the kinds that carry it."""
    kinds: dict[str, list[str]] = {}
    first: dict[str, SourceField] = {}
    labels: dict[str, set[str]] = {}
    for kind, fields in (
        ("contact", CONTACT_FIELDS),
        ("task", TASK_FIELDS),
        ("note", NOTE_FIELDS),
        ("appointment", APPOINTMENT_FIELDS),
    ):
        for f in fields:
            first.setdefault(f.path, f)
            kinds.setdefault(f.path, []).append(kind)
            labels.setdefault(f.path, set()).add(f.label)
    # a path the kinds name differently ("Task id", "Note id"; "Description", "Text") gets a neutral label
    neutral = {"id": "Record id", "body": "Text / description"}
    return [
        SourceField(
            path,
            f"{neutral.get(path, f.label) if len(labels[path]) > 1 else f.label} ({', '.join(kinds[path])})",
            f.type,
            f.sensitive,
        )
        for path, f in first.items()
    ]


CHANGE_FIELDS = _change_fields()


class GHLConnector(BaseConnector):
    """GHL as a source (see the module doc) and the target writers (writers.py)."""

    SPEC = spec.SPEC
    FIELDS = {
        "contact": CONTACT_FIELDS,
        "task": TASK_FIELDS,
        "note": NOTE_FIELDS,
        "appointment": APPOINTMENT_FIELDS,
        "business": BUSINESS_FIELDS,
    }

    def __init__(self, info: ConnectionInfo, *, client: GHLClient | None = None) -> None:
        super().__init__(info)
        self.client = client or build_client(info)

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "change":  # read from webhooks only, never listed: the union of the kinds' fields
            return list(CHANGE_FIELDS)
        return super().fields(object_kind, options=options)

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """Pages since `cursor`; `options["updated_since"]` (ISO) narrows to records changed since then."""
        self.check_object(object_kind)
        reader = getattr(self, READERS[object_kind])
        yield from reader(cursor or {}, options)

    def is_deleted(self, object_kind: str, record: dict[str, Any]) -> bool:
        return record.get("deleted") is True  # task search rows carry `deleted`

    # ----- contacts -----------------------------------------------------------------------------------------
    def _contact_search(self, cursor: dict[str, Any], options: dict[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        """Contacts by the sync's tag/query; since `updated_since`, oldest change first (a reconcile cursor)."""
        filters: list[dict[str, Any]] = []
        if options.get("tag"):
            filters.append({"field": "tags", "operator": "eq", "value": options["tag"]})
        sort = None
        since = options.get("updated_since")
        if since:
            # gte, not gt: a contact changed in the same millisecond as the cursor is read again (unchanged, free)
            filters.append({"field": "dateUpdated", "operator": "range", "value": {"gte": str(since)}})
            sort = [{"field": "dateUpdated", "direction": "asc"}]
        return self.client.search_contacts(
            query=options.get("query") or None,
            filters=filters or None,
            sort=sort,
            page_limit=limit,
            search_after=cursor.get("search_after"),
        )

    def _read_contacts(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """Contacts by search (tag, query, updated_since), or the contacts of one business (option business_id)."""
        limit = int(options.get("page_limit") or DEFAULT_PAGE_LIMIT)
        if options.get("business_id"):
            rows = list(self.client.contacts_by_business(str(options["business_id"]), query=options.get("query")))
            yield Page(records=rows, cursor=None)  # GHL pages these with skip; a business has few contacts
            return
        batch: list[dict[str, Any]] = []
        for contact in self._contact_search(cursor, options, limit):
            batch.append(contact)
            if len(batch) >= limit and contact.get("searchAfter"):
                yield Page(records=batch, cursor={"search_after": contact["searchAfter"]})
                batch = []
        yield Page(records=batch, cursor=None)

    # ----- tasks ---------------------------------------------------------------------------------------------
    def _read_tasks(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """One contact's tasks (option contact_id), else the location task search, paged with skip. The search
        has no date filter: rows older than `updated_since` are dropped here (the page still moves the cursor)."""
        since = parse_moment(options.get("updated_since"))
        if options.get("contact_id"):
            rows = [task_record(t) for t in self.client.list_tasks(str(options["contact_id"]))]
            yield Page(records=self._since(rows, since), cursor=None)
            return
        limit = int(options.get("page_limit") or DEFAULT_PAGE_LIMIT)
        skip = int(cursor.get("skip") or 0)
        batch: list[dict[str, Any]] = []
        for row in self.client.search_tasks(skip=skip):
            batch.append(task_record(row))
            if len(batch) >= limit:
                skip += len(batch)
                yield Page(records=self._since(batch, since), cursor={"skip": skip})
                batch = []
        yield Page(records=self._since(batch, since), cursor=None)

    @staticmethod
    def _since(rows: list[dict[str, Any]], since: datetime | None) -> list[dict[str, Any]]:
        if since is None:
            return rows
        return [r for r in rows if (parse_moment(r.get("dateUpdated")) or since) >= since]

    # ----- notes and appointments: per contact -------------------------------------------------------------
    def _per_contact(self, cursor: dict[str, Any], options: dict[str, Any], fetch: Any) -> Iterator[Page]:
        """The children of each contact (option contact_id: of that one), CHILD_CONTACTS_PER_PAGE contacts a page;
        the cursor is the last contact's searchAfter. Contacts are read without `updated_since`: a note or an
        appointment changing does not move its contact's dateUpdated."""
        if options.get("contact_id"):
            yield Page(records=fetch(str(options["contact_id"])), cursor=None)
            return
        search_options = {k: v for k, v in options.items() if k != "updated_since"}
        batch: list[dict[str, Any]] = []
        done = 0
        for contact in self._contact_search(cursor, search_options, DEFAULT_PAGE_LIMIT):
            batch.extend(fetch(str(contact["id"])))
            done += 1
            if done % CHILD_CONTACTS_PER_PAGE == 0 and contact.get("searchAfter"):
                yield Page(records=batch, cursor={"search_after": contact["searchAfter"]})
                batch = []
        yield Page(records=batch, cursor=None)

    def _read_notes(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """Notes have no location-wide read and no dateUpdated in the spec: every contact's notes are read."""

        def notes(contact_id: str) -> list[dict[str, Any]]:
            return [{**n, "contactId": n.get("contactId") or contact_id} for n in self.client.list_notes(contact_id)]

        yield from self._per_contact(cursor, options, notes)

    def _read_appointments(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """One calendar's (user's, group's) window through GET /calendars/events when the sync names one, else
        each contact's appointments; both compared with `updated_since` here."""
        since = parse_moment(options.get("updated_since"))
        calendar = {
            k: str(options.get(o) or "")
            for k, o in (
                ("calendar_id", "calendar_id"),
                ("user_id", "calendar_user_id"),
                ("group_id", "calendar_group_id"),
            )
        }
        if any(calendar.values()):
            now = datetime.now(UTC)
            start = now - timedelta(days=int(options.get("lookback_days") or APPOINTMENT_LOOKBACK.days))
            end = now + timedelta(days=int(options.get("lookahead_days") or APPOINTMENT_LOOKAHEAD.days))
            rows = self.client.calendar_events(
                start_ms=int(start.timestamp() * 1000), end_ms=int(end.timestamp() * 1000), **calendar
            )
            yield Page(records=self._since(rows, since), cursor=None)
            return

        def appointments(contact_id: str) -> list[dict[str, Any]]:
            return self._since(self.client.list_appointments(contact_id), since)

        yield from self._per_contact(cursor, options, appointments)

    def _read_businesses(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        yield Page(records=self.client.list_businesses(), cursor=None)

    # ----- samples, fields, probe ---------------------------------------------------------------------------
    def sample(
        self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if object_kind == "change":  # webhooks only: the location's contacts show what a contact change carries
            object_kind = "contact"
        self.check_object(object_kind)
        out: list[dict[str, Any]] = []
        if object_kind == "contact":
            for contact in self.client.search_contacts(page_limit=limit):
                out.append(contact)
                if len(out) >= limit:
                    break
            return out
        for page in self.read(object_kind, cursor=None, options={**(options or {}), "page_limit": limit}):
            out.extend(page.records)
            if len(out) >= limit:
                break
        return out[:limit]

    def custom_fields(self, object_kind: str) -> Any:
        """The location's custom field definitions (GET /locations/{id}/customFields)."""
        return self.client.list_custom_fields(model=object_kind)

    def account_defaults(self) -> dict[str, str]:
        """What the location itself says about mapping defaults: its country as the phone region, its timezone."""
        location = self.client.get_location()
        out = {}
        region = region_for_country(location.get("country"))
        if region:
            out["default_region"] = region
        if location.get("timezone"):
            out["timezone"] = str(location["timezone"])
        return out

    def probe(self) -> str:
        next(iter(self.client.search_contacts(page_limit=1)), None)
        return f"HighLevel location {self.client.location_id}"

    def test(self) -> str:
        return self.probe()  # GHL's own error messages already say what is wrong (scope, token, location)

    def writer(self, kind: str, *, options: dict[str, Any] | None = None, deliver: Any = None) -> Any:
        """The target writer of a recipe's writer kind (see connectors.spec.Writer). `options` are the sync's
        (the onboarding checklist); `deliver` is the source app's connector a contact bundle is handed to."""
        if kind not in WRITERS:
            raise ConfigurationError(f"GHL has no writer {kind!r}")
        if kind == "contact_onboarding":
            return GHLOnboardingContactWriter(self.client, options=options)
        if kind == "contact_bundle":
            return GHLContactBundleWriter(self.client, deliver=deliver)
        return WRITERS[kind](self.client)
