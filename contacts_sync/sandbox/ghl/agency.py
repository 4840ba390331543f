"""Sandbox-only admin for agencies (GHL "Company"): create an agency with N locations, add a location to it (signed
LocationCreate webhook, plus INSTALL when the app installs itself on future locations), install and uninstall the
app on a location or the whole agency (INSTALL / UNINSTALL webhooks; uninstalling revokes the app's OAuth tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl.admin import location_json
from contacts_sync.sandbox.ghl.common import admin_error
from contacts_sync.sandbox.ghl.events import (
    company_install_event,
    company_uninstall_event,
    location_create_event,
    location_install_event,
    location_uninstall_event,
)
from contacts_sync.sandbox.ghl.state import Company, iso, new_id

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator

MAX_AGENCY_LOCATIONS = 500  # a sandbox agency is for tests and the demo, not a load test
AGENCY_KEYS = {
    "id",
    "name",
    "email",
    "webhookUrl",
    "installToFutureLocations",
    "token",
    "locations",
    "seed",
    "installed",
}


class AgencyAdmin:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def _location_specs(self, b: dict[str, Any]) -> list[dict[str, Any]]:
        """`locations`: a count or a list of location bodies (as for /_admin/locations); `seed` applies to each
        location that does not set its own."""
        given = b.get("locations", 0)
        if isinstance(given, bool) or not isinstance(given, (int, list)):
            raise ValueError("locations must be a count or a list of location settings")
        specs = [{} for _ in range(given)] if isinstance(given, int) else [dict(s) for s in given]
        if len(specs) > MAX_AGENCY_LOCATIONS or not all(isinstance(s, dict) for s in specs):
            raise ValueError(f"locations must be at most {MAX_AGENCY_LOCATIONS} objects")
        for spec in specs:
            if "seed" in b:
                spec.setdefault("seed", b["seed"])
            if "installed" in b:
                spec.setdefault("installed", b["installed"])
        return specs

    async def create_agency(self, request: Request) -> Response:
        """POST {id?, name?, email?, webhookUrl?, installToFutureLocations?, token?, installed?, seed?,
        locations: N | [{id?, name?, country?, timezone?, seed?, contacts?, installed?, token?, ...}]}.

        Creates the agency and its locations quietly (no webhooks: they predate the app's install); `token` is an
        agency PIT. Answers the agency with its locations."""
        b = await request.json()
        unknown = sorted(set(b) - AGENCY_KEYS)
        if unknown:
            return admin_error(f"unknown agency settings: {unknown}")
        state = self.emu.state
        cid = str(b.get("id") or new_id())
        if cid in state.companies:
            return admin_error(f"agency {cid} already exists")
        try:
            specs = self._location_specs(b)
            company = state.add_company(
                cid,
                name=b.get("name") or f"Agency {cid}",
                email=b.get("email") or f"{cid.lower()}@agency.example",
                webhook_url=b.get("webhookUrl") or "",
                install_to_future_locations=bool(b.get("installToFutureLocations", False)),
            )
            locations = []
            for i, spec in enumerate(specs):
                if spec.get("id") in state.locations:
                    raise ValueError(f"location {spec['id']} already exists")
                spec.setdefault("name", f"{company.name} location {i + 1}")
                locations.append(self.emu.admin.provision(spec, company_id=cid))
        except (ValueError, TypeError) as e:
            state.companies.pop(cid, None)
            for loc in [loc for loc in state.locations.values() if loc.company_id == cid]:
                del state.locations[loc.id]
            return admin_error(str(e))
        if b.get("token"):
            state.add_company_token(b["token"], cid)
        return JSONResponse(self._agency_json(company))

    async def add_location(self, request: Request) -> Response:
        """POST /_admin/agencies/{companyId}/locations {id?, name?, email?, country?, timezone?, seed?, contacts?,
        installed?}: a user adds a sub-account in the agency; sends LocationCreate (and INSTALL when installed)."""
        state = self.emu.state
        company = state.companies.get(request.path_params["companyId"])
        if company is None:
            return admin_error("unknown companyId", 404)
        b = await request.json()
        if b.get("id") in state.locations:
            return admin_error(f"location {b['id']} already exists")
        b.setdefault("name", f"{company.name} location {len(state.company_locations(company.id)) + 1}")
        b.setdefault("installed", company.install_to_future_locations)
        try:
            loc = self.emu.admin.provision(b, company_id=company.id)
        except (ValueError, TypeError) as e:
            return admin_error(str(e))
        await self.emu.hooks.to_company(company, [location_create_event(loc)])
        if loc.installed:
            await self.emu.hooks.to_location(loc, [location_install_event(loc, company, future=True)])
        return JSONResponse(location_json(loc))

    async def installs(self, request: Request) -> Response:
        """POST {locationId | companyId}: install the app (INSTALL); DELETE ?locationId= | ?companyId=: uninstall
        (UNINSTALL) and revoke the app's OAuth tokens there (a location token, the agency's tokens)."""
        state = self.emu.state
        b: dict[str, Any] = dict(request.query_params) if request.method == "DELETE" else await request.json()
        install = request.method == "POST"
        if b.get("locationId"):
            loc = state.locations.get(str(b["locationId"]))
            if loc is None:
                return admin_error("unknown locationId")
            company = state.add_company(loc.company_id)
            revoked = 0
            if install and not loc.installed:
                loc.installed, loc.installed_at = True, iso()
                await self.emu.hooks.to_location(loc, [location_install_event(loc, company)])
            elif not install and loc.installed:
                loc.installed = False
                revoked = state.revoke(location_id=loc.id)
                await self.emu.hooks.to_location(loc, [location_uninstall_event(loc)])
            return JSONResponse({**location_json(loc), "revokedTokens": revoked})
        agency = state.companies.get(str(b.get("companyId", "")))
        if agency is None:
            return admin_error("locationId or a known companyId is required")
        revoked = 0
        if install and not agency.installed:
            agency.installed = True
            await self.emu.hooks.to_company(agency, [company_install_event(agency)])
        elif not install and agency.installed:
            agency.installed = False
            revoked = state.revoke(company_id=agency.id)
            await self.emu.hooks.to_company(agency, [company_uninstall_event(agency)])
        return JSONResponse({**self._agency_json(agency), "revokedTokens": revoked})

    def _agency_json(self, company: Company) -> dict[str, Any]:
        return {
            "id": company.id,
            "name": company.name,
            "installed": company.installed,
            "installToFutureLocations": company.install_to_future_locations,
            "locations": [location_json(loc) for loc in self.emu.state.company_locations(company.id)],
        }

    def routes(self) -> list[Route]:
        return [
            Route("/_admin/agencies", self.create_agency, methods=["POST"]),
            Route("/_admin/agencies/{companyId}/locations", self.add_location, methods=["POST"]),
            Route("/_admin/installs", self.installs, methods=["POST", "DELETE"]),
        ]
