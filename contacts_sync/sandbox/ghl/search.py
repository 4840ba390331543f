"""Contact reads across a location: POST /contacts/search (filters incl. `dateUpdated` ranges for reconcile
polls, sort, page / searchAfter), GET /contacts/ (deprecated, startAfter cursor), GET /contacts/search/duplicate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import GhlError, Result, same_location, unprocessable
from contacts_sync.sandbox.ghl.state import Location, iso_ms

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

# POST /contacts/search: `page` paging reaches at most this many records; past it only searchAfter works.
SEARCH_PAGE_WINDOW = 10_000
SEARCH_MAX_PAGE_LIMIT = 500
LIST_MAX_LIMIT = 100  # GET /contacts/ (deprecated)
DATE_FIELDS = {"dateAdded", "dateUpdated", "dateOfBirth", "lastActivity"}
RANGE_KEYS = {"gt", "gte", "lt", "lte"}


def matches_query(c: dict[str, Any], query: str | None) -> bool:
    if not query:
        return True
    q = query.lower()
    return any(
        q in str(c.get(k, "")).lower() for k in ("name", "email", "phone", "companyName", "firstName", "lastName")
    )


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


def _in_range(name: str, actual: Any, value: Any) -> bool:
    """`range` with {gt, gte, lt, lte}: dates compare as ms epoch (ISO strings or ms numbers), the rest as
    numbers."""
    if not isinstance(value, dict) or not set(value) <= RANGE_KEYS:
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


def matches_filter(c: dict[str, Any], f: dict[str, Any]) -> bool:
    if "group" in f:
        results = [matches_filter(c, sub) for sub in f.get("filters", [])]
        return any(results) if f["group"].upper() == "OR" else all(results)
    name, op, value = f["field"], f["operator"], f.get("value")
    actual = _field(c, name)
    if op == "exists":
        return actual not in (None, "", [])
    if op == "not_exists":
        return actual in (None, "", [])
    if op == "range":
        return _in_range(name, actual, value)
    if isinstance(actual, list):
        hay = [str(x).lower() for x in actual]
        values = [str(x).lower() for x in (value if isinstance(value, list) else [value])]
        hit = any(x in hay for x in values) if op in ("eq", "not_eq") else any(x in h for x in values for h in hay)
    else:
        sa, sv = str(actual or "").lower(), str(value).lower()
        hit = sa == sv if op in ("eq", "not_eq") else sv in sa
    if op in ("eq", "contains"):
        return hit
    if op in ("not_eq", "not_contains"):
        return not hit
    raise ValueError(f"unknown operator {op}")


class ContactSearch:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def search_duplicate(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        same_location(loc, q.get("locationId"))
        email, number = q.get("email"), q.get("number")
        if not email and not number:
            raise GhlError(400, "email or number is required")
        existing, _field = loc.match(email, number)
        return 200, {"contact": existing}, []

    @staticmethod
    def _check_paging(body: dict[str, Any]) -> tuple[int, int]:
        page_limit = body["pageLimit"]
        if not 1 <= page_limit <= SEARCH_MAX_PAGE_LIMIT:
            raise unprocessable([f"pageLimit must not be greater than {SEARCH_MAX_PAGE_LIMIT}"])
        if "page" in body and "searchAfter" in body:
            raise GhlError(400, "page and searchAfter cannot be used together")
        page = body.get("page", 1)
        if page * page_limit > SEARCH_PAGE_WINDOW and "searchAfter" not in body:
            raise GhlError(400, f"Only {SEARCH_PAGE_WINDOW} records can be fetched with page; use searchAfter")
        return page, page_limit

    def search(self, request: Request, loc: Location, body: Any) -> Result:
        problems = v.check(body, v.SEARCH, ("locationId", "pageLimit"))
        if problems:
            raise unprocessable(problems)
        same_location(loc, body["locationId"])
        page, page_limit = self._check_paging(body)
        rows = [c for c in loc.contacts.values() if matches_query(c, body.get("query"))]
        try:
            filters = body.get("filters") or []
            for f in filters:
                matches_filter({}, f)  # the filter's shape is checked even when no contact is left to test
            rows = [c for c in rows if all(matches_filter(c, f) for f in filters)]
        except (KeyError, TypeError, ValueError) as e:
            raise unprocessable([f"filters are invalid: {e}"]) from None
        sort = (body.get("sort") or [{"field": "dateAdded", "direction": "asc"}])[0]
        sfield, desc = sort.get("field", "dateAdded"), sort.get("direction", "asc") == "desc"
        keyed = sorted(((_sort_value(c, sfield), c["id"], c) for c in rows), key=lambda t: (t[0], t[1]), reverse=desc)
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
        same_location(loc, q.get("locationId"))
        try:
            limit = int(q.get("limit", 20))
            start_after = int(q["startAfter"]) if q.get("startAfter") else None
        except ValueError:
            raise unprocessable(["limit must be a number", "startAfter must be a number"]) from None
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise unprocessable([f"limit must not be greater than {LIST_MAX_LIMIT}"])
        rows = sorted(
            (iso_ms(c["dateAdded"]), c["id"], c) for c in loc.contacts.values() if matches_query(c, q.get("query"))
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
            meta["nextPageUrl"] = f"{self.emu.options.base_url}/ghl/contacts/?" + urlencode(
                {"locationId": loc.id, "startAfter": page[-1][0], "startAfterId": page[-1][1], "limit": limit}
            )
        meta = {k: val for k, val in meta.items() if val is not None}
        return 200, {"contacts": [c for _, _, c in page], "count": total, "meta": meta}, []

    def routes(self, a: RouteFactory) -> list[Route]:
        r = "contacts.readonly"
        return [
            Route("/contacts/search/duplicate", a(r, self.search_duplicate), methods=["GET"]),
            Route("/contacts/search", a(r, self.search, body=True), methods=["POST"]),
            Route("/contacts/", a(r, self.list_contacts), methods=["GET"]),
        ]
