"""In-memory state of the GHL emulator: locations with their contacts, tasks, notes, appointments, businesses,
users and custom fields; tokens (PIT and OAuth) and OAuth clients/codes/refresh tokens."""

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
# GHL's access tokens live about a day (expires_in 86399).
ACCESS_TOKEN_TTL_SECONDS = 86_399
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_COMPANY_ID = "sandbox-company"
DAILY_LIMIT = 200_000


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
class Token:
    token: str
    location_id: str
    scopes: frozenset[str]
    kind: str = "pit"  # pit | oauth
    expires_at: float = 0.0  # 0 = never
    company_id: str = DEFAULT_COMPANY_ID


@dataclass
class RefreshToken:
    token: str
    location_id: str
    scopes: list[str]
    client_id: str
    used_at: float = 0.0


@dataclass
class Location:
    id: str
    name: str = "Sandbox Location"
    company_id: str = DEFAULT_COMPANY_ID
    allow_duplicates: bool = False
    active: bool = True
    webhook_url: str = ""
    signatures: str = (
        "ed25519"  # ed25519 (x-ghl-signature) | both (+ legacy x-wh-signature) | rsa (legacy only)
    )
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_email: dict[str, list[str]] = field(default_factory=dict)
    by_phone: dict[str, list[str]] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # contactId -> taskId -> task
    notes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    businesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    daily_day: int = 0
    daily_count: int = 0

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
        day = int(time.time() // 86_400)
        if day != self.daily_day:
            self.daily_day, self.daily_count = day, 0
        self.daily_count += 1
        return max(0, DAILY_LIMIT - self.daily_count)


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str


class GhlState:
    def __init__(self) -> None:
        self.locations: dict[str, Location] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, OAuthClient] = {
            DEFAULT_CLIENT_ID: OAuthClient(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        }
        self.access_ttl = ACCESS_TOKEN_TTL_SECONDS
        self.stats: dict[str, int] = {"token_exchanges": 0, "token_refreshes": 0, "refresh_reuse": 0}
        self.deliveries: list[dict[str, Any]] = []  # last webhook deliveries (for tests and the demo)

    def add_location(self, location_id: str, **kw: Any) -> Location:
        loc = self.locations.get(location_id)
        if loc is None:
            loc = self.locations[location_id] = Location(id=location_id, **kw)
        else:
            for k, v in kw.items():
                setattr(loc, k, v)
        return loc

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
            company_id=self.locations[location_id].company_id
            if location_id in self.locations
            else DEFAULT_COMPANY_ID,
        )
        self.tokens[token] = t
        return t

    def issue_pair(self, location_id: str, scopes: list[str], client_id: str) -> dict[str, Any]:
        access = "at-" + new_id() + new_id()
        refresh = "rt-" + new_id() + new_id()
        self.add_token(access, location_id, scopes, kind="oauth", ttl=self.access_ttl)
        self.refresh_tokens[refresh] = RefreshToken(refresh, location_id, list(scopes), client_id)
        loc = self.locations[location_id]
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(scopes),
            "userType": "Location",
            "locationId": location_id,
            "companyId": loc.company_id,
            "userId": next(iter(loc.users), "sandbox-user"),
            "isBulkInstallation": False,
        }
