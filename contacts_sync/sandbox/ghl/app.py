"""The GHL (LeadConnector API v2) emulator: contacts with their tasks, notes, tags, appointments and businesses,
users, custom fields, locations and agencies, OAuth (sub-account and agency installs, rotating single-use refresh
tokens, location tokens minted from a company token), private integration tokens, rate-limit headers and 429s,
scope and token-class checks, signed webhooks, fault injection.

Served under /ghl by the sandbox server; GHL's base URL is then http://127.0.0.1:8010/ghl. This module holds the
request path every API call takes and puts the resources together; each resource lives in its own module.
The request path is kept lean (dict lookups, no per-request work GHL would not do): see bench/ghl_budget.py.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.sandbox.ghl.admin import Admin
from contacts_sync.sandbox.ghl.agency import AgencyAdmin
from contacts_sync.sandbox.ghl.appointments import Appointments
from contacts_sync.sandbox.ghl.businesses import Businesses
from contacts_sync.sandbox.ghl.children import Children
from contacts_sync.sandbox.ghl.common import (
    APP,
    AUTH_CLASS_REFUSED,
    USER_TYPE_MISMATCH,
    VERSIONS,
    Auth,
    GhlError,
    json_response,
)
from contacts_sync.sandbox.ghl.contacts import Contacts
from contacts_sync.sandbox.ghl.locations import Locations
from contacts_sync.sandbox.ghl.oauth import OAuth
from contacts_sync.sandbox.ghl.router import FastRouter
from contacts_sync.sandbox.ghl.search import ContactSearch
from contacts_sync.sandbox.ghl.seed import seed_location, seed_reference_data
from contacts_sync.sandbox.ghl.state import DAILY_LIMIT, GhlState, Token
from contacts_sync.sandbox.ghl.webhooks import Recorder, WebhookSender

# GHL: 100 requests / 10 s per app per resource (a location, or the company for agency tokens).
BURST_LIMIT = 100
BURST_WINDOW_SECONDS = 10.0

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any, Any], Any]
RouteFactory = Callable[..., Endpoint]


def _unauthorized(message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(401, {"statusCode": 401, "message": message, "error": "Unauthorized"}, headers)


def refusal(token: Token, auth: Auth) -> str:
    """Why this token's class may not call an operation secured with `auth` ("" = it may)."""
    if auth == Auth.LOCATION and token.is_company:
        return USER_TYPE_MISMATCH if token.kind == "pit" else AUTH_CLASS_REFUSED
    if auth == Auth.AGENCY and not token.is_company:
        return AUTH_CLASS_REFUSED
    if auth == Auth.AGENCY_OAUTH and not (token.is_company and token.kind == "oauth"):
        return AUTH_CLASS_REFUSED
    return ""


async def _payload(request: Request, body: bool | str) -> tuple[Any, str]:
    """The parsed JSON (body=True) or form (body="form") body, or the 4xx message to answer instead."""
    if body == "form":
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return None, "form"
        form = await request.form()
        return {k: str(val) for k, val in form.items()}, ""
    raw = await request.body()
    try:
        return (json.loads(raw) if raw else {}), ""
    except ValueError:
        return None, "json"


class GhlEmulator:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.state = GhlState()
        self.recorder = Recorder(getattr(self.options, "record_path", ""))
        self.hooks = WebhookSender(ctx, self.state_ref, self.recorder)
        self.contacts = Contacts(self)
        self.search = ContactSearch(self)
        self.children = Children(self)
        self.appointments = Appointments(self)
        self.businesses = Businesses(self)
        self.locations = Locations(self)
        self.oauth = OAuth(self)
        self.admin = Admin(self)
        self.agency = AgencyAdmin(self)
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

    def state_ref(self) -> GhlState:
        return self.state

    def status(self) -> dict[str, Any]:
        return {
            "locations": {lid: len(loc.contacts) for lid, loc in self.state.locations.items()},
            "companies": len(self.state.companies),
            **self.state.stats,
            "deliveries": len(self.state.deliveries),
        }

    # ----- the request path ---------------------------------------------------------------------------
    def api(  # noqa: C901 - GHL's checks in GHL's order (version, token, expiry, scope), one guard each
        self, scope: str, handler: Handler, *, body: bool | str = False, auth: Auth = Auth.LOCATION
    ) -> Endpoint:
        """Wrap a handler in GHL's checks, in GHL's order: Version header, bearer token, expiry, scope, token
        class, faults, the burst budget of the token's resource (its location, or its company), then the body.

        A handler gets (request, Location, body) for sub-account operations, (request, Token, body) for agency
        ones, and returns (status, body, webhook events); the events are delivered after the answer."""
        # Longer than 60 lines on purpose: the hot path of every API call stays one closure with its look-ups
        # bound once (bench/ghl_budget.py: the emulator must never be the bottleneck).
        state = self.state_ref
        faults = self.ctx.faults
        hooks = self.hooks
        limit_default = self.options.ghl_rate_limit or BURST_LIMIT

        async def endpoint(request: Request) -> Response:  # noqa: C901 - see api()
            st = state()
            headers = request.headers
            if headers.get("version") not in VERSIONS:
                msg = "version header was not found" if "version" not in headers else "version header is invalid"
                return JSONResponse({"statusCode": 400, "message": msg}, status_code=400)
            bearer = headers.get("authorization", "")
            token = st.tokens.get(bearer[7:]) if bearer[:7].lower() == "bearer " else None
            if token is None:
                return _unauthorized("Invalid token: access token is invalid")
            if token.expires_at and token.expires_at < time.time():
                return _unauthorized("Invalid JWT")
            if scope not in token.scopes:
                return _unauthorized("The token is not authorized for this scope.")
            refused = refusal(token, auth)
            if refused:
                return _unauthorized(refused)
            if token.is_company:
                loc, account, daily = None, token.company_id, st.companies[token.company_id].daily
            else:
                loc = st.locations[token.location_id]
                account, daily = loc.id, loc.daily
            short = await faults.before(APP, account)
            if short is not None:
                return short
            rate = faults.take(APP, account, limit_default, BURST_WINDOW_SECONDS)
            rl = {
                "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
                "X-RateLimit-Daily-Remaining": str(daily.take()),
                "X-RateLimit-Interval-Milliseconds": str(rate.window_ms),
                "X-RateLimit-Max": str(rate.limit),
                "X-RateLimit-Remaining": str(rate.remaining),
            }
            if not rate.allowed:
                return json_response(429, {"statusCode": 429, "message": "Too Many Requests"}, rl)
            payload: Any = None
            if body:
                payload, bad = await _payload(request, body)
                if bad == "json":
                    return json_response(400, {"statusCode": 400, "message": "Unexpected token in JSON body"}, rl)
                if bad == "form":
                    form_only = ["body must be application/x-www-form-urlencoded"]
                    return json_response(
                        422, {"statusCode": 422, "message": form_only, "error": "Unprocessable Entity"}, rl
                    )
            try:
                result = handler(request, loc if auth == Auth.LOCATION else token, payload)
                if not isinstance(result, tuple):
                    result = await result
            except GhlError as e:
                return json_response(e.status, e.body, rl)
            status, out, events = result
            task = hooks.task_for(loc, events) if events and loc is not None else None
            return json_response(status, out, rl, task)

        return endpoint

    async def not_found(self, request: Request) -> Response:
        return json_response(
            404,
            {
                "statusCode": 404,
                "message": f"Cannot {request.method} {request.url.path}",
                "error": "Not Found",
            },
        )

    # ----- routing ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        def a(scope: str, handler: Handler, *, body: bool | str = False, auth: Auth = Auth.LOCATION) -> Endpoint:
            return self.recorder.wrap(self.api(scope, handler, body=body, auth=auth))

        return [
            *self.search.routes(a),
            *self.businesses.routes(a),
            *self.contacts.routes(a),
            *self.children.routes(a),
            *self.appointments.routes(a),
            *self.locations.routes(a),
            *self.oauth.routes(a),
            *self.admin.routes(),
            *self.agency.routes(),
            *self.contacts.admin_routes(),
            *self.children.admin_routes(),
            *self.appointments.admin_routes(),
            Route(
                "/{path:path}",
                self.recorder.wrap(self.not_found),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]


def mount(ctx: Any) -> Mount:
    emulator = GhlEmulator(ctx)
    ctx.on_reset(APP, emulator.reset)
    ctx.on_status(APP, emulator.status)
    ctx.ghl = emulator
    return Mount("/ghl", app=FastRouter(emulator.routes()))
