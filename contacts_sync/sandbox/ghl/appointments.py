"""Appointments: GET /contacts/{id}/appointments, GET /calendars/events (a time window of one calendar, user or
group) and the admin endpoint that books, moves and cancels them as a user would in GHL's calendar."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl.common import GhlError, Result, admin_error, find_contact, same_location
from contacts_sync.sandbox.ghl.events import appointment_event
from contacts_sync.sandbox.ghl.state import Location, iso, iso_ms, new_id

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

DEFAULT_CALENDAR_ID = "sandbox-calendar"
DEFAULT_DURATION_S = 1800  # a booked slot lasts 30 minutes unless endTime says otherwise
# What an admin PUT may change (a user moving or editing the appointment); id, locationId, contactId stay.
MOVABLE = {
    "title",
    "startTime",
    "endTime",
    "notes",
    "address",
    "appointmentStatus",
    "status",
    "assignedUserId",
    "calendarId",
    "groupId",
    "users",
    "source",
    "assignedResources",
}


class Appointments:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def list_for_contact(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = find_contact(loc, request.path_params["contactId"])["id"]
        return 200, {"events": [a for a in loc.appointments.values() if a["contactId"] == cid]}, []

    def calendar_events(self, request: Request, loc: Location, _b: Any) -> Result:
        """GET /calendars/events?locationId&startTime&endTime (ms) and one of calendarId, userId, groupId."""
        q = request.query_params
        same_location(loc, q.get("locationId"))
        try:
            start, end = int(q["startTime"]), int(q["endTime"])
        except (KeyError, ValueError):
            raise GhlError(400, "startTime and endTime are required, in milliseconds") from None
        calendar, user, group = q.get("calendarId"), q.get("userId"), q.get("groupId")
        if not (calendar or user or group):
            raise GhlError(400, "Either of calendarId, userId or groupId is required")
        rows = [
            a
            for a in loc.appointments.values()
            if start <= iso_ms(a["startTime"]) <= end
            and (not calendar or a["calendarId"] == calendar)
            and (not user or user == a.get("assignedUserId") or user in a.get("users", []))
            and (not group or a.get("groupId") == group)
        ]
        rows.sort(key=lambda a: (iso_ms(a["startTime"]), a["id"]))
        return 200, {"events": rows}, []

    # ----- admin: book, move, cancel -------------------------------------------------------------------
    @staticmethod
    def book(loc: Location, contact_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        now, aid = iso(), new_id()
        start = time.time() + 86_400
        appt = {
            "id": aid,
            "calendarId": DEFAULT_CALENDAR_ID,
            "status": "booked",
            "title": "Appointment",
            "assignedUserId": next(iter(loc.users), ""),
            "notes": "",
            "startTime": iso(start),
            "endTime": iso(start + DEFAULT_DURATION_S),
            "address": "",
            "locationId": loc.id,
            "contactId": contact_id,
            "groupId": "",
            "appointmentStatus": "confirmed",
            "users": [],
            "dateAdded": now,
            "dateUpdated": now,
            "assignedResources": [],
            **fields,
        }
        loc.appointments[aid] = appt
        return appt

    async def admin_appointments(self, request: Request) -> Response:
        """POST {locationId, contactId, title?, startTime?, ...} books (AppointmentCreate); PUT {locationId, id,
        startTime?, endTime?, title?, ...} moves/edits (AppointmentUpdate); DELETE ?locationId&id cancels
        (AppointmentDelete)."""
        b: dict[str, Any] = dict(request.query_params) if request.method == "DELETE" else await request.json()
        loc = self.emu.state.locations.get(str(b.pop("locationId", "")))
        if loc is None:
            return admin_error("unknown locationId")
        unknown = sorted(set(b) - MOVABLE - {"id", "contactId"})
        if unknown:
            return admin_error(f"unknown appointment fields: {unknown}")
        if request.method == "POST":
            cid = str(b.pop("contactId", ""))
            if cid not in loc.contacts:
                return admin_error("unknown contactId")
            appt, kind = self.book(loc, cid, b), "AppointmentCreate"
        else:
            found = loc.appointments.get(str(b.pop("id", "")))
            if found is None:
                return admin_error("unknown appointment id")
            appt = found
            if request.method == "DELETE":
                del loc.appointments[appt["id"]]
                kind = "AppointmentDelete"
            else:
                if "contactId" in b:
                    return admin_error("an appointment's contactId cannot be changed")
                appt.update(b, dateUpdated=iso())
                kind = "AppointmentUpdate"
        await self.emu.hooks.to_location(loc, [appointment_event(kind, loc, appt)])
        return JSONResponse({"appointment": appt})

    def routes(self, a: RouteFactory) -> list[Route]:
        return [
            Route(
                "/contacts/{contactId}/appointments",
                a("contacts.readonly", self.list_for_contact),
                methods=["GET"],
            ),
            Route("/calendars/events", a("calendars/events.readonly", self.calendar_events), methods=["GET"]),
        ]

    def admin_routes(self) -> list[Route]:
        return [Route("/_admin/appointments", self.admin_appointments, methods=["POST", "PUT", "DELETE"])]
