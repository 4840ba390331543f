"""starbuero.de customer API emulator, mounted at /starbuero (stands in for
https://backend.starbuero.de/external/api/v1). Auth: `Authorization: Bearer starbuero-sandbox-token`.

Only a community client documents this API (source-apps.md section 4), so the response shapes are ASSUMPTIONS,
listed in docs/adding-a-connector.md: lists answer {"data": [...], "meta": {page, limit, total, pages}};
`page` starts at 1, `limit` is 10-1000 (default 10). A call record is {id, call_start, duration, caller_name,
caller_number, caller_company, caller_email, message, transcript, employee, called_number, callback_requested};
tasks ("call back" requests) are {id, call_id, title, status (open|completed), created_at, completed_at}.
Address-book writes (POST, GET/PUT/DELETE /addon_contact/contact/{id}) take every field the community client sends
(a PUT replaces the entry) and answer {"data": {...}}. Admin: POST /_admin/call adds a call arriving now.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.sandbox.hubstaff import fake

APP = "starbuero"
API_TOKEN = "starbuero-sandbox-token"
DEFAULT_CALLS = 120
MESSAGES = [
    "Bitte um Rückruf wegen Angebot.",
    "Caller asked about opening hours.",
    "Dringend: Heizung ausgefallen!",
    "Wants to reschedule the appointment to Friday.",
    "Frage zur Rechnung Nr. 2024-117.",
    "",
    "Interested in a quote for 3 offices; call back after 2pm.",
]


def _local(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")  # the client's documented date format (no zone)


class StarbueroState:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.deleted_contacts = 0
        self.requests = 0
        self.seed(DEFAULT_CALLS)

    def seed(self, count: int) -> int:
        r = fake.rng(f"starbuero-{len(self.calls)}")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)
        for i in range(count):
            cid = 40_000 + len(self.calls) + 1
            first, last = fake.person_name(r)
            message = r.choice(MESSAGES)
            call = {
                "id": cid,
                "call_start": _local(start + timedelta(minutes=30 * i + r.randint(0, 20))),
                "duration": r.randint(15, 900),
                "caller_name": f"{first} {last}" if r.random() < 0.9 else "",
                "caller_number": fake.phone(r),
                "caller_company": fake.company_name(r, cid) if r.random() < 0.4 else "",
                "caller_email": fake.email_for(r, last, cid) if r.random() < 0.3 else "",
                "message": message,
                "transcript": f"Agent: starbuero, guten Tag. Caller: {message}" if message else "",
                "employee": r.choice(["Frau Berger", "Herr Ismail", "Support"]),
                "called_number": "+49 30 555 0100",
                "callback_requested": "ückruf" in message or "call back" in message,
            }
            self.calls.append(call)
            if call["callback_requested"]:
                done = r.random() < 0.5
                self.tasks.append(
                    {
                        "id": 60_000 + len(self.tasks) + 1,
                        "call_id": cid,
                        "title": f"Rückruf {call['caller_name'] or call['caller_number']}",
                        "status": "completed" if done else "open",
                        "created_at": call["call_start"],
                        "completed_at": call["call_start"] if done else None,
                    }
                )
            if r.random() < 0.3:
                self.contacts.append(
                    {
                        "id": 80_000 + len(self.contacts) + 1,
                        "salutation": r.choice(["Frau", "Herr", ""]),
                        "title": "",
                        "firstname": first,
                        "lastname": last,
                        "company": call["caller_company"],
                        "notice": "",
                        "vip": r.random() < 0.1,
                        "emailAddresses": [call["caller_email"]] if call["caller_email"] else [],
                        "phoneNumbers": [call["caller_number"]] if call["caller_number"] else [],
                        "employee": None,
                        "canForward": True,
                        "canNotifiedBySms": False,
                    }
                )
        return len(self.calls)

    def add_call(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A call as it arrives now (admin: tests make callers call again); a call-back task when asked for."""
        cid = 40_000 + len(self.calls) + 1
        call = {
            "id": cid,
            "call_start": _local(datetime.now(UTC).replace(microsecond=0)),
            "duration": 60,
            "caller_name": "",
            "caller_number": "",
            "caller_company": "",
            "caller_email": "",
            "message": "",
            "transcript": "",
            "employee": "Support",
            "called_number": "+49 30 555 0100",
            "callback_requested": False,
            **{k: v for k, v in fields.items() if k != "id"},
        }
        self.calls.append(call)
        if call["callback_requested"]:
            self.tasks.append(
                {
                    "id": 60_000 + len(self.tasks) + 1,
                    "call_id": cid,
                    "title": f"Rückruf {call['caller_name'] or call['caller_number']}",
                    "status": "open",
                    "created_at": call["call_start"],
                    "completed_at": None,
                }
            )
        return call


# The address-book body the community client sends on create and edit (every field, always).
CONTACT_BODY = {
    "salutation": str,
    "title": str,
    "firstname": str,
    "lastname": str,
    "company": str,
    "notice": str,
    "emailAddresses": list,
    "phoneNumbers": list,
    "vip": bool,
    "canForward": bool,
    "canNotifiedBySms": bool,
}


async def _contact_body(request: Request) -> tuple[dict[str, Any], str]:
    """The body of a create/edit, or why it is refused (every field present and of its type; `employee` free)."""
    try:
        body = await request.json()
    except ValueError:
        return {}, "the body is not JSON"
    if not isinstance(body, dict):
        return {}, "the body must be a JSON object"
    missing = [k for k in CONTACT_BODY if k not in body]
    wrong = [k for k, kind in CONTACT_BODY.items() if k in body and not isinstance(body[k], kind)]
    unknown = [k for k in body if k not in CONTACT_BODY and k != "employee"]
    if missing or wrong or unknown:
        return {}, "; ".join(
            f"{what}: {', '.join(keys)}"
            for what, keys in (("missing", missing), ("wrong type", wrong), ("unknown", unknown))
            if keys
        )
    if not all(isinstance(v, str) for k in ("emailAddresses", "phoneNumbers") for v in body[k]):
        return {}, "emailAddresses and phoneNumbers hold strings"
    return {**body, "employee": body.get("employee")}, ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def _listing(request: Request, rows: list[dict[str, Any]]) -> Response:
    try:
        page = int(request.query_params.get("page", 1))
        limit = int(request.query_params.get("limit", 10))
    except ValueError:
        return _error(422, "page and limit must be integers")
    if page < 1 or not 10 <= limit <= 1000:
        return _error(422, "page must be >= 1 and limit between 10 and 1000")
    total = len(rows)
    return JSONResponse(
        {
            "data": rows[(page - 1) * limit : page * limit],
            "meta": {"page": page, "limit": limit, "total": total, "pages": math.ceil(total / limit)},
        }
    )


def mount(ctx: Any) -> Mount:  # noqa: C901 - small route closures counted as one function
    # Longer than 60 lines on purpose: the emulator's few small routes are closures over one state box, so
    # a reset swaps the state for all of them; splitting them apart would only add plumbing.
    box = {"state": StarbueroState()}

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            short = await ctx.faults.before(APP, "*")
            if short is not None:
                return short
            if request.headers.get("authorization", "") != f"Bearer {API_TOKEN}":
                return _error(401, "Unauthenticated. Please get the API Key from Starbuero.")
            box["state"].requests += 1
            return await handler(request, box["state"])

        return run

    async def company(request: Request, state: StarbueroState) -> Response:
        return JSONResponse(
            {
                "begruessung": "Sandbox GmbH, guten Tag!",
                "anweisung": "Rückrufe notieren.",
                "info_unternehmen": "Sandbox GmbH, Berlin",
                "impressum": "",
                "outing": "",
            }
        )

    async def call_data(request: Request, state: StarbueroState) -> Response:
        q = request.query_params
        rows = state.calls
        for name, keep in (
            ("startDateTime", lambda c, v: c["call_start"] >= v),
            ("endDateTime", lambda c, v: c["call_start"] <= v),
        ):
            if q.get(name):
                value = q[name]
                try:
                    datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
                except ValueError:
                    return _error(422, f"{name} must look like 2022-01-01T13:37:00")
                rows = [c for c in rows if keep(c, value)]
        return _listing(request, rows)

    async def contacts(request: Request, state: StarbueroState) -> Response:
        if request.method == "GET":
            return _listing(request, state.contacts)
        body, problem = await _contact_body(request)
        if problem:
            return _error(422, problem)
        contact = {"id": max([80_000, *(c["id"] for c in state.contacts)]) + 1 + state.deleted_contacts, **body}
        state.contacts.append(contact)
        return JSONResponse({"data": contact})

    async def contact(request: Request, state: StarbueroState) -> Response:
        found = next((c for c in state.contacts if str(c["id"]) == request.path_params["id"]), None)
        if found is None:
            return _error(404, "Contact not found.")
        if request.method == "GET":
            return JSONResponse({"data": found})
        if request.method == "DELETE":
            state.contacts.remove(found)
            state.deleted_contacts += 1
            return JSONResponse({"data": found})
        body, problem = await _contact_body(request)
        if problem:
            return _error(422, problem)
        found.clear()
        found.update({"id": int(request.path_params["id"]), **body})  # a PUT replaces the entry
        return JSONResponse({"data": found})

    async def tasks(request: Request, state: StarbueroState) -> Response:
        status = request.query_params.get("status")
        return _listing(request, [t for t in state.tasks if not status or t["status"] == status])

    async def admin(request: Request) -> Response:
        s = box["state"]
        if request.path_params["action"] == "complete_task" and request.method == "POST":
            body = await request.json()
            task = next((t for t in s.tasks if t["id"] == body.get("id")), None)
            if task is None:
                return _error(404, "no such task")
            task.update(status="completed", completed_at=_local(datetime.now(UTC)))
            return JSONResponse(task)
        if request.path_params["action"] == "call" and request.method == "POST":
            return JSONResponse(s.add_call(await request.json()))
        if request.path_params["action"] == "stats":
            return JSONResponse({"calls": len(s.calls), "tasks": len(s.tasks), "contacts": len(s.contacts)})
        return _error(404, "no such admin action")

    def reset() -> None:
        box["state"] = StarbueroState()

    ctx.on_reset(APP, reset)
    ctx.on_status(APP, lambda: {"calls": len(box["state"].calls), "tasks": len(box["state"].tasks)})
    return Mount(
        "/starbuero",
        routes=[
            Route("/", guarded(company)),
            Route("/call_data", guarded(call_data)),
            Route("/addon_contact/contact", guarded(contacts), methods=["GET", "POST"]),
            Route("/addon_contact/contact/{id}", guarded(contact), methods=["GET", "PUT", "DELETE"]),
            Route("/tasks", guarded(tasks)),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
        ],
    )
