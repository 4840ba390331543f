"""HotspotSystem API v2.0 emulator, mounted at /hotspotsystem (API under /hotspotsystem/v2.0).

Read-only like the real v2 API. Auth: header `sn-apikey: hotspot-sandbox-key` (HTTP Basic with the key as user
name is accepted too, as the notes page still describes). Paging: `limit`/`offset` (a record offset), answers
`{"metadata": {"total_count": N}, "items": [...]}` plus a `Link` header (rel self/next/prev). Seed: 3 locations,
300 customers with 0-3 transactions each (`/transactions/{mac|voucher|social|paid}`) (`POST /hotspotsystem/_admin/seed {"customers": N}` adds more; `POST /hotspotsystem/_admin/customer {fields, "transactions": [...]}` adds one
given customer). Facts: source-apps.md section 2.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.sandbox.hubstaff import fake

APP = "hotspotsystem"
API_KEY = "hotspot-sandbox-key"
OPERATOR = "sandbox-operator"
DEFAULT_CUSTOMERS = 300
MAX_LIMIT = 100  # the docs give no maximum; Pipedream's poller asks for 100 at a time
TRANSACTION_TYPES = ("mac", "voucher", "social", "paid")
SOCIAL = ["facebook", "google", "twitter", "linkedin", "", "", ""]


def _dt(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")  # HotspotSystem's documented date format


class HotspotState:
    def __init__(self) -> None:
        self.locations = [
            {"id": str(i), "name": name}
            for i, name in [(1, "Café Lumière Wi-Fi"), (2, "Hotel Zürich Lobby"), (3, "Airport Lounge B")]
        ]
        self.customers: list[dict[str, Any]] = []
        self.customer_location: dict[str, str] = {}
        self.transactions: dict[str, list[dict[str, Any]]] = {t: [] for t in TRANSACTION_TYPES}
        self.requests = 0
        self.seed(DEFAULT_CUSTOMERS)

    def seed(self, count: int) -> int:
        # Longer than 60 lines on purpose: one customer's messy but valid fields read best as one recipe.
        r = fake.rng(f"hotspot-{len(self.customers)}")
        initial = not self.customers  # later additions register "now", after everyone else (as in real life)
        for _ in range(count):
            n = len(self.customers) + 1
            first, last = fake.person_name(r)
            city, country, postcode = r.choice(fake.CITIES)
            network = r.choice(SOCIAL)
            registered = fake.past(r, days=365) if initial else datetime.now(UTC)
            cid = str(100_000 + n)
            self.customers.append(
                {
                    "id": cid,
                    "user_name": f"{first.strip().lower()}{n}",
                    "name": f"{first} {last}",
                    "email": fake.email_for(r, f"{first}.{last}", n) if r.random() < 0.85 else "",
                    "company_name": fake.company_name(r, n) if r.random() < 0.3 else "",
                    "phone": fake.phone(r),
                    "address": fake.address(r).split("\n")[0],
                    "city": city,
                    "state": "",
                    "zip": postcode,
                    "country_code": country,
                    "social_network": network,
                    "social_id": str(r.randint(10**8, 10**9)) if network else "",
                    "social_username": f"{first.strip()}{last.strip()}".replace(" ", "") if network else "",
                    "social_link": "",
                    "social_gender": r.choice(["male", "female", ""]) if network else "",
                    "social_age_range": r.choice(["18-24", "25-34", "35-44", ""]) if network else "",
                    "social_followers_count": r.randint(0, 5000) if network else 0,
                    "registered_at": _dt(registered + timedelta(seconds=n)),
                }
            )
            self.customer_location[cid] = r.choice(self.locations)["id"]
            customer = self.customers[-1]
            for _t in range(r.choice([0, 1, 1, 2, 3])):
                kind = "social" if network else r.choice(["mac", "voucher", "paid"])
                tx = {
                    "id": sum(len(v) for v in self.transactions.values()) + 1,
                    "operator": OPERATOR,
                    "location_id": self.customer_location[cid],
                    "user_name": customer["user_name"],
                    "customer": customer["name"],
                    "action_date_gmt": _dt(registered + timedelta(hours=r.randint(0, 24 * 30))),
                    "user_agent": "Mozilla/5.0",
                    "newsletter": r.choice([0, 1]),
                    **{
                        k: customer[k]
                        for k in (
                            "company_name",
                            "email",
                            "address",
                            "city",
                            "state",
                            "zip",
                            "country_code",
                            "phone",
                        )
                    },
                }
                if kind in ("mac", "social"):
                    tx["package_id"] = r.randint(1, 4)
                if kind in ("voucher", "paid"):
                    tx.update(
                        amount=r.choice(["2.00", "4.50", "9.90"]),
                        currency="EUR",
                        language="de",
                        smscountry="",
                    )
                if kind == "social":
                    tx.update({k: customer[k] for k in customer if k.startswith("social_")})
                self.transactions[kind].append(tx)
        return len(self.customers)


def _add_customer(state: HotspotState, body: dict[str, Any]) -> dict[str, Any]:
    """A customer registering now with the given fields (admin: tests shape their own data), and their
    transactions: [{"type": "paid", "amount": "4.50", ...}]."""
    n = len(state.customers) + 1
    now = datetime.now(UTC)
    existing = next((c for c in state.customers if c["id"] == str(body.get("id") or "")), None)
    if existing is not None:  # more transactions of a customer we have
        _transactions(state, existing, state.customer_location[existing["id"]], body.get("transactions") or [], now)
        return existing
    customer = {
        "id": str(100_000 + n),
        "user_name": f"guest{n}",
        "name": "",
        "email": "",
        "company_name": "",
        "phone": "",
        "address": "",
        "city": "",
        "state": "",
        "zip": "",
        "country_code": "",
        "social_network": "",
        "social_id": "",
        "social_username": "",
        "social_link": "",
        "social_gender": "",
        "social_age_range": "",
        "social_followers_count": 0,
        "registered_at": _dt(now),
        **{k: v for k, v in body.items() if k not in ("id", "transactions", "location_id", "location_name")},
    }
    state.customers.append(customer)
    location = str(body.get("location_id") or state.locations[0]["id"])
    if location not in {loc["id"] for loc in state.locations}:  # a new venue opens
        state.locations.append({"id": location, "name": str(body.get("location_name") or f"Venue {location}")})
    state.customer_location[customer["id"]] = location
    _transactions(state, customer, location, body.get("transactions") or [], now)
    return customer


def _transactions(
    state: HotspotState, customer: dict[str, Any], location: str, rows: list[dict[str, Any]], now: datetime
) -> None:
    for i, tx in enumerate(rows):
        kind = tx.get("type", "mac")
        state.transactions[kind].append(
            {
                "id": sum(len(v) for v in state.transactions.values()) + 1,
                "operator": OPERATOR,
                "location_id": location,
                "user_name": customer["user_name"],
                "customer": customer["name"],
                "action_date_gmt": _dt(now + timedelta(minutes=i)),
                "user_agent": "Mozilla/5.0",
                "newsletter": 0,
                **{
                    k: customer[k]
                    for k in ("company_name", "email", "address", "city", "state", "zip", "country_code", "phone")
                },
                **{k: v for k, v in tx.items() if k != "type"},
            }
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)  # v2 `Error` model


def _authorized(request: Request) -> bool:
    if request.headers.get("sn-apikey") == API_KEY:
        return True
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return False
        return user == API_KEY
    return False


def _listing(request: Request, items: list[dict[str, Any]]) -> Response:
    q = request.query_params
    try:
        limit = min(max(1, int(q.get("limit", 10))), MAX_LIMIT)
        offset = max(0, int(q.get("offset", 0)))
    except ValueError:
        return _error(400, "limit and offset must be integers")
    sort = q.get("sort", "")
    if sort:
        key = sort.lstrip("-")
        if items and key not in items[0]:
            return _error(400, f"cannot sort by {key}")
        items = sorted(items, key=lambda i: (str(i.get(key, "")), i.get("id")), reverse=sort.startswith("-"))
    page = items[offset : offset + limit]
    if q.get("fields"):
        wanted = set(q["fields"].split(","))
        page = [{k: v for k, v in i.items() if k in wanted} for i in page]
    base = str(request.url.replace(query=""))
    links = [f'<{base}?{urlencode({**q, "limit": limit, "offset": offset})}>; rel="self"']
    if offset + limit < len(items):
        links.append(f'<{base}?{urlencode({**q, "limit": limit, "offset": offset + limit})}>; rel="next"')
    if offset > 0:
        links.append(f'<{base}?{urlencode({**q, "limit": limit, "offset": max(0, offset - limit)})}>; rel="prev"')
    return JSONResponse({"metadata": {"total_count": len(items)}, "items": page}, headers={"Link": ", ".join(links)})


def mount(ctx: Any) -> Mount:  # noqa: C901 - small route closures counted as one function
    # Longer than 60 lines on purpose: the emulator's few small routes are closures over one state box, so
    # a reset swaps the state for all of them; splitting them apart would only add plumbing.
    box = {"state": HotspotState()}

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            short = await ctx.faults.before(APP, OPERATOR)
            if short is not None:
                return short
            if not _authorized(request):
                return _error(401, "Authorization Required")
            box["state"].requests += 1
            return await handler(request, box["state"])

        return run

    async def me(request: Request, state: HotspotState) -> Response:
        return JSONResponse({"userId": "sandbox-user-1", "operator": OPERATOR})

    async def ping(request: Request, state: HotspotState) -> Response:
        return JSONResponse({"ping": "pong"})

    async def locations(request: Request, state: HotspotState) -> Response:
        return _listing(request, state.locations)

    async def customers(request: Request, state: HotspotState) -> Response:
        location = request.path_params.get("location_id")
        if location is not None and location not in {loc["id"] for loc in state.locations}:
            return _error(404, "Location not found")
        rows = [c for c in state.customers if location is None or state.customer_location[c["id"]] == location]
        return _listing(request, rows)

    async def transactions(request: Request, state: HotspotState) -> Response:
        kind = request.path_params["kind"]
        if kind not in TRANSACTION_TYPES:
            return _error(404, f"unknown transaction type {kind}")
        location = request.path_params.get("location_id")
        rows = [t for t in state.transactions[kind] if location is None or t["location_id"] == location]
        return _listing(request, rows)

    async def admin(request: Request) -> Response:
        if request.path_params["action"] == "seed":
            body = await request.json() if await request.body() else {}
            return JSONResponse({"customers": box["state"].seed(int(body.get("customers", 0)))})
        if request.path_params["action"] == "customer" and request.method == "POST":
            return JSONResponse(_add_customer(box["state"], await request.json()))
        if request.path_params["action"] == "stats":
            return JSONResponse({"customers": len(box["state"].customers), "requests": box["state"].requests})
        return _error(404, "no such admin action")

    def reset() -> None:
        box["state"] = HotspotState()

    ctx.on_reset(APP, reset)
    ctx.on_status(APP, lambda: {"customers": len(box["state"].customers), "requests": box["state"].requests})
    v = "/v2.0"
    return Mount(
        "/hotspotsystem",
        routes=[
            Route(f"{v}/me", guarded(me)),
            Route(f"{v}/ping", guarded(ping)),
            Route(f"{v}/locations", guarded(locations)),
            Route(f"{v}/customers", guarded(customers)),
            Route(v + "/locations/{location_id}/customers", guarded(customers)),
            Route(v + "/transactions/{kind}", guarded(transactions)),
            Route(v + "/locations/{location_id}/transactions/{kind}", guarded(transactions)),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
        ],
    )
