"""Businesses: GET and POST /businesses/, GET /contacts/business/{businessId} and POST /contacts/bulk/business (the
only way the spec links a contact to a business; there is no PUT /contacts/business/:id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import Result, int_param, same_location, unprocessable
from contacts_sync.sandbox.ghl.events import contact_event
from contacts_sync.sandbox.ghl.search import matches_query
from contacts_sync.sandbox.ghl.state import Location, iso, new_id

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

BUSINESSES_DEFAULT_LIMIT = 100  # GET /businesses/ limit default
# CreateBusinessDto (apps/businesses.json): name and locationId required, the rest optional strings.
CREATE_BUSINESS = {
    k: "str"
    for k in (
        "name",
        "locationId",
        "phone",
        "email",
        "website",
        "address",
        "city",
        "postalCode",
        "state",
        "country",
        "description",
    )
}
CONTACTS_BY_BUSINESS_DEFAULT_LIMIT = 25  # GET /contacts/business/{id} limit default ("25")


class Businesses:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def list_businesses(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        same_location(loc, q.get("locationId"))
        limit = int_param(q.get("limit"), "limit", BUSINESSES_DEFAULT_LIMIT) or BUSINESSES_DEFAULT_LIMIT
        skip = int_param(q.get("skip"), "skip", 0)
        return 200, {"businesses": list(loc.businesses.values())[skip : skip + limit]}, []

    def create_business(self, request: Request, loc: Location, body: Any) -> Result:
        """POST /businesses/: 201 with UpdateBusinessResponseDto, whose key the spec spells "buiseness"."""
        problems = v.check(body, CREATE_BUSINESS, ("name", "locationId"))
        if problems:
            raise unprocessable(problems)
        same_location(loc, body["locationId"])
        bid, now = new_id(), iso()
        business = {**body, "id": bid, "locationId": loc.id, "createdAt": now, "updatedAt": now}
        loc.businesses[bid] = business
        return 201, {"success": True, "buiseness": business}, []

    def contacts_by_business(self, request: Request, loc: Location, _b: Any) -> Result:
        q = request.query_params
        same_location(loc, q.get("locationId"))
        limit = int_param(q.get("limit"), "limit", CONTACTS_BY_BUSINESS_DEFAULT_LIMIT)
        skip = int_param(q.get("skip"), "skip", 0)
        bid = request.path_params["businessId"]
        rows = [c for c in loc.contacts.values() if c.get("businessId") == bid and matches_query(c, q.get("query"))]
        return 200, {"contacts": rows[skip : skip + limit], "count": len(rows)}, []

    def bulk_business(self, request: Request, loc: Location, body: Any) -> Result:
        """Link the contacts to the business, or unlink them with businessId null; unknown contact ids are
        skipped and left out of the answer's `ids`."""
        problems = v.check(body, v.BULK_BUSINESS, ("locationId", "ids"))
        if problems:
            raise unprocessable(problems)
        if "businessId" not in body:
            raise unprocessable(["businessId must be a string"])
        same_location(loc, body["locationId"])
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
            events.append(contact_event("ContactUpdate", loc, c))
        return 200, {"success": True, "ids": done}, events

    def routes(self, a: RouteFactory) -> list[Route]:
        return [
            Route(
                "/contacts/bulk/business",
                a("contacts.write", self.bulk_business, body=True),
                methods=["POST"],
            ),
            Route(
                "/contacts/business/{businessId}",
                a("contacts.readonly", self.contacts_by_business),
                methods=["GET"],
            ),
            Route("/businesses/", a("businesses.readonly", self.list_businesses), methods=["GET"]),
            Route("/businesses/", a("businesses.write", self.create_business, body=True), methods=["POST"]),
        ]
