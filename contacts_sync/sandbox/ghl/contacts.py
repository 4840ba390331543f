"""Contacts: get, create, update, upsert, delete (API), the same changes made "in GHL's UI" (admin), and the
`drop_field` fault (answer as usual, store without the field)."""

from __future__ import annotations

import json
import uuid
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import (
    APP,
    GhlError,
    Result,
    admin_error,
    find_contact,
    same_location,
    unprocessable,
)
from contacts_sync.sandbox.ghl.events import contact_event
from contacts_sync.sandbox.ghl.state import Location, iso, new_id, normalize_phone

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

SKIPPED_ON_WRITE = ("locationId", "createNewIfDuplicateAllowed", "gender")  # accepted, not stored


def lower_variants(c: dict[str, Any]) -> None:
    first, last = c.get("firstName") or "", c.get("lastName") or ""
    if "firstName" in c:
        c["firstNameLowerCase"] = first.lower()
    if "lastName" in c:
        c["lastNameLowerCase"] = last.lower()
    full = (c.get("name") or f"{first} {last}").strip()
    if full:
        c["fullNameLowerCase"] = full.lower()
    if c.get("email"):
        c["emailLowerCase"] = c["email"].lower()
    else:
        c.pop("emailLowerCase", None)


def clean_tags(values: list[str]) -> list[str]:
    """GHL lower-cases and trims tags and keeps each once."""
    out: list[str] = []
    for t in values:
        t = t.strip().lower()
        if t and t not in out:
            out.append(t)
    return out


def _custom_value(fv: Any) -> str:
    """The read shape's value: GHL stores every custom field value as a string."""
    if isinstance(fv, str):
        return fv
    if isinstance(fv, dict):
        return json.dumps(fv, ensure_ascii=False)
    if isinstance(fv, list):
        return ", ".join(map(str, fv))
    return str(fv)


class Contacts:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    # ----- state changes (shared by the API and the admin "UI") ----------------------------------------
    def _custom_fields(self, loc: Location, c: dict[str, Any], value: list[Any], problems: list[str]) -> list[Any]:
        merged = {cf["id"]: cf for cf in c.get("customFields", [])}
        for i, item in enumerate(value):
            ref = item.get("id") or item.get("key")
            definition = loc.custom_field(ref)
            if definition is None:
                problems.append(f"customFields.{i} '{ref}' is not a custom field of this location")
                continue
            fv = item.get("field_value", item.get("value"))
            if fv is None or fv == "":
                merged.pop(definition["id"], None)
            else:
                merged[definition["id"]] = {"id": definition["id"], "value": _custom_value(fv)}
        return list(merged.values())

    def apply(self, loc: Location, c: dict[str, Any], body: dict[str, Any]) -> tuple[bool, bool]:
        """Write body fields into contact c (GHL write shape -> read shape). Returns (changed, tags changed)."""
        before = dict(c)
        loc.unindex(c)
        problems: list[str] = []
        for key, value in body.items():
            if key in SKIPPED_ON_WRITE:
                continue
            if key == "phone":
                value = normalize_phone(value) or None
            elif key == "tags":
                value = clean_tags(value)
            elif key == "customFields":
                value = self._custom_fields(loc, c, value, problems)
            elif key == "dateOfBirth" and value is not None and not isinstance(value, str):
                value = str(value)
            if value is None:
                c.pop(key, None)
            else:
                c[key] = value
        if problems:
            c.clear()
            c.update(before)
            loc.index(c)
            raise unprocessable(problems)
        if "name" not in body and ("firstName" in body or "lastName" in body):
            name = f"{c.get('firstName') or ''} {c.get('lastName') or ''}".strip()
            if name:
                c["name"] = name
            else:
                c.pop("name", None)
        lower_variants(c)
        changed = {k: val for k, val in c.items() if k != "dateUpdated"} != {
            k: val for k, val in before.items() if k != "dateUpdated"
        }
        if changed:
            c["dateUpdated"] = iso()
        loc.index(c)
        return changed, c.get("tags") != before.get("tags")

    def new_contact(self, loc: Location, body: dict[str, Any]) -> dict[str, Any]:
        now = iso()
        c: dict[str, Any] = {
            "id": new_id(),
            "locationId": loc.id,
            "type": "lead",
            "tags": [],
            "customFields": [],
            "dateAdded": now,
            "dateUpdated": now,
        }
        loc.contacts[c["id"]] = c
        try:
            self.apply(loc, c, body)
        except GhlError:
            loc.unindex(c)
            del loc.contacts[c["id"]]
            raise
        c["dateUpdated"] = c["dateAdded"]
        return c

    @staticmethod
    def change_events(loc: Location, c: dict[str, Any], changed: bool, tags_changed: bool) -> list[dict[str, Any]]:
        events = [contact_event("ContactUpdate", loc, c)] if changed else []
        if tags_changed:
            events.append(contact_event("ContactTagUpdate", loc, c))
        return events

    @staticmethod
    def remove(loc: Location, c: dict[str, Any]) -> list[dict[str, Any]]:
        """Delete for good: the id is gone (400 not found), its email/phone match nothing, so a later upsert with
        the same email creates a new contact, as GHL does."""
        loc.unindex(c)
        del loc.contacts[c["id"]]
        loc.tasks.pop(c["id"], None)
        loc.notes.pop(c["id"], None)
        return [contact_event("ContactDelete", loc, c)]

    def answer(self, loc: Location, c: dict[str, Any]) -> dict[str, Any]:
        """The contact as the API answers it. With the `drop_field` fault the stored contact then loses those
        fields (the answer still shows them), so only a later read reveals the loss."""
        fields = self.emu.ctx.faults.dropped_fields(APP, loc.id)
        if not fields:
            return c
        answer = dict(c)
        loc.unindex(c)
        for name in fields:
            c.pop(name, None)
            c.pop(f"{name}LowerCase", None)
        lower_variants(c)
        loc.index(c)
        return answer

    # ----- API ----------------------------------------------------------------------------------------
    def get(self, request: Request, loc: Location, _b: Any) -> Result:
        return 200, {"contact": find_contact(loc, request.path_params["contactId"])}, []

    def create(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_CONTACT, ("locationId",))
        if problems:
            raise unprocessable(problems)
        same_location(loc, body["locationId"])
        if not loc.allow_duplicates:
            existing, field = loc.match(body.get("email"), body.get("phone"))
            if existing is not None:
                # GHL: 400 with meta.contactId when the location does not allow duplicated contacts
                raise GhlError(
                    400,
                    "This location does not allow duplicated contacts.",
                    meta={
                        "contactId": existing["id"],
                        "contactName": existing.get("name", ""),
                        "matchingField": field,
                    },
                )
        c = self.new_contact(loc, body)
        answer = self.answer(loc, c)
        return 201, {"contact": answer}, [contact_event("ContactCreate", loc, c)]

    def update(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_CONTACT)
        if problems:
            raise unprocessable(problems)
        c = find_contact(loc, request.path_params["contactId"])
        changed, tags_changed = self.apply(loc, c, body)  # `tags` replaces every tag
        answer = self.answer(loc, c)
        return 200, {"succeded": True, "contact": answer}, self.change_events(loc, c, changed, tags_changed)

    def upsert(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPSERT_CONTACT, ("locationId",))
        if problems:
            raise unprocessable(problems)
        same_location(loc, body["locationId"])
        trace = str(uuid.uuid4())
        existing = None
        field = ""
        if not (loc.allow_duplicates and body.get("createNewIfDuplicateAllowed")):
            existing, field = loc.match(body.get("email"), body.get("phone"))
        if existing is None:
            c = self.new_contact(loc, body)
            answer = self.answer(loc, c)
            return (
                200,
                {"new": True, "contact": answer, "traceId": trace},
                [contact_event("ContactCreate", loc, c)],
            )
        body = dict(body)
        if field == "email" and body.get("phone"):
            other, _ = loc.match(None, body["phone"])
            if other is not None and other["id"] != existing["id"]:
                body.pop("phone")  # GHL keeps the email match and silently ignores the phone (api-docs#37)
        changed, tags_changed = self.apply(loc, existing, body)
        answer = self.answer(loc, existing)
        events = self.change_events(loc, existing, changed, tags_changed)
        return 200, {"new": False, "contact": answer, "traceId": trace}, events

    def delete(self, request: Request, loc: Location, _b: Any) -> Result:
        c = find_contact(loc, request.path_params["contactId"])
        return 200, {"succeded": True}, self.remove(loc, c)

    # ----- admin: a user changes or deletes a contact in GHL's own UI ------------------------------------
    async def admin_contacts(self, request: Request) -> Response:
        """PUT {locationId, id, ...fields}: edit (ContactUpdate / ContactTagUpdate); DELETE ?locationId&id:
        delete (ContactDelete)."""
        params = request.query_params if request.method == "DELETE" else None
        b: dict[str, Any] = dict(params) if params is not None else await request.json()
        loc = self.emu.state.locations.get(str(b.pop("locationId", "")))
        if loc is None:
            return admin_error("unknown locationId")
        c = loc.contacts.get(str(b.pop("id", "")))
        if c is None:
            return admin_error("unknown contact id")
        if request.method == "DELETE":
            await self.emu.hooks.to_location(loc, self.remove(loc, c))
            return JSONResponse({"deleted": c["id"]})
        spec = {**v.UPDATE_CONTACT, "companyName": "str?"}  # the UI edits fields the API's PUT cannot
        problems = v.check(b, spec)
        if problems:
            return admin_error("; ".join(problems))
        try:
            changed, tags_changed = self.apply(loc, c, b)
        except GhlError as e:
            return admin_error(str(e.body["message"]))
        await self.emu.hooks.to_location(loc, self.change_events(loc, c, changed, tags_changed))
        return JSONResponse({"contact": c})

    def routes(self, a: RouteFactory) -> list[Route]:
        r, w = "contacts.readonly", "contacts.write"
        return [
            Route("/contacts/upsert", a(w, self.upsert, body=True), methods=["POST"]),
            Route("/contacts/", a(w, self.create, body=True), methods=["POST"]),
            Route("/contacts/{contactId}", a(r, self.get), methods=["GET"]),
            Route("/contacts/{contactId}", a(w, self.update, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}", a(w, self.delete), methods=["DELETE"]),
        ]

    async def app_page(self, request: Request) -> Response:
        """The emulator's stand-in for HighLevel's contact screen (app.gohighlevel.com/v2/location/<id>/contacts/
        detail/<id>): the dashboard's "Open in HighLevel" links land here when the connection is the emulator."""
        loc = self.emu.state.locations.get(request.path_params["location_id"])
        c = loc.contacts.get(request.path_params["contact_id"]) if loc is not None else None
        if loc is None or c is None:
            return HTMLResponse("<!doctype html><title>Not found</title><h1>No such contact</h1>", status_code=404)
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
            for k, v in sorted(c.items())
            if not k.endswith("LowerCase")
        )
        title = escape(str(c.get("name") or c.get("email") or c["id"]))
        return HTMLResponse(
            f"<!doctype html><title>{title} · HighLevel emulator</title><h1>{title}</h1>"
            f"<p>Location {escape(loc.id)} (emulator)</p><table>{rows}</table>"
        )

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_admin/contacts", self.admin_contacts, methods=["PUT", "DELETE"]),
            Route("/v2/location/{location_id}/contacts/detail/{contact_id}", self.app_page, methods=["GET"]),
        ]
