"""GHL as the target of a sync: contacts (upsert, or PUT when linked), tasks, notes and tags. No ORM.

Target ids of composite records are "<contactId>/<childId>" so that an update knows both halves.
When a record link is missing, nothing is created blindly: contacts go through upsert (GHL matches by
email/phone), a 400 duplicate answer's meta.contactId is adopted, and a resumed run looks for a task or note
with the same title on the contact before creating one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.apiclient.errors import NotFoundError, ValidationError

# Fields PUT /contacts/{id} rejects (UpdateContactDto = create fields minus these; GHL answers 422
# "property X should not exist" for unknown fields).
NOT_UPDATABLE_CONTACT_FIELDS = ("locationId", "gender", "companyName", "createNewIfDuplicateAllowed")
TASK_FIELDS = ("title", "body", "dueDate", "completed", "assignedTo")
NOTE_FIELDS = ("body", "userId", "title", "color", "pinned")
# POST /contacts/{id}/tasks requires a due date; a task without one is due this many days after creation.
DEFAULT_TASK_DUE_DAYS = 7


def split_id(target_id: str | None) -> tuple[str | None, str | None]:
    if not target_id:
        return None, None
    head, _, tail = target_id.partition("/")
    return head or None, tail or None


def join_id(contact_id: str, child_id: str | None) -> str:
    return f"{contact_id}/{child_id}" if child_id else contact_id


def _unwrap(data: Any, key: str) -> dict[str, Any]:
    if isinstance(data, tuple):
        data = data[0]
    if isinstance(data, dict) and isinstance(data.get(key), dict):
        return data[key]
    return data if isinstance(data, dict) else {}


def _strip_ms(value: Any) -> Any:
    # GHL rejects task dueDate with milliseconds on update (n8n strips them "or it will error").
    if isinstance(value, str) and "." in value and "T" in value:
        head, _, rest = value.partition(".")
        tz = rest.lstrip("0123456789")
        return head + (tz or "Z")
    return value


class GHLContactWriter:
    needs_parent = False

    def __init__(self, client: Any) -> None:
        self.client = client

    def push(self, payload: dict[str, Any], *, target_id: str | None, parent_id: str | None = None,
             adopt: bool = False) -> tuple[str, bool]:
        body = dict(payload)
        note = body.pop("note", None)
        tags = body.pop("tags", None)
        contact_id, note_id = split_id(target_id)
        created = False
        if contact_id:
            try:
                self.client.update_contact(contact_id, self._for_update(body))
            except NotFoundError:  # deleted in GHL since the last run: fall through to upsert
                contact_id, note_id = None, None
        if not contact_id:
            contact_id, created = self._upsert({**body, **({"tags": tags} if tags else {})})
            tags = None  # sent with the upsert
        if tags:
            self.client.add_tags(contact_id, list(tags))
        if note:
            note_id = self._note(contact_id, note_id, note)
        return join_id(contact_id, note_id), created

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
                pass
        return str(_unwrap(self.client.create_note(contact_id, body), "note")["id"])


class GHLTaskWriter:
    needs_parent = True

    def __init__(self, client: Any, *, now: Any = None) -> None:
        self.client = client
        self.now = now or (lambda: datetime.now(UTC))

    def push(self, payload: dict[str, Any], *, target_id: str | None, parent_id: str | None,
             adopt: bool = False) -> tuple[str, bool]:
        body = {k: v for k, v in payload.items() if k in TASK_FIELDS}
        if "dueDate" in body:
            body["dueDate"] = _strip_ms(body["dueDate"])
        contact_id, task_id = split_id(target_id)
        if contact_id and task_id:
            try:
                self.client.update_task(contact_id, task_id, body)
                return join_id(contact_id, task_id), False
            except NotFoundError:
                pass
        contact_id = parent_id or contact_id
        if not contact_id:
            raise ValueError("a GHL task needs the contact it belongs to")
        if adopt and body.get("title"):
            for task in _list(self.client.list_tasks(contact_id), "tasks"):
                if task.get("title") == body["title"]:
                    self.client.update_task(contact_id, str(task["id"]), body)
                    return join_id(contact_id, str(task["id"])), False
        body.setdefault("completed", False)
        if not body.get("dueDate"):
            body["dueDate"] = (self.now() + timedelta(days=DEFAULT_TASK_DUE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
        task = _unwrap(self.client.create_task(contact_id, body), "task")
        return join_id(contact_id, str(task["id"])), True


class GHLNoteTagsWriter:
    needs_parent = True

    def __init__(self, client: Any) -> None:
        self.client = client

    def push(self, payload: dict[str, Any], *, target_id: str | None, parent_id: str | None,
             adopt: bool = False) -> tuple[str, bool]:
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
                note_id = None
        if not note_id and body.get("body"):
            if adopt:
                for note in _list(self.client.list_notes(contact_id), "notes"):
                    if note.get("body") == body["body"]:
                        note_id = str(note["id"])
                        break
            if not note_id:
                note_id = str(_unwrap(self.client.create_note(contact_id, body), "note")["id"])
                created = True
        if tags:
            self.client.add_tags(contact_id, [str(t) for t in tags])
        return join_id(contact_id, note_id), created


def _list(data: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = data.get(key, [])
    return [d for d in data or [] if isinstance(d, dict)]


def _meta_contact_id(body: Any) -> str | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    return str(meta["contactId"]) if isinstance(meta, dict) and meta.get("contactId") else None
