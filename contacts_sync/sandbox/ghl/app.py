"""The GHL (LeadConnector API v2) emulator: every Contacts operation the product uses, businesses, users,
custom fields, OAuth (authorize page + token endpoint with rotating single-use refresh tokens), private
integration tokens, rate-limit headers and 429s, scope checks, signed webhooks, fault injection.

Served under /ghl by the sandbox server; GHL's base URL is then http://127.0.0.1:8010/ghl.
The request path is kept lean (dict lookups, no per-request work GHL would not do): see bench/ghl_budget.py.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.sandbox.faults import FAULT_HEADER
from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.seed import seed_location, seed_reference_data
from contacts_sync.sandbox.ghl.state import (
    ALL_SCOPES,
    DAILY_LIMIT,
    GhlState,
    Location,
    iso,
    iso_ms,
    new_id,
    normalize_phone,
)

log = logging.getLogger(__name__)

APP = "ghl"
# Version header values the emulated endpoints accept (Contacts et al. 2021-07-28, Calendars 2021-04-15).
VERSIONS = frozenset({"2021-07-28", "2021-04-15"})
# GHL: 100 requests / 10 s per app per location (burst), 200,000 per day.
BURST_LIMIT = 100
BURST_WINDOW_SECONDS = 10.0
# POST /contacts/search: `page` paging reaches at most this many records; past it only searchAfter works.
SEARCH_PAGE_WINDOW = 10_000
SEARCH_MAX_PAGE_LIMIT = 500
LIST_MAX_LIMIT = 100  # GET /contacts/ (deprecated)
DELIVERY_LOG_SIZE = 500
KEY_PATH = Path(__file__).resolve().parent.parent / "keys" / "ghl-webhook-ed25519-private.pem"
RSA_KEY_PATH = KEY_PATH.parent / "ghl-webhook-rsa-private.pem"
SIGNATURE_MODES = ("ed25519", "both", "rsa")

Result = tuple[int, Any, list[dict[str, Any]]]  # status, body, webhook events


class GhlError(Exception):
    def __init__(self, status: int, message: Any, **extra: Any) -> None:
        super().__init__(str(message))
        self.status = status
        body: dict[str, Any] = {"statusCode": status, "message": message}
        if status == 401:
            body["error"] = "Unauthorized"
        elif status == 422:
            body["error"] = "Unprocessable Entity"
        elif status == 403:
            body["error"] = "Forbidden"
        body.update(extra)
        self.body = body


def unprocessable(messages: list[str]) -> GhlError:
    return GhlError(422, messages)


def contact_out(c: dict[str, Any]) -> dict[str, Any]:
    return c  # stored contacts never hold None values


def _lower_variants(c: dict[str, Any]) -> None:
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


def _tags(values: list[str]) -> list[str]:
    """GHL lower-cases and trims tags and keeps each once."""
    out: list[str] = []
    for t in values:
        t = t.strip().lower()
        if t and t not in out:
            out.append(t)
    return out


class GhlEmulator:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.signing_key: Ed25519PrivateKey = load_pem_private_key(KEY_PATH.read_bytes(), None)  # type: ignore[assignment]
        self.rsa_key: Any = load_pem_private_key(RSA_KEY_PATH.read_bytes(), None)
        self.state = GhlState()
        self.reset()

    # ----- state --------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.state = GhlState()
        opts = self.options
        loc = self.state.add_location(opts.ghl_location, webhook_url=opts.webhook_url)
        seed_reference_data(loc, random.Random(1))
        self.state.add_token(opts.ghl_token, loc.id)
        if opts.seed:
            seed_location(loc, opts.seed, seed=1)

    def status(self) -> dict[str, Any]:
        return {
            "locations": {lid: len(loc.contacts) for lid, loc in self.state.locations.items()},
            **self.state.stats,
            "deliveries": len(self.state.deliveries),
        }

    # ----- the request path ---------------------------------------------------------------------------
    def api(
        self,
        scope: str,
        handler: Callable[[Request, Location, Any], Result | Awaitable[Result]],
        *,
        body: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        state = self.state_ref
        faults = self.ctx.faults
        limit_default = self.options.ghl_rate_limit or BURST_LIMIT

        async def endpoint(request: Request) -> Response:
            st = state()
            headers = request.headers
            if headers.get("version") not in VERSIONS:
                msg = (
                    "version header was not found"
                    if "version" not in headers
                    else "version header is invalid"
                )
                return JSONResponse({"statusCode": 400, "message": msg}, status_code=400)
            auth = headers.get("authorization", "")
            token = st.tokens.get(auth[7:]) if auth[:7].lower() == "bearer " else None
            if token is None:
                return _json(
                    401,
                    {
                        "statusCode": 401,
                        "message": "Invalid token: access token is invalid",
                        "error": "Unauthorized",
                    },
                )
            if token.expires_at and token.expires_at < time.time():
                return _json(401, {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"})
            if scope not in token.scopes:
                return _json(
                    401,
                    {
                        "statusCode": 401,
                        "message": "The token is not authorized for this scope.",
                        "error": "Unauthorized",
                    },
                )
            loc = st.locations[token.location_id]
            short = await faults.before(APP, loc.id)
            if short is not None:
                return short
            rate = faults.take(APP, loc.id, limit_default, BURST_WINDOW_SECONDS)
            daily_remaining = loc.count_daily()
            rl = {
                "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
                "X-RateLimit-Daily-Remaining": str(daily_remaining),
                "X-RateLimit-Interval-Milliseconds": str(rate.window_ms),
                "X-RateLimit-Max": str(rate.limit),
                "X-RateLimit-Remaining": str(rate.remaining),
            }
            if not rate.allowed:
                return _json(429, {"statusCode": 429, "message": "Too Many Requests"}, rl)
            payload: Any = None
            if body:
                raw = await request.body()
                try:
                    payload = json.loads(raw) if raw else {}
                except ValueError:
                    return _json(400, {"statusCode": 400, "message": "Unexpected token in JSON body"}, rl)
            try:
                result = handler(request, loc, payload)
                if not isinstance(result, tuple):
                    result = await result
            except GhlError as e:
                return _json(e.status, e.body, rl)
            status, out, events = result
            task = self._deliver_task(loc, events) if events else None
            return _json(status, out, rl, task)

        return endpoint

    def state_ref(self) -> GhlState:
        return self.state

    def recorded(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """With --record: append each exchange (request and response) as one JSON line; otherwise a no-op."""
        path = getattr(self.options, "record_path", "")
        if not path:
            return endpoint
        fh = getattr(self, "_record_fh", None)
        if fh is None:
            fh = self._record_fh = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - server-long

        async def recording(request: Request) -> Response:
            raw = await request.body()
            response = await endpoint(request)
            h = request.headers
            line = {
                "kind": "http",
                "method": request.method,
                "path": request.url.path.removeprefix("/ghl"),
                "query": request.url.query,
                "content_type": h.get("content-type", ""),
                "headers": {k: h[k] for k in ("version", "authorization") if k in h},
                "body": raw.decode("utf-8", "replace"),
                "status": response.status_code,
                "response_type": response.headers.get("content-type", ""),
                "fault": response.headers.get(FAULT_HEADER, ""),
                "response": bytes(response.body).decode("utf-8", "replace")
                if hasattr(response, "body")
                else "",
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            return response

        return recording

    def record_webhook(self, payload: dict[str, Any]) -> None:
        fh = getattr(self, "_record_fh", None)
        if fh is not None:
            fh.write(json.dumps({"kind": "webhook", "payload": payload}, ensure_ascii=False) + "\n")

    # ----- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def same_location(loc: Location, location_id: Any) -> None:
        if location_id != loc.id:
            raise GhlError(403, "The token does not have access to this location.")

    @staticmethod
    def contact(loc: Location, contact_id: str) -> dict[str, Any]:
        c = loc.contacts.get(contact_id)
        if c is None:
            raise GhlError(400, f"Contact with id {contact_id} not found")
        return c

    def _apply(self, loc: Location, c: dict[str, Any], body: dict[str, Any]) -> tuple[bool, bool]:
        """Write body fields into contact c (GHL write shape -> read shape). Returns (changed, tags changed)."""
        before = dict(c)
        loc.unindex(c)
        problems: list[str] = []
        for key, value in body.items():
            if key in ("locationId", "createNewIfDuplicateAllowed", "gender"):
                continue
            if key == "phone":
                value = normalize_phone(value) or None
            elif key == "tags":
                value = _tags(value)
            elif key == "customFields":
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
                        merged[definition["id"]] = {
                            "id": definition["id"],
                            "value": fv
                            if isinstance(fv, str)
                            else json.dumps(fv, ensure_ascii=False)
                            if isinstance(fv, dict)
                            else ", ".join(map(str, fv))
                            if isinstance(fv, list)
                            else str(fv),
                        }
                value = list(merged.values())
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
        _lower_variants(c)
        changed = {k: v for k, v in c.items() if k != "dateUpdated"} != {
            k: v for k, v in before.items() if k != "dateUpdated"
        }
        if changed:
            c["dateUpdated"] = iso()
        loc.index(c)
        return changed, c.get("tags") != before.get("tags")

    def _new_contact(self, loc: Location, body: dict[str, Any]) -> dict[str, Any]:
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
            self._apply(loc, c, body)
        except GhlError:
            loc.unindex(c)
            del loc.contacts[c["id"]]
            raise
        c["dateUpdated"] = c["dateAdded"]
        return c

    @staticmethod
    def event(type_: str, loc: Location, data: dict[str, Any]) -> dict[str, Any]:
        if type_.startswith("Appointment"):
            return {"type": type_, "locationId": loc.id, "appointment": data}
        return {"type": type_, "locationId": loc.id, **data}

    def contact_event(self, type_: str, loc: Location, c: dict[str, Any]) -> dict[str, Any]:
        keep = (
            "id",
            "address1",
            "city",
            "state",
            "companyName",
            "country",
            "source",
            "dateAdded",
            "dateOfBirth",
            "dnd",
            "email",
            "name",
            "firstName",
            "lastName",
            "phone",
            "postalCode",
            "tags",
            "website",
            "assignedTo",
            "customFields",
            "dndSettings",
            "timezone",
        )
        data = {k: c[k] for k in keep if k in c}
        data.setdefault("attachments", [])
        return self.event(type_, loc, data)

    # ----- webhooks -----------------------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.signing_key.sign(body)).decode()

    def sign_legacy(self, body: bytes) -> str:
        """The legacy x-wh-signature: base64 RSA-SHA256 (PKCS#1 v1.5) over the raw body."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return base64.b64encode(self.rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()

    def signature_headers(self, loc: Location, body: bytes) -> dict[str, str]:
        headers = {}
        if loc.signatures in ("ed25519", "both"):
            headers["x-ghl-signature"] = self.sign(body)
        if loc.signatures in ("both", "rsa"):
            headers["x-wh-signature"] = self.sign_legacy(body)
        return headers

    def _deliver_task(self, loc: Location, events: list[dict[str, Any]]) -> BackgroundTask | None:
        url = loc.webhook_url or self.options.webhook_url
        if not url:
            return None
        return BackgroundTask(self.deliver, loc, url, events)

    async def deliver(self, loc: Location, url: str, events: list[dict[str, Any]]) -> None:
        for ev in events:
            payload = {
                **ev,
                "timestamp": iso(),
                "webhookId": str(uuid.uuid4()),
                "appId": "sandbox-app",
                "versionId": "sandbox-version",
            }
            record: dict[str, Any] = {
                "type": ev["type"],
                "url": url,
                "webhookId": payload["webhookId"],
                "locationId": loc.id,
                "status": None,
            }
            self.record_webhook(payload)
            if self.ctx.faults.drop_webhook(APP, loc.id):
                record["status"] = "dropped"
            else:
                body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                try:
                    r = await self.ctx.http.post(
                        url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            **self.signature_headers(loc, body),
                            "User-Agent": "GoHighLevel-Webhooks (sandbox)",
                        },
                    )
                    record["status"] = r.status_code
                except Exception as exc:  # noqa: BLE001 - GHL drops failed deliveries; we log and record it
                    log.info("ghl webhook %s to %s failed: %s", ev["type"], url, exc)
                    record["status"] = f"error: {type(exc).__name__}"
            self.state.deliveries.append(record)
            del self.state.deliveries[:-DELIVERY_LOG_SIZE]

    # ===== contacts ===================================================================================
    def get_contact(self, request: Request, loc: Location, _b: Any) -> Result:
        return 200, {"contact": contact_out(self.contact(loc, request.path_params["contactId"]))}, []

    def create_contact(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_CONTACT, ("locationId",))
        if problems:
            raise unprocessable(problems)
        self.same_location(loc, body["locationId"])
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
        c = self._new_contact(loc, body)
        return 201, {"contact": contact_out(c)}, [self.contact_event("ContactCreate", loc, c)]

    def update_contact(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_CONTACT)
        if problems:
            raise unprocessable(problems)
        c = self.contact(loc, request.path_params["contactId"])
        changed, tags_changed = self._apply(loc, c, body)  # `tags` replaces every tag
        events = [self.contact_event("ContactUpdate", loc, c)] if changed else []
        if tags_changed:
            events.append(self.contact_event("ContactTagUpdate", loc, c))
        return 200, {"succeded": True, "contact": contact_out(c)}, events

    def upsert_contact(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPSERT_CONTACT, ("locationId",))
        if problems:
            raise unprocessable(problems)
        self.same_location(loc, body["locationId"])
        trace = str(uuid.uuid4())
        existing = None
        field = ""
        if not (loc.allow_duplicates and body.get("createNewIfDuplicateAllowed")):
            existing, field = loc.match(body.get("email"), body.get("phone"))
        if existing is None:
            c = self._new_contact(loc, body)
            return (
                200,
                {"new": True, "contact": contact_out(c), "traceId": trace},
                [self.contact_event("ContactCreate", loc, c)],
            )
        body = dict(body)
        if field == "email" and body.get("phone"):
            other, _ = loc.match(None, body["phone"])
            if other is not None and other["id"] != existing["id"]:
                body.pop("phone")  # GHL keeps the email match and silently ignores the phone (api-docs#37)
        changed, tags_changed = self._apply(loc, existing, body)
        events = [self.contact_event("ContactUpdate", loc, existing)] if changed else []
        if tags_changed:
            events.append(self.contact_event("ContactTagUpdate", loc, existing))
        return 200, {"new": False, "contact": contact_out(existing), "traceId": trace}, events

    def delete_contact(self, request: Request, loc: Location, _b: Any) -> Result:
        c = self.contact(loc, request.path_params["contactId"])
        loc.unindex(c)
        del loc.contacts[c["id"]]
        loc.tasks.pop(c["id"], None)
        loc.notes.pop(c["id"], None)
        return 200, {"succeded": True}, [self.contact_event("ContactDelete", loc, c)]

    def search_duplicate(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        self.same_location(loc, q.get("locationId"))
        email, number = q.get("email"), q.get("number")
        if not email and not number:
            raise GhlError(400, "email or number is required")
        existing, _field = loc.match(email, number)
        return 200, {"contact": contact_out(existing) if existing else None}, []

    def search(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.SEARCH, ("locationId", "pageLimit"))
        if problems:
            raise unprocessable(problems)
        self.same_location(loc, body["locationId"])
        page_limit = body["pageLimit"]
        if not 1 <= page_limit <= SEARCH_MAX_PAGE_LIMIT:
            raise unprocessable([f"pageLimit must not be greater than {SEARCH_MAX_PAGE_LIMIT}"])
        if "page" in body and "searchAfter" in body:
            raise GhlError(400, "page and searchAfter cannot be used together")
        page = body.get("page", 1)
        if page * page_limit > SEARCH_PAGE_WINDOW and "searchAfter" not in body:
            raise GhlError(
                400, f"Only {SEARCH_PAGE_WINDOW} records can be fetched with page; use searchAfter"
            )
        rows = [c for c in loc.contacts.values() if _matches_query(c, body.get("query"))]
        try:
            filters = body.get("filters") or []
            for f in filters:
                _matches_filter({}, f)  # the filter's shape is checked even when no contact is left to test
            rows = [c for c in rows if all(_matches_filter(c, f) for f in filters)]
        except (KeyError, TypeError, ValueError) as e:
            raise unprocessable([f"filters are invalid: {e}"]) from None
        sort = (body.get("sort") or [{"field": "dateAdded", "direction": "asc"}])[0]
        sfield, desc = sort.get("field", "dateAdded"), sort.get("direction", "asc") == "desc"
        keyed = sorted(
            ((_sort_value(c, sfield), c["id"], c) for c in rows), key=lambda t: (t[0], t[1]), reverse=desc
        )
        if "searchAfter" in body:
            after = body["searchAfter"]
            if not isinstance(after, list) or len(after) != 2:
                raise unprocessable(["searchAfter must be the [value, id] pair of the last contact"])
            cursor = (after[0], after[1])
            keyed = [t for t in keyed if ((t[0], t[1]) < cursor if desc else (t[0], t[1]) > cursor)]
            window = keyed[:page_limit]
        else:
            window = keyed[(page - 1) * page_limit : page * page_limit]
        contacts = [{**c, "searchAfter": [sv, cid]} for sv, cid, c in window]
        return 200, {"contacts": contacts, "total": len(rows)}, []

    def list_contacts(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        self.same_location(loc, q.get("locationId"))
        try:
            limit = int(q.get("limit", 20))
            start_after = int(q["startAfter"]) if q.get("startAfter") else None
        except ValueError:
            raise unprocessable(["limit must be a number", "startAfter must be a number"]) from None
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise unprocessable([f"limit must not be greater than {LIST_MAX_LIMIT}"])
        rows = sorted(
            (iso_ms(c["dateAdded"]), c["id"], c)
            for c in loc.contacts.values()
            if _matches_query(c, q.get("query"))
        )
        total = len(rows)
        if start_after is not None:
            cursor = (start_after, q.get("startAfterId") or "")
            rows = [r for r in rows if (r[0], r[1]) > cursor]
        page = rows[:limit]
        meta: dict[str, Any] = {"total": total, "currentPage": 1, "nextPage": None, "prevPage": None}
        if page:
            meta.update(startAfterId=page[-1][1], startAfter=page[-1][0])
        if len(rows) > limit:
            meta["nextPage"] = 2
            meta["nextPageUrl"] = f"{self.options.base_url}/ghl/contacts/?" + urlencode(
                {"locationId": loc.id, "startAfter": page[-1][0], "startAfterId": page[-1][1], "limit": limit}
            )
        meta = {k: val for k, val in meta.items() if val is not None}
        return 200, {"contacts": [c for _, _, c in page], "count": total, "meta": meta}, []

    def contacts_by_business(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        self.same_location(loc, q.get("locationId"))
        try:
            limit, skip = int(q.get("limit", "25")), int(q.get("skip", "0"))
        except ValueError:
            raise unprocessable(["limit must be a number string", "skip must be a number string"]) from None
        bid = request.path_params["businessId"]
        rows = [
            c
            for c in loc.contacts.values()
            if c.get("businessId") == bid and _matches_query(c, q.get("query"))
        ]
        return 200, {"contacts": rows[skip : skip + limit], "count": len(rows)}, []

    def bulk_business(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.BULK_BUSINESS, ("locationId", "ids"))
        if problems:
            raise unprocessable(problems)
        if "businessId" not in body:
            raise unprocessable(["businessId must be a string"])
        self.same_location(loc, body["locationId"])
        bid = body["businessId"]
        if bid is not None and bid not in loc.businesses:
            raise unprocessable([f"Business with id {bid} not found"])
        done, events = [], []
        for cid in body["ids"]:
            c = loc.contacts.get(cid)
            if c is None:
                continue
            if bid is None:
                c.pop("businessId", None)
            else:
                c["businessId"] = bid
            c["dateUpdated"] = iso()
            done.append(cid)
            events.append(self.contact_event("ContactUpdate", loc, c))
        return 200, {"success": True, "ids": done}, events

    # ----- tags -------------------------------------------------------------------------------------------
    def add_tags(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TAGS, ("tags",))
        if problems:
            raise unprocessable(problems)
        c = self.contact(loc, request.path_params["contactId"])
        tags = _tags(c.get("tags", []) + body["tags"])
        events = []
        if tags != c.get("tags"):
            c["tags"] = tags
            c["dateUpdated"] = iso()
            events.append(self.contact_event("ContactTagUpdate", loc, c))
        return 201, {"tags": tags}, events

    def remove_tags(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TAGS, ("tags",))
        if problems:
            raise unprocessable(problems)
        c = self.contact(loc, request.path_params["contactId"])
        drop = set(_tags(body["tags"]))
        tags = [t for t in c.get("tags", []) if t not in drop]
        events = []
        if tags != c.get("tags"):
            c["tags"] = tags
            c["dateUpdated"] = iso()
            events.append(self.contact_event("ContactTagUpdate", loc, c))
        return 200, {"tags": tags}, events

    # ----- tasks ------------------------------------------------------------------------------------------
    def _task(self, loc: Location, request: Request) -> dict[str, Any]:
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        task = loc.tasks.get(cid, {}).get(request.path_params["taskId"])
        if task is None:
            raise GhlError(400, f"Task with id {request.path_params['taskId']} not found")
        return task

    def _task_event(self, type_: str, loc: Location, t: dict[str, Any]) -> dict[str, Any]:
        keep = ("id", "assignedTo", "body", "contactId", "title", "dateAdded", "dueDate", "completed")
        return self.event(type_, loc, {k: t[k] for k in keep if k in t})

    def list_tasks(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        return 200, {"tasks": list(loc.tasks.get(cid, {}).values())}, []

    def get_task(self, request: Request, loc: Location, _b: Any) -> Result:
        return 200, {"task": self._task(loc, request)}, []

    def create_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_TASK, ("title", "dueDate", "completed"))
        if problems:
            raise unprocessable(problems)
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        task = {"id": new_id(), "contactId": cid, "dateAdded": iso(), "body": "", "assignedTo": "", **body}
        loc.tasks.setdefault(cid, {})[task["id"]] = task
        events = [self._task_event("TaskCreate", loc, task)]
        if task["completed"]:
            events.append(self._task_event("TaskComplete", loc, task))
        return 201, {"task": task, "traceId": str(uuid.uuid4())}, events

    def update_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_TASK)
        if problems:
            raise unprocessable(problems)
        task = self._task(loc, request)
        was_done = task.get("completed")
        task.update(body)
        events = (
            [self._task_event("TaskComplete", loc, task)] if task.get("completed") and not was_done else []
        )
        return 200, {"task": task}, events  # GHL has no TaskUpdate webhook

    def complete_task(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.TASK_COMPLETED, ("completed",))
        if problems:
            raise unprocessable(problems)
        task = self._task(loc, request)
        was_done = task.get("completed")
        task["completed"] = body["completed"]
        events = [self._task_event("TaskComplete", loc, task)] if body["completed"] and not was_done else []
        return 200, {"task": task}, events

    def delete_task(self, request: Request, loc: Location, _b: Any) -> Result:
        task = self._task(loc, request)
        del loc.tasks[task["contactId"]][task["id"]]
        return 200, {"succeded": True}, [self._task_event("TaskDelete", loc, task)]

    # ----- notes ------------------------------------------------------------------------------------------
    def _note(self, loc: Location, request: Request) -> dict[str, Any]:
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        note = loc.notes.get(cid, {}).get(request.path_params["id"])
        if note is None:
            raise GhlError(400, f"Note with id {request.path_params['id']} not found")
        return note

    def _note_event(self, type_: str, loc: Location, n: dict[str, Any]) -> dict[str, Any]:
        return self.event(type_, loc, {k: n[k] for k in ("id", "body", "contactId", "dateAdded") if k in n})

    def list_notes(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        return 200, {"notes": list(loc.notes.get(cid, {}).values())}, []

    def get_note(self, request: Request, loc: Location, _b: Any) -> Result:
        return 200, {"note": self._note(loc, request)}, []

    def create_note(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.CREATE_NOTE, ("body",))
        if problems:
            raise unprocessable(problems)
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        note = {"id": new_id(), "contactId": cid, "dateAdded": iso(), **body}
        loc.notes.setdefault(cid, {})[note["id"]] = note
        return 201, {"note": note}, [self._note_event("NoteCreate", loc, note)]

    def update_note(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.UPDATE_NOTE)
        if problems:
            raise unprocessable(problems)
        note = self._note(loc, request)
        note.update(body)
        return 200, {"note": note}, [self._note_event("NoteUpdate", loc, note)]

    def delete_note(self, request: Request, loc: Location, _b: Any) -> Result:
        note = self._note(loc, request)
        del loc.notes[note["contactId"]][note["id"]]
        return 200, {"succeded": True}, [self._note_event("NoteDelete", loc, note)]

    # ----- appointments, businesses, users, custom fields -------------------------------------------------
    def list_appointments(self, request: Request, loc: Location, _b: Any) -> Result:
        cid = self.contact(loc, request.path_params["contactId"])["id"]
        return 200, {"events": [a for a in loc.appointments.values() if a["contactId"] == cid]}, []

    def list_businesses(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        self.same_location(loc, q.get("locationId"))
        limit, skip = int(q.get("limit") or 100), int(q.get("skip") or 0)
        return 200, {"businesses": list(loc.businesses.values())[skip : skip + limit]}, []

    def list_users(self, request: Request, loc: Location, _b: Any) -> Result:
        self.same_location(loc, request.query_params.get("locationId"))
        return 200, {"users": list(loc.users.values())}, []

    def list_custom_fields(self, request: Request, loc: Location, _b: Any) -> Result:
        self.same_location(loc, request.path_params["locationId"])
        model = request.query_params.get("model", "all")
        rows = [f for f in loc.custom_fields.values() if model in ("all", f["model"])]
        return 200, {"customFields": rows}, []

    # ===== OAuth =======================================================================================
    async def authorize(self, request: Request) -> Response:
        """The marketplace's choose-location page: pick a location, get redirected back with code + state."""
        q = request.query_params
        client = self.state.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or not redirect_uri or q.get("response_type", "code") != "code":
            return HTMLResponse("<h1>Invalid client_id, redirect_uri or response_type</h1>", status_code=400)
        scopes = [s for s in q.get("scope", "").split() if s]
        location_id = q.get("location_id") or q.get("locationId")
        if location_id:
            if location_id not in self.state.locations:
                return HTMLResponse("<h1>Unknown location</h1>", status_code=400)
            code = new_id() + new_id()
            self.state.codes[code] = {
                "client_id": client.client_id,
                "redirect_uri": redirect_uri,
                "location_id": location_id,
                "scopes": scopes or list(ALL_SCOPES),
                "expires": time.time() + 600,
            }
            sep = "&" if "?" in redirect_uri else "?"
            params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
            return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)
        items = "".join(
            f'<li><a class="choose" href="?{html.escape(urlencode({**dict(q), "location_id": loc.id}))}">'
            f"{html.escape(loc.name)} ({html.escape(loc.id)})</a></li>"
            for loc in self.state.locations.values()
        )
        return HTMLResponse(
            "<!doctype html><title>Choose an account (sandbox)</title><h1>Choose an account</h1>"
            f"<p>The app asks for: {html.escape(' '.join(scopes) or 'every scope')}</p><ul>{items}</ul>"
        )

    async def token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _json(
                422,
                {
                    "statusCode": 422,
                    "message": ["body must be application/x-www-form-urlencoded"],
                    "error": "Unprocessable Entity",
                },
            )
        form = await request.form()
        f = {k: str(val) for k, val in form.items()}
        client = self.state.clients.get(f.get("client_id", ""))
        if client is None or client.client_secret != f.get("client_secret"):
            return _json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "statusCode": 401,
                    "message": "Invalid client credentials",
                },
            )
        grant = f.get("grant_type")
        if grant == "authorization_code":
            code = self.state.codes.pop(f.get("code", ""), None)
            if code is None or code["expires"] < time.time() or code["client_id"] != client.client_id:
                return _bad_grant("Invalid authorization code")
            if f.get("redirect_uri") and f["redirect_uri"] != code["redirect_uri"]:
                return _bad_grant("redirect_uri does not match")
            self.state.stats["token_exchanges"] += 1
            return _json(200, self.state.issue_pair(code["location_id"], code["scopes"], client.client_id))
        if grant == "refresh_token":
            rt = self.state.refresh_tokens.get(f.get("refresh_token", ""))
            if rt is None or rt.client_id != client.client_id:
                return _bad_grant("Invalid refresh token")
            if rt.used_at:
                # rotating, single-use refresh tokens: a second use fails (integrators see invalid_grant)
                self.state.stats["refresh_reuse"] += 1
                return _bad_grant("This refresh token has already been used")
            if not self.state.locations[rt.location_id].active:
                return _json(
                    400,
                    {
                        "statusCode": 400,
                        "message": "Location is not active",
                        "error": "invalid_grant",
                        "error_description": "Location is not active",
                    },
                )
            rt.used_at = time.time()
            self.state.stats["token_refreshes"] += 1
            return _json(200, self.state.issue_pair(rt.location_id, rt.scopes, client.client_id))
        return _json(
            422,
            {
                "statusCode": 422,
                "message": [
                    "grant_type must be one of the following values: "
                    "authorization_code, refresh_token, client_credentials"
                ],
                "error": "Unprocessable Entity",
            },
        )

    # ===== admin (sandbox only) =========================================================================
    async def admin_locations(self, request: Request) -> Response:
        """POST {id, name?, allowDuplicates?, active?, webhookUrl?, companyId?, signatures?, token?, scopes?, seed?}."""
        b = await request.json()
        lid = b.get("id") or new_id()
        kw: dict[str, Any] = {}
        for src, dst in (
            ("name", "name"),
            ("allowDuplicates", "allow_duplicates"),
            ("active", "active"),
            ("webhookUrl", "webhook_url"),
            ("companyId", "company_id"),
            ("signatures", "signatures"),
        ):
            if src in b:
                kw[dst] = b[src]
        if kw.get("signatures", "ed25519") not in SIGNATURE_MODES:
            return JSONResponse({"error": f"signatures must be one of {SIGNATURE_MODES}"}, status_code=400)
        loc = self.state.add_location(lid, **kw)
        seed_reference_data(loc, random.Random(b.get("seedValue", 1)))
        if b.get("token"):
            self.state.add_token(b["token"], lid, b.get("scopes"), ttl=b.get("expiresIn") or 0)
        if b.get("seed"):
            seed_location(
                loc, int(b["seed"]), seed=int(b.get("seedValue", 1)), children=b.get("children", True)
            )
        return JSONResponse(
            {
                "id": lid,
                "contacts": len(loc.contacts),
                "allowDuplicates": loc.allow_duplicates,
                "active": loc.active,
                "webhookUrl": loc.webhook_url,
                "companyId": loc.company_id,
            }
        )

    async def admin_tokens(self, request: Request) -> Response:
        """POST {locationId, token?, scopes?, expiresIn?} -> a PIT/access token; DELETE ?token= revokes."""
        if request.method == "DELETE":
            self.state.tokens.pop(request.query_params.get("token", ""), None)
            return JSONResponse({"ok": True})
        b = await request.json()
        if b.get("locationId") not in self.state.locations:
            return JSONResponse({"error": "unknown locationId"}, status_code=400)
        t = self.state.add_token(
            b.get("token") or f"pit-{new_id()}", b["locationId"], b.get("scopes"), ttl=b.get("expiresIn") or 0
        )
        if b.get("expired"):
            t.expires_at = time.time() - 1
        return JSONResponse(
            {
                "token": t.token,
                "locationId": t.location_id,
                "scopes": sorted(t.scopes),
                "expiresAt": t.expires_at,
            }
        )

    async def admin_oauth(self, request: Request) -> Response:
        """POST {accessTtl?, clientId?, clientSecret?}: token lifetime and extra OAuth clients."""
        b = await request.json()
        if "accessTtl" in b:
            self.state.access_ttl = int(b["accessTtl"])
        if b.get("clientId"):
            from contacts_sync.sandbox.ghl.state import OAuthClient

            self.state.clients[b["clientId"]] = OAuthClient(b["clientId"], b.get("clientSecret", ""))
        return JSONResponse({"accessTtl": self.state.access_ttl, "clients": sorted(self.state.clients)})

    async def admin_appointments(self, request: Request) -> Response:
        """POST {locationId, contactId, title?, startTime?, ...} creates; PUT {id, ...} updates; DELETE ?id&locationId."""
        if request.method == "DELETE":
            loc = self.state.locations[request.query_params["locationId"]]
            appt = loc.appointments.pop(request.query_params["id"])
            await self.deliver_now(loc, [self.event("AppointmentDelete", loc, appt)])
            return JSONResponse({"ok": True})
        b = await request.json()
        loc = self.state.locations[b.pop("locationId")]
        if request.method == "PUT":
            appt = loc.appointments[b.pop("id")]
            appt.update(b, dateUpdated=iso())
            kind = "AppointmentUpdate"
        else:
            now, aid = iso(), new_id()
            start = time.time() + 86_400
            appt = {
                "id": aid,
                "calendarId": "sandbox-calendar",
                "status": "booked",
                "title": "Appointment",
                "assignedUserId": next(iter(loc.users), ""),
                "notes": "",
                "startTime": iso(start),
                "endTime": iso(start + 1800),
                "address": "",
                "locationId": loc.id,
                "groupId": "",
                "appointmentStatus": "confirmed",
                "users": [],
                "dateAdded": now,
                "dateUpdated": now,
                "assignedResources": [],
                **b,
            }
            loc.appointments[aid] = appt
            kind = "AppointmentCreate"
        await self.deliver_now(loc, [self.event(kind, loc, appt)])
        return JSONResponse({"appointment": appt})

    async def deliver_now(self, loc: Location, events: list[dict[str, Any]]) -> None:
        url = loc.webhook_url or self.options.webhook_url
        if url:
            await self.deliver(loc, url, events)

    async def admin_webhooks(self, request: Request) -> Response:
        """GET: the delivery log; POST {locationId, url}: set the location's webhook URL."""
        if request.method == "POST":
            b = await request.json()
            self.state.locations[b["locationId"]].webhook_url = b.get("url") or ""
            return JSONResponse({"locationId": b["locationId"], "url": b.get("url") or ""})
        return JSONResponse({"deliveries": self.state.deliveries})

    async def admin_stats(self, request: Request) -> Response:
        return JSONResponse(self.status())

    async def admin_public_key(self, request: Request) -> Response:
        pem = (KEY_PATH.parent / "ghl-webhook-ed25519-public.pem").read_text()
        return Response(pem, media_type="application/x-pem-file")

    async def not_found(self, request: Request) -> Response:
        return _json(
            404,
            {
                "statusCode": 404,
                "message": f"Cannot {request.method} {request.url.path}",
                "error": "Not Found",
            },
        )

    # ----- routing ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        R, W = "contacts.readonly", "contacts.write"

        def a(scope: str, handler: Any, *, body: bool = False) -> Callable[[Request], Awaitable[Response]]:
            return self.recorded(self.api(scope, handler, body=body))

        return [
            Route("/contacts/search/duplicate", a(R, self.search_duplicate), methods=["GET"]),
            Route("/contacts/search", a(R, self.search, body=True), methods=["POST"]),
            Route("/contacts/upsert", a(W, self.upsert_contact, body=True), methods=["POST"]),
            Route("/contacts/bulk/business", a(W, self.bulk_business, body=True), methods=["POST"]),
            Route("/contacts/business/{businessId}", a(R, self.contacts_by_business), methods=["GET"]),
            Route("/contacts/", a(R, self.list_contacts), methods=["GET"]),
            Route("/contacts/", a(W, self.create_contact, body=True), methods=["POST"]),
            Route("/contacts/{contactId}/tasks", a(R, self.list_tasks), methods=["GET"]),
            Route("/contacts/{contactId}/tasks", a(W, self.create_task, body=True), methods=["POST"]),
            Route(
                "/contacts/{contactId}/tasks/{taskId}/completed",
                a(W, self.complete_task, body=True),
                methods=["PUT"],
            ),
            Route("/contacts/{contactId}/tasks/{taskId}", a(R, self.get_task), methods=["GET"]),
            Route("/contacts/{contactId}/tasks/{taskId}", a(W, self.update_task, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}/tasks/{taskId}", a(W, self.delete_task), methods=["DELETE"]),
            Route("/contacts/{contactId}/tags", a(W, self.add_tags, body=True), methods=["POST"]),
            Route("/contacts/{contactId}/tags", a(W, self.remove_tags, body=True), methods=["DELETE"]),
            Route("/contacts/{contactId}/notes", a(R, self.list_notes), methods=["GET"]),
            Route("/contacts/{contactId}/notes", a(W, self.create_note, body=True), methods=["POST"]),
            Route("/contacts/{contactId}/notes/{id}", a(R, self.get_note), methods=["GET"]),
            Route("/contacts/{contactId}/notes/{id}", a(W, self.update_note, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}/notes/{id}", a(W, self.delete_note), methods=["DELETE"]),
            Route("/contacts/{contactId}/appointments", a(R, self.list_appointments), methods=["GET"]),
            Route("/contacts/{contactId}", a(R, self.get_contact), methods=["GET"]),
            Route("/contacts/{contactId}", a(W, self.update_contact, body=True), methods=["PUT"]),
            Route("/contacts/{contactId}", a(W, self.delete_contact), methods=["DELETE"]),
            Route("/businesses/", a("businesses.readonly", self.list_businesses), methods=["GET"]),
            Route("/users/", a("users.readonly", self.list_users), methods=["GET"]),
            Route(
                "/locations/{locationId}/customFields",
                a("locations/customFields.readonly", self.list_custom_fields),
                methods=["GET"],
            ),
            Route("/oauth/chooselocation", self.recorded(self.authorize), methods=["GET"]),
            Route("/oauth/token", self.recorded(self.token), methods=["POST"]),
            Route("/_admin/locations", self.admin_locations, methods=["POST"]),
            Route("/_admin/tokens", self.admin_tokens, methods=["POST", "DELETE"]),
            Route("/_admin/oauth", self.admin_oauth, methods=["POST"]),
            Route("/_admin/appointments", self.admin_appointments, methods=["POST", "PUT", "DELETE"]),
            Route("/_admin/webhooks", self.admin_webhooks, methods=["GET", "POST"]),
            Route("/_admin/stats", self.admin_stats, methods=["GET"]),
            Route("/_admin/public-key", self.admin_public_key, methods=["GET"]),
            Route(
                "/{path:path}",
                self.recorded(self.not_found),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]


def _json(
    status: int, body: Any, headers: dict[str, str] | None = None, task: BackgroundTask | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers=headers, background=task)


def _bad_grant(message: str) -> Response:
    return _json(
        400, {"statusCode": 400, "message": message, "error": "invalid_grant", "error_description": message}
    )


def _matches_query(c: dict[str, Any], query: str | None) -> bool:
    if not query:
        return True
    q = query.lower()
    return any(
        q in str(c.get(k, "")).lower()
        for k in ("name", "email", "phone", "companyName", "firstName", "lastName")
    )


DATE_FIELDS = {"dateAdded", "dateUpdated", "dateOfBirth", "lastActivity"}


def _field(c: dict[str, Any], name: str) -> Any:
    if name.startswith("customFields."):
        fid = name.split(".", 1)[1]
        return next((cf["value"] for cf in c.get("customFields", []) if cf["id"] == fid), None)
    return c.get(name)


def _sort_value(c: dict[str, Any], name: str) -> Any:
    value = _field(c, name)
    if name in DATE_FIELDS:
        return iso_ms(value) if value else 0
    return str(value or "").lower()


def _as_ms(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) else iso_ms(str(value))


def _matches_filter(c: dict[str, Any], f: dict[str, Any]) -> bool:
    if "group" in f:
        results = [_matches_filter(c, sub) for sub in f.get("filters", [])]
        return any(results) if f["group"].upper() == "OR" else all(results)
    name, op, value = f["field"], f["operator"], f.get("value")
    actual = _field(c, name)
    if op == "exists":
        return actual not in (None, "", [])
    if op == "not_exists":
        return actual in (None, "", [])
    if op == "range":
        if not isinstance(value, dict) or not set(value) <= {"gt", "gte", "lt", "lte"}:
            raise ValueError("range needs a value like {gte, lte}")
        if actual in (None, ""):
            return False
        a = iso_ms(actual) if name in DATE_FIELDS else float(actual)
        conv = _as_ms if name in DATE_FIELDS else float
        return all(
            (k != "gt" or a > conv(x))
            and (k != "gte" or a >= conv(x))
            and (k != "lt" or a < conv(x))
            and (k != "lte" or a <= conv(x))
            for k, x in value.items()
        )
    if isinstance(actual, list):
        hay = [str(x).lower() for x in actual]
        values = [str(x).lower() for x in (value if isinstance(value, list) else [value])]
        hit = (
            any(x in hay for x in values)
            if op in ("eq", "not_eq")
            else any(x in h for x in values for h in hay)
        )
    else:
        sa, sv = str(actual or "").lower(), str(value).lower()
        hit = sa == sv if op in ("eq", "not_eq") else sv in sa
    if op in ("eq", "contains"):
        return hit
    if op in ("not_eq", "not_contains"):
        return not hit
    raise ValueError(f"unknown operator {op}")


def mount(ctx: Any) -> Mount:
    emulator = GhlEmulator(ctx)
    ctx.on_reset(APP, emulator.reset)
    ctx.on_status(APP, emulator.status)
    ctx.ghl = emulator
    return Mount("/ghl", app=FastRouter(emulator.routes()))


class FastRouter:
    """Dispatch by (method, exact path) in one dict lookup, else the few templates of that method in order.

    Starlette's Router tries every route for every request; with ~40 GHL routes that was a quarter of the
    emulator's time per request (see bench/ghl_budget.py: the emulator must never be the bottleneck).
    """

    def __init__(self, routes: list[Route]) -> None:
        self.exact: dict[tuple[str, str], Route] = {}
        self.templated: dict[str, list[Route]] = {}
        self.fallback = routes[-1]  # the JSON 404 catch-all
        for route in routes[:-1]:
            for method in route.methods or ():
                if "{" in route.path:
                    self.templated.setdefault(method, []).append(route)
                else:
                    self.exact.setdefault((method, route.path), route)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"][len(scope.get("root_path", "")) :] if scope.get("root_path") else scope["path"]
        if not path.startswith("/"):
            path = "/" + path
        method = scope["method"]
        route = self.exact.get((method, path))
        params: dict[str, Any] = {}
        if route is None:
            for candidate in self.templated.get(method, ()):
                match = candidate.path_regex.match(path)
                if match:
                    route, params = candidate, match.groupdict()
                    break
        if route is None:
            route = self.fallback
            params = {"path": path.lstrip("/")}
        scope["path_params"] = params
        scope["endpoint"] = route.endpoint
        await route.app(scope, receive, send)
