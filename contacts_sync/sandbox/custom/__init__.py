"""A reference "Your App" emulator, mounted at /custom: what source-apps.md section 5 asks custom apps to offer.

Auth: `Authorization: Bearer custom-sandbox-token`. `GET /custom/records?since=<ISO>&limit=&cursor=` answers
{"data": [...], "next_cursor": "..."|null}, sorted by (updated_at, id) ascending with an opaque keyset cursor;
deleted records stay listed with `deleted_at` (tombstones). Admin: `POST /custom/_admin/records` upserts a record
(updated_at = now); `POST /custom/_admin/emit {"url", "secret", "type", "data"}` sends a webhook signed both as
Standard Webhooks (webhook-id/-timestamp/-signature "v1,<base64>") and as `X-Webhook-Signature` (hex HMAC of body).

Tasks and notes: `GET /custom/tasks` and `/custom/notes` page the same way; each names its contact in `contact_id`.
`POST /custom/_admin/tasks` / `_admin/notes` upsert one; `POST /custom/_admin/delete {"kind", "id"}` leaves a
tombstone (`deleted_at` set, `updated_at` moved) of a record, task or note.

The receiver of our outgoing webhooks (sandbox/custom/receiver.py) is mounted at `/custom/hooks`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.apiclient import signatures
from contacts_sync.sandbox.hubstaff import fake

from . import receiver

APP = "custom"
API_TOKEN = "custom-sandbox-token"
DEFAULT_RECORDS = 200
MAX_LIMIT = 500


# The collections the emulator lists, by URL path segment, and the prefix of the ids it makes up.
KINDS = {"records": ("contact", "rec"), "tasks": ("task", "task"), "notes": ("note", "note")}


class CustomState:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, dict[str, Any]] = {}
        self.requests = 0
        r = fake.rng("custom")
        for n in range(1, DEFAULT_RECORDS + 1):
            first, last = fake.person_name(r)
            updated = fake.past(r, days=120) + timedelta(microseconds=n)
            self.records[f"rec_{n:05d}"] = {
                "id": f"rec_{n:05d}",
                "type": "contact",
                "first_name": first,
                "last_name": last,
                "email": fake.email_for(r, f"{first}.{last}", n),
                "phone": fake.phone(r),
                "company": fake.company_name(r, n) if r.random() < 0.5 else "",
                "tags": r.sample(["lead", "customer", "vip", "newsletter"], r.randint(0, 2)),
                "updated_at": updated.isoformat(),
                "deleted_at": None,
            }

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        return {"records": self.records, "tasks": self.tasks, "notes": self.notes}[name]

    def upsert(self, body: dict[str, Any], name: str = "records") -> dict[str, Any]:
        kind, prefix = KINDS[name]
        rows = self.collection(name)
        rid = str(body.get("id") or f"{prefix}_{uuid.uuid4().hex[:8]}")
        base: dict[str, Any] = {"type": kind, "deleted_at": None}
        if name == "records":
            base["tags"] = []
        else:
            base["created_at"] = datetime.now(UTC).isoformat()
        record = {**rows.get(rid, base), **body, "id": rid, "updated_at": datetime.now(UTC).isoformat()}
        rows[rid] = record
        return record

    def delete(self, name: str, rid: str) -> dict[str, Any] | None:
        rows = self.collection(name)
        if rid not in rows:
            return None
        now = datetime.now(UTC).isoformat()
        rows[rid] = {**rows[rid], "deleted_at": now, "updated_at": now}
        return rows[rid]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _encode(record: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([record["updated_at"], record["id"]]).encode()).decode()


def _decode(cursor: str) -> tuple[str, str]:
    updated_at, rid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return str(updated_at), str(rid)


sign_standard = signatures.standard_sign


def mount(ctx: Any) -> Mount:  # noqa: C901 - small route closures counted as one function
    # Longer than 60 lines on purpose: the emulator's few small routes are closures over one state box, so
    # a reset swaps the state for all of them; splitting them apart would only add plumbing.
    box = {"state": CustomState()}

    async def records(request: Request) -> Response:
        return await listing(request, "records")

    async def tasks(request: Request) -> Response:
        return await listing(request, "tasks")

    async def notes(request: Request) -> Response:
        return await listing(request, "notes")

    async def listing(request: Request, name: str) -> Response:
        short = await ctx.faults.before(APP, "*")
        if short is not None:
            return short
        if request.headers.get("authorization", "") != f"Bearer {API_TOKEN}":
            return _error(401, "invalid bearer token")
        state = box["state"]
        state.requests += 1
        q = request.query_params
        try:
            limit = min(max(1, int(q.get("limit", 100))), MAX_LIMIT)
            after = _decode(q["cursor"]) if q.get("cursor") else None
            since = datetime.fromisoformat(q["since"].replace("Z", "+00:00")).isoformat() if q.get("since") else ""
        except (ValueError, TypeError, json.JSONDecodeError):
            return _error(400, "limit, cursor or since is invalid")
        rows = sorted(state.collection(name).values(), key=lambda rec: (rec["updated_at"], rec["id"]))
        rows = [
            rec
            for rec in rows
            if rec["updated_at"] >= since and (after is None or (rec["updated_at"], rec["id"]) > after)
        ]
        page = rows[:limit]
        return JSONResponse({"data": page, "next_cursor": _encode(page[-1]) if len(rows) > limit else None})

    async def admin(request: Request) -> Response:
        action = request.path_params["action"]
        body = await request.json() if await request.body() else {}
        if action in KINDS:
            return JSONResponse(box["state"].upsert(body, action))
        if action == "delete":
            name = next((n for n, (kind, _) in KINDS.items() if kind == body.get("kind")), "")
            gone = box["state"].delete(name, str(body.get("id"))) if name else None
            return JSONResponse(gone) if gone is not None else _error(404, "no such record")
        if action == "clear":  # no records at all (the seed included): a test brings its own
            for name in KINDS:
                box["state"].collection(name).clear()
            return JSONResponse({"records": 0})
        if action == "emit":
            payload = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": body.get("type", "contact.updated"),
                    "timestamp": datetime.now(UTC).isoformat(),
                    "data": body.get("data", {}),
                }
            ).encode()
            msg_id, ts, secret = f"msg_{uuid.uuid4().hex}", int(time.time()), str(body.get("secret", ""))
            headers = {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(ts),
                "webhook-signature": sign_standard(secret=secret, msg_id=msg_id, timestamp=ts, body=payload),
                "X-Webhook-Signature": hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest(),
            }
            if ctx.faults.drop_webhook(APP, "*"):
                return JSONResponse({"status": None, "dropped": True})
            resp = await ctx.http.post(str(body["url"]), content=payload, headers=headers)
            return JSONResponse({"status": resp.status_code})
        if action == "stats":
            return JSONResponse({"records": len(box["state"].records), "requests": box["state"].requests})
        return _error(404, "no such admin action")

    hooks = receiver.Receiver()

    def reset() -> None:
        box["state"] = CustomState()
        hooks.reset()

    ctx.on_reset(APP, reset)
    ctx.on_status(APP, lambda: {"records": len(box["state"].records)})
    return Mount(
        "/custom",
        routes=[
            Route("/records", records),
            Route("/tasks", tasks),
            Route("/notes", notes),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
            *hooks.routes(),
        ],
    )
