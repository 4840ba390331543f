"""GHL as the target of a sync: contacts (upsert, or PUT when linked), tasks, notes and tags. No ORM.

Identity is the source id: a linked record is updated by its target id, never looked up by its content. Target
ids of composite records are "<contactId>/<childId>" so that an update knows both halves.

`adopt_since` is set only for a record whose create may have reached GHL before a crash (its write-ahead intent
is still pending): then, and only then, the writer looks for that record before creating it again: a contact by
email/phone (GHL's upsert does it), or by its name among contacts added since the intent; a task or note by
title/body among the contact's, restricted to those added since the intent and not linked to another record.
Two distinct source records with the same title are therefore never merged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contacts_sync.apiclient.errors import NotFoundError, ValidationError
from contacts_sync.connectors.base import TargetGone

if TYPE_CHECKING:
    from contacts_sync.connectors.ghl.client import GHLClient

# Fields PUT /contacts/{id} rejects (UpdateContactDto = create fields minus these; GHL answers 422
# "property X should not exist" for unknown fields).
NOT_UPDATABLE_CONTACT_FIELDS = ("locationId", "gender", "companyName", "createNewIfDuplicateAllowed")
TASK_FIELDS = ("title", "body", "dueDate", "completed", "assignedTo")
NOTE_FIELDS = ("body", "userId", "title", "color", "pinned")
# POST /contacts/{id}/tasks requires a due date; a task without one is due this many days after creation.
DEFAULT_TASK_DUE_DAYS = 7
# GHL's dateAdded and our clock may differ a little: a write-ahead intent's window starts this much earlier.
ADOPT_CLOCK_SKEW = timedelta(minutes=2)
# Fields that name a contact without email or phone, compared when looking for one written before a crash.
CONTACT_NAME_FIELDS = ("firstName", "lastName", "name", "companyName")

# Is `target_id` already the target of another record of this sync? (the engine passes its link lookup)
Taken = Callable[[str], bool]


def split_id(target_id: str | None) -> tuple[str | None, str | None]:
    if not target_id:
        return None, None
    head, _, tail = target_id.partition("/")
    return head or None, tail or None


def path_part(part: str | None) -> str:
    """A half of a stored target id for a URL. A missing half is this record's error (a failed item, a failed
    read-back), never a request to `/contacts/None`."""
    if not part:
        raise ValueError("the stored GHL id has no contact or child part; the record cannot be addressed")
    return part


def join_id(contact_id: str, child_id: str | None) -> str:
    return f"{contact_id}/{child_id}" if child_id else contact_id


def _unwrap(data: Any, key: str) -> dict[str, Any]:
    if isinstance(data, tuple):
        data = data[0]
    inner = data.get(key) if isinstance(data, dict) else None
    if isinstance(inner, dict):
        return inner
    return data if isinstance(data, dict) else {}


def _strip_ms(value: Any) -> Any:
    # GHL rejects task dueDate with milliseconds on update (n8n strips them "or it will error").
    if isinstance(value, str) and "." in value and "T" in value:
        head, _, rest = value.partition(".")
        tz = rest.lstrip("0123456789")
        return head + (tz or "Z")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_taken(taken: Taken | None, target_id: str) -> bool:
    return taken is None or not taken(target_id)


def contact_identity(payload: dict[str, Any]) -> str:
    """What GHL's upsert matches a contact by: the email, else the phone ("" when neither)."""
    email = str(payload.get("email") or "").strip().lower()
    if email:
        return f"email:{email}"
    phone = str(payload.get("phone") or "").strip()
    return f"phone:{phone}" if phone else ""


class GHLContactWriter:
    needs_parent = False
    # The engine hands over, as payload["remove_tags"], the tags this sync wrote before that the source dropped
    # (RecordLink.tags_written): removed with DELETE /contacts/{id}/tags; tags others added are never in it.
    removes_tags = True

    def __init__(self, client: GHLClient) -> None:
        self.client = client

    def identity(self, payload: dict[str, Any]) -> str:
        return contact_identity(payload)

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None = None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        body = dict(payload)
        note = body.pop("note", None)
        tags = body.pop("tags", None)
        untag = body.pop("remove_tags", None)
        contact_id, note_id = split_id(target_id)
        created = False
        if contact_id:
            try:
                self.client.update_contact(contact_id, self._for_update(body))
            except NotFoundError:
                raise TargetGone(f"GHL contact {contact_id} was deleted in HighLevel") from None
        else:
            contact_id = self._adopted(body, adopt_since, taken) if adopt_since else None
            if contact_id:
                self.client.update_contact(contact_id, self._for_update(body))
            else:
                contact_id, created = self._upsert({**body, **({"tags": tags} if tags else {})})
                tags = None  # sent with the upsert
        if tags:
            self.client.add_tags(contact_id, list(tags))
        if untag and not created:
            self.client.remove_tags(contact_id, [str(t) for t in untag])
        if note:
            note_id = self._note(contact_id, note_id, note)
        return join_id(contact_id, note_id), created

    def _adopted(self, body: dict[str, Any], since: datetime, taken: Taken | None) -> str | None:
        """A contact without email/phone written before a crash: the one added since the intent with the same
        name fields and linked to no other record (with email/phone, GHL's upsert finds it by itself)."""
        if contact_identity(body):
            return None
        wanted = {k: str(body.get(k) or "").strip().lower() for k in CONTACT_NAME_FIELDS if body.get(k)}
        if not wanted:
            return None
        query = str(
            body.get("name")
            or " ".join(filter(None, (body.get("firstName"), body.get("lastName"))))
            or body.get("companyName")
            or ""
        )
        window = [{"field": "dateAdded", "operator": "range", "value": {"gte": _iso(since - ADOPT_CLOCK_SKEW)}}]
        for contact in self.client.search_contacts(query=query or None, filters=window, page_limit=100):
            same = all(str(contact.get(k) or "").strip().lower() == v for k, v in wanted.items())
            if same and _not_taken(taken, str(contact["id"])):
                return str(contact["id"])
        return None

    def _for_update(self, body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in NOT_UPDATABLE_CONTACT_FIELDS}

    def _upsert(self, body: dict[str, Any]) -> tuple[str, bool]:
        body.setdefault("locationId", self.client.location_id)
        try:
            data, created = self.client.upsert_contact(body)
        except ValidationError as exc:
            # GHL answers 400 "This location does not allow duplicated contacts." with meta.contactId
            # (ghl.errors.DuplicateContactError.existing_id): that contact is the one we meant, so adopt it.
            existing = getattr(exc, "existing_id", None) or _meta_contact_id(exc.body)
            if not existing:
                raise
            self.client.update_contact(existing, self._for_update(body))
            return str(existing), False
        contact = _unwrap(data, "contact")
        return str(contact["id"]), bool(created)

    def _note(self, contact_id: str, note_id: str | None, note: Any) -> str:
        body = note if isinstance(note, dict) else {"body": str(note)}
        body = {k: v for k, v in body.items() if k in NOTE_FIELDS}
        if note_id:
            try:
                self.client.update_note(contact_id, note_id, body)
                return note_id
            except NotFoundError:
                pass  # the note was deleted in GHL; the contact's note is written again
        return str(_unwrap(self.client.create_note(contact_id, body), "note")["id"])

    def delete(self, target_id: str) -> None:
        contact_id, _ = split_id(target_id)
        try:
            self.client.delete_contact(path_part(contact_id))
        except NotFoundError:
            pass  # already gone: the delete is done

    def tag(self, target_id: str, tags: list[str]) -> None:
        contact_id, _ = split_id(target_id)
        try:
            self.client.add_tags(path_part(contact_id), tags)
        except NotFoundError:
            raise TargetGone(f"GHL contact {contact_id} was deleted in HighLevel") from None

    def read_back(self, target_id: str) -> dict[str, Any]:
        contact_id, _ = split_id(target_id)
        return self.client.get_contact(path_part(contact_id))


class GHLTaskWriter:
    needs_parent = True

    def __init__(self, client: GHLClient, *, now: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.now = now or (lambda: datetime.now(UTC))

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        body = {k: v for k, v in payload.items() if k in TASK_FIELDS}
        if "dueDate" in body:
            body["dueDate"] = _strip_ms(body["dueDate"])
        contact_id, task_id = split_id(target_id)
        if contact_id and task_id:
            try:
                self._update(contact_id, task_id, body)
            except NotFoundError:
                raise TargetGone(f"GHL task {task_id} was deleted in HighLevel") from None
            return join_id(contact_id, task_id), False
        contact_id = parent_id or contact_id
        if not contact_id:
            raise ValueError("a GHL task needs the contact it belongs to")
        if adopt_since and body.get("title"):
            found = _adoptable(
                self.client.list_tasks(contact_id),
                "title",
                body["title"],
                adopt_since,
                lambda t: _not_taken(taken, join_id(contact_id, str(t["id"]))),
            )
            if found is not None:
                self._update(contact_id, found, body)
                return join_id(contact_id, found), False
        body.setdefault("completed", False)  # CreateTaskParams requires it: a new task is born in its state
        if not body.get("dueDate"):
            body["dueDate"] = _iso(self.now() + timedelta(days=DEFAULT_TASK_DUE_DAYS))
        task = _unwrap(self.client.create_task(contact_id, body), "task")
        return join_id(contact_id, str(task["id"])), True

    def _update(self, contact_id: str, task_id: str, body: dict[str, Any]) -> None:
        """PUT the task's fields, then change its completion, if it differs, through the endpoint GHL has for
        it (PUT .../tasks/{taskId}/completed): that is the call that fires GHL's TaskComplete workflows."""
        fields = {k: v for k, v in body.items() if k != "completed"}
        task = _unwrap(self.client.update_task(contact_id, task_id, fields), "task") if fields else {}
        wanted = body.get("completed")
        if isinstance(wanted, bool) and task.get("completed") is not wanted:
            self.client.complete_task(contact_id, task_id, wanted)

    def delete(self, target_id: str) -> None:
        contact_id, task_id = split_id(target_id)
        if contact_id and task_id:
            try:
                self.client.delete_task(contact_id, task_id)
            except NotFoundError:
                pass

    def read_back(self, target_id: str) -> dict[str, Any]:
        contact_id, task_id = split_id(target_id)
        return self.client.get_task(path_part(contact_id), path_part(task_id))


class GHLNoteTagsWriter:
    needs_parent = True

    def __init__(self, client: GHLClient) -> None:
        self.client = client

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        tags = payload.get("tags") or []
        body = {k: v for k, v in payload.items() if k in NOTE_FIELDS}
        contact_id, note_id = split_id(target_id)
        created = False
        contact_id = contact_id or parent_id
        if not contact_id:
            raise ValueError("a GHL note needs the contact it belongs to")
        if note_id:
            try:
                self.client.update_note(contact_id, note_id, body)
            except NotFoundError:
                raise TargetGone(f"GHL note {note_id} was deleted in HighLevel") from None
        if not note_id and body.get("body"):
            if adopt_since:
                note_id = _adoptable(
                    self.client.list_notes(contact_id),
                    "body",
                    body["body"],
                    adopt_since,
                    lambda n: _not_taken(taken, join_id(contact_id, str(n["id"]))),
                )
            if not note_id:
                note_id = str(_unwrap(self.client.create_note(contact_id, body), "note")["id"])
                created = True
        if tags:
            self.client.add_tags(contact_id, [str(t) for t in tags])
        return join_id(contact_id, note_id), created

    def delete(self, target_id: str) -> None:
        contact_id, note_id = split_id(target_id)
        if contact_id and note_id:
            try:
                self.client.delete_note(contact_id, note_id)
            except NotFoundError:
                pass

    def read_back(self, target_id: str) -> dict[str, Any]:
        contact_id, note_id = split_id(target_id)
        return self.client.get_note(path_part(contact_id), path_part(note_id))


def _adoptable(rows: Any, key: str, value: Any, since: datetime, free: Callable[[dict[str, Any]], bool]) -> str | None:
    """The id of the child with the same `key` added since the intent and linked to no other record."""
    start = since - ADOPT_CLOCK_SKEW
    for row in _list(rows, "tasks" if key == "title" else "notes"):
        added = _parse(row.get("dateAdded"))
        if row.get(key) == value and (added is None or added >= start) and free(row):
            return str(row["id"])
    return None


def _parse(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list(data: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = data.get(key, [])
    return [d for d in data or [] if isinstance(d, dict)]


def _meta_contact_id(body: Any) -> str | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    return str(meta["contactId"]) if isinstance(meta, dict) and meta.get("contactId") else None
