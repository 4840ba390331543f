"""Sandbox-only admin endpoints of the GHL emulator (under /ghl/_admin): locations with their seed contacts,
tokens (sub-account and agency PITs), OAuth settings (token lifetimes, clients), webhook URLs and the delivery log,
stats and the webhook public key. Agencies and installs are in agency.py; UI-made changes in each resource."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import GhlError, admin_error
from contacts_sync.sandbox.ghl.seed import seed_location, seed_reference_data
from contacts_sync.sandbox.ghl.state import Location, OAuthClient, new_id
from contacts_sync.sandbox.ghl.webhooks import PUBLIC_KEY_PATH, SIGNATURE_MODES

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator

# Admin body keys -> Location attributes (everything else in a location body is seed or token settings).
LOCATION_FIELDS = {
    "name": "name",
    "allowDuplicates": "allow_duplicates",
    "active": "active",
    "webhookUrl": "webhook_url",
    "companyId": "company_id",
    "signatures": "signatures",
    "country": "country",
    "timezone": "timezone",
    "email": "email",
    "phone": "phone",
    "address": "address",
    "city": "city",
    "state": "state",
    "postalCode": "postal_code",
    "website": "website",
    "installed": "installed",
}
SEED_KEYS = {"id", "token", "scopes", "expiresIn", "seed", "seedValue", "children", "contacts"}


def location_json(loc: Location) -> dict[str, Any]:
    return {
        "id": loc.id,
        "name": loc.name,
        "contacts": len(loc.contacts),
        "allowDuplicates": loc.allow_duplicates,
        "active": loc.active,
        "webhookUrl": loc.webhook_url,
        "companyId": loc.company_id,
        "country": loc.country,
        "timezone": loc.timezone,
        "installed": loc.installed,
    }


class Admin:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    def location_settings(self, b: dict[str, Any]) -> dict[str, Any]:
        """Location attributes from an admin body; raises ValueError on unknown keys or a bad signature mode."""
        unknown = sorted(set(b) - set(LOCATION_FIELDS) - SEED_KEYS)
        if unknown:
            raise ValueError(f"unknown location settings: {unknown}")
        kw = {attr: b[key] for key, attr in LOCATION_FIELDS.items() if key in b}
        if kw.get("signatures", "ed25519") not in SIGNATURE_MODES:
            raise ValueError(f"signatures must be one of {SIGNATURE_MODES}")
        return kw

    def provision(self, b: dict[str, Any], **defaults: Any) -> Location:
        """Create or update a location from an admin body: settings, reference data, a PIT, generated seed
        contacts (`seed`: how many) and given ones (`contacts`: create bodies). Raises ValueError on bad input."""
        kw = {**defaults, **self.location_settings(b)}
        state = self.emu.state
        lid = str(b.get("id") or new_id())
        loc = state.add_location(lid, **kw)
        seed_reference_data(loc, random.Random(b.get("seedValue", 1)))
        if b.get("token"):
            state.add_token(b["token"], lid, b.get("scopes"), ttl=b.get("expiresIn") or 0)
        if b.get("seed"):
            seed_location(loc, int(b["seed"]), seed=int(b.get("seedValue", 1)), children=b.get("children", True))
        for i, given in enumerate(b.get("contacts") or []):
            problems = v.check(given, v.CREATE_CONTACT)
            if problems:
                raise ValueError(f"contacts.{i}: {'; '.join(problems)}")
            try:
                self.emu.contacts.new_contact(loc, {**given, "locationId": lid})
            except GhlError as e:
                raise ValueError(f"contacts.{i}: {e.body['message']}") from None
        return loc

    async def admin_locations(self, request: Request) -> Response:
        """POST {id, name, allowDuplicates, active, webhookUrl, companyId, signatures, country, timezone, email,
        phone, address, city, state, postalCode, website, installed, token, scopes, expiresIn, seed, seedValue,
        children, contacts}."""
        try:
            loc = self.provision(await request.json())
        except (ValueError, TypeError) as e:
            return admin_error(str(e))
        return JSONResponse(location_json(loc))

    async def admin_tokens(self, request: Request) -> Response:
        """POST {locationId | companyId, token?, scopes?, expiresIn?, expired?} -> a sub-account PIT, or an agency
        PIT with companyId; DELETE ?token= revokes."""
        state = self.emu.state
        if request.method == "DELETE":
            state.tokens.pop(request.query_params.get("token", ""), None)
            return JSONResponse({"ok": True})
        b = await request.json()
        token = b.get("token") or f"pit-{new_id()}"
        ttl = b.get("expiresIn") or 0
        if b.get("companyId"):
            if b["companyId"] not in state.companies:
                return admin_error("unknown companyId")
            t = state.add_company_token(token, b["companyId"], b.get("scopes"), ttl=ttl)
        elif b.get("locationId") in state.locations:
            t = state.add_token(token, b["locationId"], b.get("scopes"), ttl=ttl)
        else:
            return admin_error("unknown locationId")
        if b.get("expired"):
            t.expires_at = time.time() - 1
        return JSONResponse(
            {
                "token": t.token,
                "locationId": t.location_id,
                "companyId": t.company_id,
                "userType": t.user_type,
                "scopes": sorted(t.scopes),
                "expiresAt": t.expires_at,
            }
        )

    async def admin_oauth(self, request: Request) -> Response:
        """POST {accessTtl?, locationTokenTtl?, clientId?, clientSecret?}: token lifetimes, more OAuth clients."""
        state = self.emu.state
        b = await request.json()
        if "accessTtl" in b:
            state.access_ttl = int(b["accessTtl"])
        if "locationTokenTtl" in b:
            state.location_token_ttl = int(b["locationTokenTtl"])
        if b.get("clientId"):
            state.clients[b["clientId"]] = OAuthClient(b["clientId"], b.get("clientSecret", ""))
        return JSONResponse(
            {
                "accessTtl": state.access_ttl,
                "locationTokenTtl": state.location_token_ttl,
                "clients": sorted(state.clients),
            }
        )

    async def admin_webhooks(self, request: Request) -> Response:
        """GET: the delivery log; POST {locationId | companyId, url}: set a location's or an agency's webhook URL."""
        state = self.emu.state
        if request.method == "GET":
            return JSONResponse({"deliveries": state.deliveries})
        b = await request.json()
        url = b.get("url") or ""
        if b.get("companyId"):
            if b["companyId"] not in state.companies:
                return admin_error("unknown companyId")
            state.companies[b["companyId"]].webhook_url = url
            return JSONResponse({"companyId": b["companyId"], "url": url})
        if b.get("locationId") not in state.locations:
            return admin_error("unknown locationId")
        state.locations[b["locationId"]].webhook_url = url
        return JSONResponse({"locationId": b["locationId"], "url": url})

    async def admin_stats(self, request: Request) -> Response:
        return JSONResponse(self.emu.status())

    async def admin_public_key(self, request: Request) -> Response:
        return Response(PUBLIC_KEY_PATH.read_text(), media_type="application/x-pem-file")

    def routes(self) -> list[Route]:
        return [
            Route("/_admin/locations", self.admin_locations, methods=["POST"]),
            Route("/_admin/tokens", self.admin_tokens, methods=["POST", "DELETE"]),
            Route("/_admin/oauth", self.admin_oauth, methods=["POST"]),
            Route("/_admin/webhooks", self.admin_webhooks, methods=["GET", "POST"]),
            Route("/_admin/stats", self.admin_stats, methods=["GET"]),
            Route("/_admin/public-key", self.admin_public_key, methods=["GET"]),
        ]
