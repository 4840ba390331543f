"""In-memory state of the GHL emulator: agencies (companies) and their locations with contacts, tasks, notes,
appointments, businesses, users and custom fields; the app's installs; tokens (location and agency PITs, OAuth
location/company tokens, location tokens minted from a company token) and OAuth clients/codes/refresh tokens."""

from __future__ import annotations

import functools
import random
import re
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALNUM = string.ascii_letters + string.digits
_rng = random.Random()

# Every scope the product needs; a PIT provisioned by --ghl-token gets all of them.
ALL_SCOPES = [
    "contacts.readonly",
    "contacts.write",
    "businesses.readonly",
    "businesses.write",
    "calendars/events.readonly",
    "calendars/events.write",
    "locations.readonly",
    "locations/tags.readonly",
    "locations/tags.write",
    "locations/customFields.readonly",
    "locations/tasks.readonly",
    "users.readonly",
]
# An agency (Company) token can also list the app's installs and mint location tokens (docs/oauth/Scopes.md).
COMPANY_SCOPES = [*ALL_SCOPES, "oauth.readonly", "oauth.write"]
# GHL's access tokens live about a day (expires_in 86399).
ACCESS_TOKEN_TTL_SECONDS = 86_399
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_COMPANY_ID = "sandbox-company"
DAILY_LIMIT = 200_000
# The one marketplace app the emulator plays: webhooks carry these ids, GET /oauth/installedLocations wants appId.
APP_ID = "sandbox-app"
VERSION_ID = "sandbox-version"
LOCATION = "Location"  # userType of sub-account tokens
COMPANY = "Company"  # userType of agency tokens


def new_id() -> str:
    return "".join(_rng.choices(ALNUM, k=20))


def iso(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=300_000)
def iso_ms(value: str) -> int:
    """ms epoch of one of our ISO strings (for searchAfter / startAfter cursors)."""
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except (ValueError, AttributeError):
        return 0


_NON_DIGIT = re.compile(r"[^\d]")


def normalize_phone(phone: str | None) -> str:
    """GHL stores phones in E.164: +<digits>; 10 national digits are taken as US/CA, a 00 prefix as +."""
    if not phone:
        return ""
    raw = phone.strip()
    digits = _NON_DIGIT.sub("", raw)
    if not digits:
        return ""
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + digits


@dataclass
class DailyCounter:
    """GHL's 200,000 requests / day per app per resource (location or company)."""

    day: int = 0
    count: int = 0

    def take(self) -> int:
        day = int(time.time() // 86_400)
        if day != self.day:
            self.day, self.count = day, 0
        self.count += 1
        return max(0, DAILY_LIMIT - self.count)


@dataclass
class Token:
    token: str
    location_id: str  # "" for an agency (Company) token
    scopes: frozenset[str]
    kind: str = "pit"  # pit | oauth
    expires_at: float = 0.0  # 0 = never
    company_id: str = DEFAULT_COMPANY_ID
    user_type: str = LOCATION

    @property
    def is_company(self) -> bool:
        return self.user_type == COMPANY


@dataclass
class RefreshToken:
    token: str
    location_id: str  # "" for a company refresh token
    scopes: list[str]
    client_id: str
    used_at: float = 0.0
    user_type: str = LOCATION
    company_id: str = DEFAULT_COMPANY_ID


@dataclass
class Company:
    """An agency: owns locations; the app can be installed on it (agency level) and on each location."""

    id: str
    name: str = "Sandbox Agency"
    email: str = "agency@sandbox.example"
    webhook_url: str = ""  # where agency-level events (LocationCreate, agency INSTALL) go; else --webhook-url
    install_to_future_locations: bool = False
    installed: bool = True  # the app at agency level
    daily: DailyCounter = field(default_factory=DailyCounter)


@dataclass
class Location:
    id: str
    name: str = "Sandbox Location"
    company_id: str = DEFAULT_COMPANY_ID
    allow_duplicates: bool = False
    active: bool = True
    webhook_url: str = ""
    signatures: str = "ed25519"  # ed25519 (x-ghl-signature) | both (+ legacy x-wh-signature) | rsa (legacy only)
    # location detail (GET /locations/{id}); country and timezone matter to the product's field mapping
    country: str = "DE"
    timezone: str = "Europe/Berlin"
    email: str = "office@sandbox.example"
    phone: str = "+4930123456"
    address: str = "Hauptstraße 1"
    city: str = "Berlin"
    state: str = "BE"
    postal_code: str = "10115"
    website: str = "https://sandbox.example"
    installed: bool = True  # the app is installed on this location
    installed_at: str = ""
    date_added: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_email: dict[str, list[str]] = field(default_factory=dict)
    by_phone: dict[str, list[str]] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # contactId -> taskId -> task
    notes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    businesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    daily: DailyCounter = field(default_factory=DailyCounter)

    # ----- contact indexes (email lower-case, phone E.164) -> contact ids, oldest first ---------------
    def index(self, contact: dict[str, Any]) -> None:
        email = contact.get("email")
        if email:
            ids = self.by_email.setdefault(email.lower(), [])
            if contact["id"] not in ids:
                ids.append(contact["id"])
        phone = contact.get("phone")
        if phone:
            ids = self.by_phone.setdefault(phone, [])
            if contact["id"] not in ids:
                ids.append(contact["id"])

    def unindex(self, contact: dict[str, Any]) -> None:
        for index, key in (
            (self.by_email, (contact.get("email") or "").lower()),
            (self.by_phone, contact.get("phone")),
        ):
            if not key:
                continue
            ids = index.get(key)
            if ids and contact["id"] in ids:
                ids.remove(contact["id"])
                if not ids:
                    del index[key]

    def match(self, email: str | None, phone: str | None) -> tuple[dict[str, Any] | None, str]:
        """The existing contact matching by email first, then phone (GHL's default order)."""
        if email:
            ids = self.by_email.get(email.lower())
            if ids:
                return self.contacts[ids[0]], "email"
        if phone:
            ids = self.by_phone.get(normalize_phone(phone))
            if ids:
                return self.contacts[ids[0]], "phone"
        return None, ""

    def custom_field(self, ref: str) -> dict[str, Any] | None:
        cf = self.custom_fields.get(ref)
        if cf is not None:
            return cf
        key = ref if ref.startswith("contact.") else f"contact.{ref}"
        for cf in self.custom_fields.values():
            if cf["fieldKey"] == key:
                return cf
        return None

    def count_daily(self) -> int:
        return self.daily.take()


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str


class GhlState:
    def __init__(self) -> None:
        self.companies: dict[str, Company] = {}
        self.locations: dict[str, Location] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, OAuthClient] = {
            DEFAULT_CLIENT_ID: OAuthClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        }
        self.access_ttl = ACCESS_TOKEN_TTL_SECONDS
        self.location_token_ttl = ACCESS_TOKEN_TTL_SECONDS  # POST /oauth/locationToken answers; no refresh
        self.stats: dict[str, int] = {
            "token_exchanges": 0,
            "token_refreshes": 0,
            "refresh_reuse": 0,
            "location_tokens": 0,
        }
        self.deliveries: list[dict[str, Any]] = []  # last webhook deliveries (for tests and the demo)

    # ----- agencies and locations ---------------------------------------------------------------------
    def add_company(self, company_id: str, **kw: Any) -> Company:
        company = self.companies.get(company_id)
        if company is None:
            company = self.companies[company_id] = Company(id=company_id, **kw)
        else:
            for k, v in kw.items():
                setattr(company, k, v)
        return company

    def add_location(self, location_id: str, **kw: Any) -> Location:
        loc = self.locations.get(location_id)
        if loc is None:
            now = iso()
            loc = self.locations[location_id] = Location(id=location_id, date_added=now, installed_at=now, **kw)
        else:
            for k, v in kw.items():
                setattr(loc, k, v)
        if loc.company_id not in self.companies:
            self.add_company(loc.company_id)
        return loc

    def company_locations(self, company_id: str) -> list[Location]:
        return [loc for loc in self.locations.values() if loc.company_id == company_id]

    # ----- tokens -------------------------------------------------------------------------------------
    def add_token(
        self,
        token: str,
        location_id: str,
        scopes: list[str] | None = None,
        *,
        kind: str = "pit",
        ttl: float = 0,
    ) -> Token:
        t = Token(
            token=token,
            location_id=location_id,
            scopes=frozenset(ALL_SCOPES if scopes is None else scopes),
            kind=kind,
            expires_at=time.time() + ttl if ttl else 0.0,
            company_id=self.locations[location_id].company_id if location_id in self.locations else DEFAULT_COMPANY_ID,
        )
        self.tokens[token] = t
        return t

    def add_company_token(
        self,
        token: str,
        company_id: str,
        scopes: list[str] | None = None,
        *,
        kind: str = "pit",
        ttl: float = 0,
    ) -> Token:
        """An agency PIT (kind pit) or an OAuth company access token (kind oauth)."""
        t = Token(
            token=token,
            location_id="",
            scopes=frozenset(COMPANY_SCOPES if scopes is None else scopes),
            kind=kind,
            expires_at=time.time() + ttl if ttl else 0.0,
            company_id=company_id,
            user_type=COMPANY,
        )
        self.tokens[token] = t
        return t

    def issue_pair(self, location_id: str, scopes: list[str], client_id: str) -> dict[str, Any]:
        access = "at-" + new_id() + new_id()
        refresh = "rt-" + new_id() + new_id()
        self.add_token(access, location_id, scopes, kind="oauth", ttl=self.access_ttl)
        loc = self.locations[location_id]
        self.refresh_tokens[refresh] = RefreshToken(
            refresh, location_id, list(scopes), client_id, company_id=loc.company_id
        )
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
            "userType": LOCATION,
            "locationId": location_id,
            "companyId": loc.company_id,
            "userId": next(iter(loc.users), "sandbox-user"),
            "isBulkInstallation": False,
        }

    def issue_company_pair(self, company_id: str, scopes: list[str], client_id: str) -> dict[str, Any]:
        """An agency-level install's token: companyId and no locationId (GetAccessCodeSuccessfulResponseDto)."""
        access = "at-" + new_id() + new_id()
        refresh = "rt-" + new_id() + new_id()
        self.add_company_token(access, company_id, scopes, kind="oauth", ttl=self.access_ttl)
        self.refresh_tokens[refresh] = RefreshToken(
            refresh, "", list(scopes), client_id, user_type=COMPANY, company_id=company_id
        )
        company = self.companies[company_id]
        locations = self.company_locations(company_id)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
            "userType": COMPANY,
            "companyId": company_id,
            "approvedLocations": [loc.id for loc in locations if loc.installed],
            "userId": f"{company_id}-admin",
            "isBulkInstallation": True,
            "installToFutureLocations": company.install_to_future_locations,
            "approveAllLocations": all(loc.installed for loc in locations),
        }

    def issue_location_token(self, company_token: Token, loc: Location) -> dict[str, Any]:
        """POST /oauth/locationToken: a location access token with the company token's scopes, no refresh."""
        access = "lt-" + new_id() + new_id()
        t = self.add_token(access, loc.id, sorted(company_token.scopes), kind="oauth", ttl=self.location_token_ttl)
        self.stats["location_tokens"] += 1
        return {
            "access_token": t.token,
            "token_type": "Bearer",
            "expires_in": self.location_token_ttl,
            "scope": " ".join(sorted(t.scopes)),
            "locationId": loc.id,
            "userId": f"{loc.company_id}-admin",
            "appId": APP_ID,
            "versionId": VERSION_ID,
        }

    def revoke(self, *, location_id: str = "", company_id: str = "") -> int:
        """Uninstall: the app's OAuth tokens for a location (or for a whole agency: its company tokens and every
        location token of its locations) stop working; PITs are not the app's and stay."""

        def hit(loc_id: str, comp_id: str) -> bool:
            return loc_id == location_id if location_id else comp_id == company_id

        gone = [k for k, t in self.tokens.items() if t.kind == "oauth" and hit(t.location_id, t.company_id)]
        for k in gone:
            del self.tokens[k]
        for k in [k for k, r in self.refresh_tokens.items() if hit(r.location_id, r.company_id)]:
            del self.refresh_tokens[k]
        return len(gone)
