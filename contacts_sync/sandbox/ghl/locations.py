"""Locations (sub-accounts): GET /locations/{locationId}, GET /locations/search (agency or sub-account token),
the location's users and custom field definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from contacts_sync.sandbox.ghl.common import Auth, GhlError, Result, int_param, same_location, unprocessable
from contacts_sync.sandbox.ghl.state import Location, Token

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

SEARCH_DEFAULT_LIMIT = 10  # GET /locations/search limit default ("10")
NO_ACCESS = "The token does not have access to this location."


def _settings(loc: Location) -> dict[str, Any]:
    return {
        "allowDuplicateContact": loc.allow_duplicates,
        "allowDuplicateOpportunity": False,
        "allowFacebookNameMerge": False,
        "disableContactTimezone": False,
    }


def location_summary(loc: Location) -> dict[str, Any]:
    """GetLocationSchema (the rows of GET /locations/search)."""
    return {
        "id": loc.id,
        "name": loc.name,
        "phone": loc.phone,
        "email": loc.email,
        "address": loc.address,
        "city": loc.city,
        "state": loc.state,
        "country": loc.country,
        "postalCode": loc.postal_code,
        "website": loc.website,
        "timezone": loc.timezone,
        "settings": _settings(loc),
        "social": {},
    }


def location_detail(loc: Location) -> dict[str, Any]:
    """GetLocationByIdSchema (GET /locations/{locationId})."""
    return {
        **location_summary(loc),
        "companyId": loc.company_id,
        "domain": "",
        "logoUrl": "",
        "firstName": "Sandra",
        "lastName": "Admin",
        "business": {
            "name": loc.name,
            "address": loc.address,
            "city": loc.city,
            "state": loc.state,
            "country": loc.country,
            "postalCode": loc.postal_code,
            "website": loc.website,
            "timezone": loc.timezone,
            "logoUrl": "",
        },
    }


class Locations:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def visible(self, token: Token, location_id: str) -> Location:
        """The location a token may read: its own (sub-account token) or one of its agency's (company token)."""
        loc = self.emu.state.locations.get(location_id)
        allowed = loc is not None and (
            loc.company_id == token.company_id if token.is_company else loc.id == token.location_id
        )
        if not allowed:
            raise GhlError(403, NO_ACCESS)
        assert loc is not None
        return loc

    def get_location(self, request: Request, token: Token, _b: Any) -> Result:
        return 200, {"location": location_detail(self.visible(token, request.path_params["locationId"]))}, []

    def search_locations(self, request: Request, token: Token, _b: Any) -> Result:
        """The agency's locations (a sub-account token sees only its own), filtered by email, ordered by when
        they were added (`order` asc|desc), paged with skip/limit."""
        q = request.query_params
        company_id = q.get("companyId") or token.company_id
        if company_id != token.company_id:
            raise GhlError(403, "The token does not have access to this company.")
        order = q.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise unprocessable(["order must be one of the following values: asc, desc"])
        skip = int_param(q.get("skip"), "skip", 0)
        limit = int_param(q.get("limit"), "limit", SEARCH_DEFAULT_LIMIT)
        rows = [
            loc
            for loc in self.emu.state.company_locations(company_id)
            if (token.is_company or loc.id == token.location_id)
            and (not q.get("email") or loc.email.lower() == q["email"].lower())
        ]
        if order == "desc":
            rows.reverse()  # company_locations() lists them in the order they were added
        return 200, {"locations": [location_summary(loc) for loc in rows[skip : skip + limit]]}, []

    def list_users(self, request: Request, loc: Location, _b: Any) -> Result:
        same_location(loc, request.query_params.get("locationId"))
        return 200, {"users": list(loc.users.values())}, []

    def list_custom_fields(self, request: Request, loc: Location, _b: Any) -> Result:
        same_location(loc, request.path_params["locationId"])
        model = request.query_params.get("model", "all")
        rows = [f for f in loc.custom_fields.values() if model in ("all", f["model"])]
        return 200, {"customFields": rows}, []

    def routes(self, a: RouteFactory) -> list[Route]:
        ro = "locations.readonly"
        return [
            Route("/users/", a("users.readonly", self.list_users), methods=["GET"]),
            Route(
                "/locations/{locationId}/customFields",
                a("locations/customFields.readonly", self.list_custom_fields),
                methods=["GET"],
            ),
            Route("/locations/search", a(ro, self.search_locations, auth=Auth.ANY), methods=["GET"]),
            Route("/locations/{locationId}", a(ro, self.get_location, auth=Auth.ANY), methods=["GET"]),
        ]
