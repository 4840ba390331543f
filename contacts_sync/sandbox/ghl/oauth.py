"""OAuth: the marketplace's choose-location page (a sub-account or a whole agency), POST /oauth/token (code and
rotating single-use refresh tokens, Location or Company), POST /oauth/locationToken (a location token from a company
token, no refresh token) and GET /oauth/installedLocations. GHL's v3 dashed spellings (/oauth/location-token,
/oauth/installed-locations) are served too, with the same (2021-07-28) parameters."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from contacts_sync.sandbox.ghl import validation as v
from contacts_sync.sandbox.ghl.common import Auth, GhlError, Result, int_param, json_response, unprocessable
from contacts_sync.sandbox.ghl.events import company_install_event, location_install_event
from contacts_sync.sandbox.ghl.state import (
    ALL_SCOPES,
    APP_ID,
    COMPANY,
    COMPANY_SCOPES,
    LOCATION,
    VERSION_ID,
    Location,
    Token,
    iso,
    new_id,
)

if TYPE_CHECKING:
    from contacts_sync.sandbox.ghl.app import GhlEmulator, RouteFactory

CODE_TTL_SECONDS = 600  # an authorization code must be exchanged within 10 minutes
INSTALLED_DEFAULT_LIMIT = 20  # GET /oauth/installedLocations limit default ("20")
GRANT_TYPES = "authorization_code, refresh_token, client_credentials"


def bad_grant(message: str) -> Response:
    return json_response(
        400, {"statusCode": 400, "message": message, "error": "invalid_grant", "error_description": message}
    )


def _bool_param(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value not in ("true", "false"):
        raise unprocessable([f"{name} must be a boolean value"])
    return value == "true"


class OAuth:
    def __init__(self, emu: GhlEmulator) -> None:
        self.emu = emu

    # ----- the authorize page --------------------------------------------------------------------------
    async def _install_on_consent(self, location_id: str, company_id: str) -> None:
        """Choosing a location (or an agency) on the page installs the app there, with its INSTALL webhook."""
        state = self.emu.state
        if location_id:
            loc = state.locations[location_id]
            if not loc.installed:
                loc.installed, loc.installed_at = True, iso()
                company = state.add_company(loc.company_id)
                await self.emu.hooks.to_location(loc, [location_install_event(loc, company)])
        elif not state.companies[company_id].installed:
            company = state.companies[company_id]
            company.installed = True
            await self.emu.hooks.to_company(company, [company_install_event(company)])

    def _choose_page(self, q: Any, scopes: list[str]) -> Response:
        state = self.emu.state
        links = [
            (urlencode({**dict(q), "location_id": loc.id}), f"{loc.name} ({loc.id})")
            for loc in state.locations.values()
        ] + [
            (urlencode({**dict(q), "company_id": c.id}), f"The whole agency {c.name} ({c.id})")
            for c in state.companies.values()
        ]
        items = "".join(
            f'<li><a class="choose" href="?{html.escape(query)}">{html.escape(label)}</a></li>'
            for query, label in links
        )
        return HTMLResponse(
            "<!doctype html><title>Choose an account (sandbox)</title><h1>Choose an account</h1>"
            f"<p>The app asks for: {html.escape(' '.join(scopes) or 'every scope')}</p><ul>{items}</ul>"
        )

    async def authorize(self, request: Request) -> Response:
        """Pick a location (`location_id=`) or an agency (`company_id=`), get redirected back with code + state."""
        q = request.query_params
        state = self.emu.state
        client = state.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or not redirect_uri or q.get("response_type", "code") != "code":
            return HTMLResponse("<h1>Invalid client_id, redirect_uri or response_type</h1>", status_code=400)
        scopes = [s for s in q.get("scope", "").split() if s]
        location_id = q.get("location_id") or q.get("locationId") or ""
        company_id = "" if location_id else q.get("company_id") or q.get("companyId") or ""
        if not (location_id or company_id):
            return self._choose_page(q, scopes)
        if (location_id and location_id not in state.locations) or (company_id and company_id not in state.companies):
            return HTMLResponse("<h1>Unknown location or agency</h1>", status_code=400)
        code = new_id() + new_id()
        state.codes[code] = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "location_id": location_id,
            "company_id": company_id,
            "scopes": scopes or list(COMPANY_SCOPES if company_id else ALL_SCOPES),
            "expires": time.time() + CODE_TTL_SECONDS,
        }
        await self._install_on_consent(location_id, company_id)
        sep = "&" if "?" in redirect_uri else "?"
        params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)

    # ----- POST /oauth/token ---------------------------------------------------------------------------
    def _exchange_code(self, f: dict[str, str], client_id: str) -> Response:
        state = self.emu.state
        code = state.codes.pop(f.get("code", ""), None)
        if code is None or code["expires"] < time.time() or code["client_id"] != client_id:
            return bad_grant("Invalid authorization code")
        if f.get("redirect_uri") and f["redirect_uri"] != code["redirect_uri"]:
            return bad_grant("redirect_uri does not match")
        issued_for = LOCATION if code["location_id"] else COMPANY
        if f.get("user_type") and f["user_type"] != issued_for:
            # the class of token follows where the app was installed (a sub-account or an agency)
            return bad_grant(f"This code was issued for a {issued_for} install; send user_type={issued_for}")
        state.stats["token_exchanges"] += 1
        if issued_for == COMPANY:
            return json_response(200, state.issue_company_pair(code["company_id"], code["scopes"], client_id))
        return json_response(200, state.issue_pair(code["location_id"], code["scopes"], client_id))

    def _refresh(self, f: dict[str, str], client_id: str) -> Response:
        state = self.emu.state
        rt = state.refresh_tokens.get(f.get("refresh_token", ""))
        if rt is None or rt.client_id != client_id:
            return bad_grant("Invalid refresh token")
        if rt.used_at:
            # rotating, single-use refresh tokens: a second use fails (integrators see invalid_grant)
            state.stats["refresh_reuse"] += 1
            return bad_grant("This refresh token has already been used")
        if f.get("user_type") and f["user_type"] != rt.user_type:
            return bad_grant(f"This refresh token belongs to a {rt.user_type} token; send user_type={rt.user_type}")
        if rt.user_type == LOCATION and not state.locations[rt.location_id].active:
            return json_response(
                400,
                {
                    "statusCode": 400,
                    "message": "Location is not active",
                    "error": "invalid_grant",
                    "error_description": "Location is not active",
                },
            )
        rt.used_at = time.time()
        state.stats["token_refreshes"] += 1
        if rt.user_type == COMPANY:
            return json_response(200, state.issue_company_pair(rt.company_id, rt.scopes, client_id))
        return json_response(200, state.issue_pair(rt.location_id, rt.scopes, client_id))

    async def token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return json_response(422, _form_only())
        form = await request.form()
        f = {k: str(val) for k, val in form.items()}
        client = self.emu.state.clients.get(f.get("client_id", ""))
        if client is None or client.client_secret != f.get("client_secret"):
            return json_response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "statusCode": 401,
                    "message": "Invalid client credentials",
                },
            )
        if f.get("user_type") not in (None, LOCATION, COMPANY):
            return json_response(422, _unprocessable_body([f"user_type must be one of: {LOCATION}, {COMPANY}"]))
        grant = f.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(f, client.client_id)
        if grant == "refresh_token":
            return self._refresh(f, client.client_id)
        return json_response(
            422, _unprocessable_body([f"grant_type must be one of the following values: {GRANT_TYPES}"])
        )

    # ----- agency operations ---------------------------------------------------------------------------
    def _agency_location(self, token: Token, company_id: str, location_id: str) -> Location:
        if company_id != token.company_id:
            raise GhlError(403, "The token does not have access to this company.")
        loc = self.emu.state.locations.get(location_id)
        if loc is None or loc.company_id != token.company_id:
            raise GhlError(403, "The token does not have access to this location.")
        return loc

    def location_token(self, request: Request, token: Token, form: Any) -> Result:
        """POST /oauth/locationToken {companyId, locationId} (form): a location access token, NO refresh token;
        regenerate it from the company token when it expires. GHL answers 201 (observed; the spec says 200)."""
        problems = v.check(form, v.LOCATION_TOKEN, ("companyId", "locationId"))
        if problems:
            raise unprocessable(problems)
        loc = self._agency_location(token, form["companyId"], form["locationId"])
        if not loc.installed:
            raise GhlError(400, f"The app is not installed on location {loc.id}")
        return 201, self.emu.state.issue_location_token(token, loc), []

    def installed_locations(self, request: Request, token: Token, _b: Any) -> Result:
        """GET /oauth/installedLocations?companyId&appId[&isInstalled&query&locationId&versionId&onTrial&planId
        &skip&limit]: the agency's locations with whether the app is installed on each."""
        q = request.query_params
        missing = [f"{k} should not be empty" for k in ("companyId", "appId") if not q.get(k)]
        if missing:
            raise unprocessable(missing)
        if q["companyId"] != token.company_id:
            raise GhlError(403, "The token does not have access to this company.")
        if q["appId"] != APP_ID:
            raise GhlError(400, f"App with id {q['appId']} not found")
        is_installed, on_trial = (
            _bool_param(q.get("isInstalled"), "isInstalled"),
            _bool_param(q.get("onTrial"), "onTrial"),
        )
        skip, limit = (
            int_param(q.get("skip"), "skip", 0),
            int_param(q.get("limit"), "limit", INSTALLED_DEFAULT_LIMIT),
        )
        needle = (q.get("query") or "").lower()
        rows = [
            loc
            for loc in self.emu.state.company_locations(token.company_id)
            if (is_installed is None or loc.installed == is_installed)
            and (not needle or needle in loc.name.lower())
            and (not q.get("locationId") or loc.id == q["locationId"])
            and (not q.get("versionId") or (loc.installed and q["versionId"] == VERSION_ID))
            and not on_trial  # the sandbox app has no trials ...
            and not q.get("planId")  # ... and no paid plans
        ]
        company = self.emu.state.companies[token.company_id]
        return (
            200,
            {
                "locations": [_installed_row(loc) for loc in rows[skip : skip + limit]],
                "count": len(rows),
                "installToFutureLocations": company.install_to_future_locations,
            },
            [],
        )

    def routes(self, a: RouteFactory) -> list[Route]:
        recorded = self.emu.recorder.wrap
        mint = a("oauth.write", self.location_token, body="form", auth=Auth.AGENCY_OAUTH)
        listing = a("oauth.readonly", self.installed_locations, auth=Auth.AGENCY_OAUTH)
        return [
            Route("/oauth/chooselocation", recorded(self.authorize), methods=["GET"]),
            Route("/oauth/token", recorded(self.token), methods=["POST"]),
            Route("/oauth/locationToken", mint, methods=["POST"]),
            Route("/oauth/location-token", mint, methods=["POST"]),
            Route("/oauth/installedLocations", listing, methods=["GET"]),
            Route("/oauth/installed-locations", listing, methods=["GET"]),
        ]


def _installed_row(loc: Location) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_id": loc.id,
        "name": loc.name,
        "address": loc.address,
        "isInstalled": loc.installed,
    }
    if loc.installed:
        row.update(versionId=VERSION_ID, installedAt=loc.installed_at)
    return row


def _unprocessable_body(messages: list[str]) -> dict[str, Any]:
    return {"statusCode": 422, "message": messages, "error": "Unprocessable Entity"}


def _form_only() -> dict[str, Any]:
    return _unprocessable_body(["body must be application/x-www-form-urlencoded"])
