"""A contact's children: tags, tasks (and the location-wide task search) and notes, through the API and through
admin endpoints that play a user changing them in GHL's own UI. Every change sends GHL's webhook for it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import (
    GhlError,
    Result,
    admin_error,
    find_contact,
    find_note,
    find_task,
    same_location,
    unprocessable,
)
from contacts_sync.sandbox.ghl.contacts import clean_tags
from contacts_sync.sandbox.ghl.events import contact_event, note_event, task_event
from contacts_sync.sandbox.ghl.state import Location, iso, iso_ms, new_id

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

TASK_SEARCH_DEFAULT_LIMIT = 25  # TaskSearchParamsDto.limit default
TASK_SEARCH_MAX_LIMIT = 500  # practitioners page the location task search with limit 500; more is refused here
INTERNAL_TASK_FIELDS = ("dateUpdated",)  # kept for the location task search, not in TaskSchema reads


def task_out(t: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in t.items() if k not in INTERNAL_TASK_FIELDS}


def task_row(loc: Location, t: dict[str, Any]) -> dict[str, Any]:
    """A row of POST /locations/{id}/tasks/search: richer than TaskSchema (`_id`, locationId, deleted,
    dateUpdated, contactDetails, assignedToUserDetails), as observed in GHL's answers and its SDK's types."""
    c = loc.contacts.get(t["contactId"], {})
    row: dict[str, Any] = {
        "_id": t["id"],
        "title": t.get("title", ""),
        "body": t.get("body", ""),
        "assignedTo": t.get("assignedTo", ""),
        "dueDate": t.get("dueDate", ""),
        "completed": bool(t.get("completed")),
        "contactId": t["contactId"],
        "locationId": loc.id,
        "deleted": False,
        "dateAdded": t["dateAdded"],
        "dateUpdated": t.get("dateUpdated", t["dateAdded"]),
        "contactDetails": {
            "_id": t["contactId"],
            "firstName": c.get("firstName", ""),
            "lastName": c.get("lastName", ""),
        },
    }
    user = loc.users.get(t.get("assignedTo") or "")
    if user:
        row["assignedToUserDetails"] = {
            "id": user["id"],
            "firstName": user["firstName"],
            "lastName": user["lastName"],
        }
    return row


class Children:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    # ----- tags ---------------------------------------------------------------------------------------
    def _set_tags(self, loc: Location, c: dict[str, Any], tags: list[str]) -> list[dict[str, Any]]:
        if tags == c.get("tags"):
            return []
        c["tags"] = tags
        c["dateUpdated"] = iso()
        return [contact_event("ContactTagUpdate", loc, c)]

    def add_tags(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TAGS, ("tags",))
        if problems:
            raise unprocessable(problems)
        c = find_contact(loc, request.path_params["contactId"])
        tags = clean_tags(c.get("tags", []) + body["tags"])
        return 201, {"tags": tags}, self._set_tags(loc, c, tags)

    def remove_tags(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TAGS, ("tags",))
        if problems:
            raise unprocessable(problems)
        c = find_contact(loc, request.path_params["contactId"])
        drop = set(clean_tags(body["tags"]))
        tags = [t for t in c.get("tags", []) if t not in drop]
        return 200, {"tags": tags}, self._set_tags(loc, c, tags)

    # ----- task changes (API and UI) --------------------------------------------------------------------
    @staticmethod
    def task_create(loc: Location, cid: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        now = iso()
        task = {"id": new_id(), "contactId": cid, "dateAdded": now, "body": "", "assignedTo": "", **body}
        task["dateUpdated"] = now
        loc.tasks.setdefault(cid, {})[task["id"]] = task
        events = [task_event("TaskCreate", loc, task)]
        if task.get("completed"):
            events.append(task_event("TaskComplete", loc, task))
        return task, events

    @staticmethod
    def task_update(loc: Location, task: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        """GHL has no TaskUpdate webhook: an edit is silent unless it completes the task (TaskComplete)."""
        was_done = task.get("completed")
        before = dict(task)
        task.update(body)
        if task != before:
            task["dateUpdated"] = iso()
        return [task_event("TaskComplete", loc, task)] if task.get("completed") and not was_done else []

    @staticmethod
    def task_delete(loc: Location, task: dict[str, Any]) -> list[dict[str, Any]]:
        del loc.tasks[task["contactId"]][task["id"]]
        return [task_event("TaskDelete", loc, task)]

    # ----- tasks API ----------------------------------------------------------------------------------
    def list_tasks(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = find_contact(loc, request.path_params["contactId"])["id"]
        return 200, {"tasks": [task_out(t) for t in loc.tasks.get(cid, {}).values()]}, []

    def get_task(self, request: Request, loc: Location, _b: Any) -> Result:
        p = request.path_params
        return 200, {"task": task_out(find_task(loc, p["contactId"], p["taskId"]))}, []

    def create_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_TASK, ("title", "dueDate", "completed"))
        if problems:
            raise unprocessable(problems)
        cid = find_contact(loc, request.path_params["contactId"])["id"]
        task, events = self.task_create(loc, cid, body)
        return 201, {"task": task_out(task), "traceId": str(uuid.uuid4())}, events

    def update_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_TASK)
        if problems:
            raise unprocessable(problems)
        p = request.path_params
        task = find_task(loc, p["contactId"], p["taskId"])
        events = self.task_update(loc, task, body)
        return 200, {"task": task_out(task)}, events

    def complete_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TASK_COMPLETED, ("completed",))
        if problems:
            raise unprocessable(problems)
        p = request.path_params
        task = find_task(loc, p["contactId"], p["taskId"])
        events = self.task_update(loc, task, {"completed": body["completed"]})
        return 200, {"task": task_out(task)}, events

    def delete_task(self, request: Request, loc: Location, _b: Any) -> Result:
        p = request.path_params
        task = find_task(loc, p["contactId"], p["taskId"])
        return 200, {"succeded": True}, self.task_delete(loc, task)

    def search_tasks(self, request: Request, loc: Location, body: Any) -> Result:
        """POST /locations/{locationId}/tasks/search (TaskSearchParamsDto). The spec offers no date filter and no
        order: a reconcile poll reads every page and compares each row's dateUpdated with its cursor."""
        same_location(loc, request.path_params["locationId"])
        problems = v.check(body, v.TASK_SEARCH)
        if problems:
            raise unprocessable(problems)
        limit, skip = body.get("limit", TASK_SEARCH_DEFAULT_LIMIT), body.get("skip", 0)
        if not 1 <= limit <= TASK_SEARCH_MAX_LIMIT or skip < 0:
            raise unprocessable([f"limit must be between 1 and {TASK_SEARCH_MAX_LIMIT}", "skip must not be negative"])
        contact_ids, assigned = set(body.get("contactId") or ()), set(body.get("assignedTo") or ())
        query = (body.get("query") or "").lower()
        business = body.get("businessId")
        rows = []
        for cid, tasks in loc.tasks.items():
            if contact_ids and cid not in contact_ids:
                continue
            if business and loc.contacts.get(cid, {}).get("businessId") != business:
                continue
            for t in tasks.values():
                if "completed" in body and bool(t.get("completed")) != body["completed"]:
                    continue
                if assigned and t.get("assignedTo") not in assigned:
                    continue
                if query and query not in (t.get("title") or "").lower():
                    continue
                rows.append(t)
        rows.sort(key=lambda t: (iso_ms(t["dateAdded"]), t["id"]))
        window = rows[int(skip) : int(skip) + int(limit)]
        # GHL answers this POST 201 (observed; the spec says 200): see tests/contracts/spec_exceptions.py
        return 201, {"tasks": [task_row(loc, t) for t in window]}, []

    # ----- notes --------------------------------------------------------------------------------------
    @staticmethod
    def note_create(loc: Location, cid: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        note = {"id": new_id(), "contactId": cid, "dateAdded": iso(), **body}
        loc.notes.setdefault(cid, {})[note["id"]] = note
        return note, [note_event("NoteCreate", loc, note)]

    @staticmethod
    def note_update(loc: Location, note: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        note.update(body)
        return [note_event("NoteUpdate", loc, note)]

    @staticmethod
    def note_delete(loc: Location, note: dict[str, Any]) -> list[dict[str, Any]]:
        del loc.notes[note["contactId"]][note["id"]]
        return [note_event("NoteDelete", loc, note)]

    def list_notes(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = find_contact(loc, request.path_params["contactId"])["id"]
        return 200, {"notes": list(loc.notes.get(cid, {}).values())}, []

    def get_note(self, request: Request, loc: Location, _b: Any) -> Result:
        return 200, {"note": find_note(loc, request.path_params["contactId"], request.path_params["id"])}, []

    def create_note(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_NOTE, ("body",))
        if problems:
            raise unprocessable(problems)
        cid = find_contact(loc, request.path_params["contactId"])["id"]
        note, events = self.note_create(loc, cid, body)
        return 201, {"note": note}, events

    def update_note(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_NOTE)
        if problems:
            raise unprocessable(problems)
        note = find_note(loc, request.path_params["contactId"], request.path_params["id"])
        return 200, {"note": note}, self.note_update(loc, note, body)

    def delete_note(self, request: Request, loc: Location, _b: Any) -> Result:
        note = find_note(loc, request.path_params["contactId"], request.path_params["id"])
        return 200, {"succeded": True}, self.note_delete(loc, note)

    # ----- admin: a user adds, edits, completes or deletes tasks and notes in GHL's UI --------------------
    async def _admin_target(self, request: Request) -> tuple[Location, dict[str, Any], dict[str, Any]]:
        b: dict[str, Any] = dict(request.query_params) if request.method == "DELETE" else await request.json()
        loc = self.emu.state.locations.get(str(b.pop("locationId", "")))
        if loc is None:
            raise GhlError(400, "unknown locationId")
        return loc, find_contact(loc, str(b.pop("contactId", ""))), b

    async def admin_tasks(self, request: Request) -> Response:
        """POST {locationId, contactId, title, dueDate?, ...}: TaskCreate; PUT {locationId, contactId, id, ...}:
        edit, TaskComplete when it completes the task, else silent; DELETE ?locationId&contactId&id: TaskDelete."""
        try:
            loc, c, b = await self._admin_target(request)
            if request.method == "POST":
                b.setdefault("dueDate", iso())
                b.setdefault("completed", False)
                problems = v.check(b, v.CREATE_TASK, ("title",))
                if problems:
                    return admin_error("; ".join(problems))
                task, events = self.task_create(loc, c["id"], b)
            else:
                task = find_task(loc, c["id"], str(b.pop("id", "")))
                problems = v.check(b, v.UPDATE_TASK)
                if problems:
                    return admin_error("; ".join(problems))
                events = self.task_delete(loc, task) if request.method == "DELETE" else self.task_update(loc, task, b)
        except GhlError as e:
            return admin_error(str(e.body["message"]))
        await self.emu.hooks.to_location(loc, events)
        return JSONResponse({"task": task_out(task), "webhooks": [e["type"] for e in events]})

    async def admin_notes(self, request: Request) -> Response:
        """POST {locationId, contactId, body}: NoteCreate; PUT {locationId, contactId, id, body}: NoteUpdate;
        DELETE ?locationId&contactId&id: NoteDelete."""
        try:
            loc, c, b = await self._admin_target(request)
            if request.method == "POST":
                problems = v.check(b, v.CREATE_NOTE, ("body",))
                if problems:
                    return admin_error("; ".join(problems))
                note, events = self.note_create(loc, c["id"], b)
            else:
                note = find_note(loc, c["id"], str(b.pop("id", "")))
                problems = v.check(b, v.UPDATE_NOTE)
                if problems:
                    return admin_error("; ".join(problems))
                events = self.note_delete(loc, note) if request.method == "DELETE" else self.note_update(loc, note, b)
        except GhlError as e:
            return admin_error(str(e.body["message"]))
        await self.emu.hooks.to_location(loc, events)
        return JSONResponse({"note": note, "webhooks": [e["type"] for e in events]})

    def routes(self, a: RouteFactory) -> list[Route]:
        r, w = "contacts.readonly", "contacts.write"
        return [
            Route("/contacts/{contactId}/tasks", a(r, self.list_tasks), methods=["GET"]),
            Route("/contacts/{contactId}/tasks", a(w, self.create_task, body=True), methods=["POST"]),
            Route(
                "/contacts/{contactId}/tasks/{taskId}/completed",
                a(w, self.complete_task, body=True),
                methods=["PUT"],
            ),
            Route("/contacts/{contactId}/tasks/{taskId}", a(r, self.get_task), methods=["GET"]),
            Route("/contacts/{contactId}/tasks/{taskId}", a(w, self.update_task, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}/tasks/{taskId}", a(w, self.delete_task), methods=["DELETE"]),
            Route("/contacts/{contactId}/tags", a(w, self.add_tags, body=True), methods=["POST"]),
            Route("/contacts/{contactId}/tags", a(w, self.remove_tags, body=True), methods=["DELETE"]),
            Route("/contacts/{contactId}/notes", a(r, self.list_notes), methods=["GET"]),
            Route("/contacts/{contactId}/notes", a(w, self.create_note, body=True), methods=["POST"]),
            Route("/contacts/{contactId}/notes/{id}", a(r, self.get_note), methods=["GET"]),
            Route("/contacts/{contactId}/notes/{id}", a(w, self.update_note, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}/notes/{id}", a(w, self.delete_note), methods=["DELETE"]),
            Route(
                "/locations/{locationId}/tasks/search",
                a("locations/tasks.readonly", self.search_tasks, body=True),
                methods=["POST"],
            ),
        ]

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_admin/tasks", self.admin_tasks, methods=["POST", "PUT", "DELETE"]),
            Route("/_admin/notes", self.admin_notes, methods=["POST", "PUT", "DELETE"]),
        ]
