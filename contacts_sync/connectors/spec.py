"""What an app package declares about itself: its SPEC (connect form, objects, limits, webhooks) and its recipes.

Every page and service that lists apps reads these through `connectors.registry`: the Connect page, the recipe
picker, webhook routing, the emulators' mounting and the catalogue. Plain data; no ORM, no Celery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Auth kinds (the values of models.AuthKind; kept here so that a package can declare them without the ORM).
OAUTH2 = "oauth2"
PRIVATE_TOKEN = "private_token"
API_KEY = "api_key"
WEBHOOK_SECRET = "webhook_secret"
# A GHL sub-account whose access token is minted from its agency's (POST /oauth/locationToken; no refresh token).
LOCATION_TOKEN = "location_token"

# Triggers a recipe supports.
MANUAL = "manual"
POLL = "poll"
WEBHOOK = "webhook"

# Directions of a flow, seen from GHL.
TO_GHL = "to_ghl"
FROM_GHL = "from_ghl"


@dataclass(frozen=True)
class SecretField:
    key: str  # key in Connection.secrets
    label: str
    help: str = ""


@dataclass(frozen=True)
class ConnectOption:
    """One way to connect an app on the Connect page (a form): GHL has its private token here, OAuth apart."""

    key: str  # the form's kind in URLs: "ghl_pit", "hubstaff", ...
    provider: str
    auth_kind: str
    title: str
    secrets: tuple[SecretField, ...]
    account_label: str = ""  # label of external_account_id; "" = not asked
    account_required: bool = False
    base_url_required: bool = False
    emulator_path: str = ""  # the sandbox mount, used as a hint for the base URL field
    help: str = ""


@dataclass(frozen=True)
class WebhookSpec:
    """How an app's webhooks are checked and read. `verify(headers, body, secret)` never raises."""

    scheme: str  # "ghl-ed25519" | "hmac-sha256-hex" | "standard-webhooks"
    verify: Callable[[Mapping[str, str], bytes, str], bool] | None = None
    # {event_id, event_type, account_id, record_ids, payload}; raises ValueError for a body that is no event
    parse: Callable[[Any], dict[str, Any]] | None = None
    # The headers to answer a verification request with, or None when the request is a delivery.
    handshake: Callable[[Mapping[str, str]], dict[str, str] | None] | None = None
    # Event type -> the object kind a sync reads; a key ending in "." matches every type with that prefix.
    event_objects: Mapping[str, str] = field(default_factory=dict)
    registrable: bool = False  # the hook is created through the app's API (REST hook with a handshake)

    def object_kind(self, event_type: str) -> str:
        if event_type in self.event_objects:
            return self.event_objects[event_type]
        prefix = event_type.split(".", 1)[0].lower() + "."
        return self.event_objects.get(prefix, "")


@dataclass(frozen=True)
class AppSpec:
    key: str  # the provider value stored on connections
    title: str
    connect: tuple[ConnectOption, ...] = ()
    objects_read: tuple[str, ...] = ()
    objects_write: tuple[str, ...] = ()
    # (requests, seconds) windows of the app's documented rate limit, spent through the shared Redis budget.
    rate_limits: tuple[tuple[int, float], ...] = ()
    # The Connection.config key that replaces the first window's request count (0 = no budget).
    rate_limit_setting: str = ""
    webhook: WebhookSpec | None = None
    docs: str = ""  # the app's page under docs/


class Writer:
    """How the engine pushes one mapped payload to the target (see the GHL writers and sync/writers.py)."""

    CONTACT = "contact"  # upsert, or PUT when linked; payload keys "note" / "tags" become a note / tags
    TASK = "task"  # a task on the parent contact: create, update, complete
    NOTE_TAGS = "note_tags"  # a note on the parent contact, plus tags
    APP_WRITE = "app_write"  # the target app's connector.write (e.g. a Hubstaff task)


@dataclass(frozen=True)
class Recipe:
    """A ready-made sync for a flow the product documents (DESIGN.md section 6); owned by the app's package."""

    key: str
    title: str
    source_provider: str
    source_object: str
    target_provider: str
    target_object: str
    triggers: tuple[str, ...]
    description: str
    writer: str = Writer.CONTACT
    source_options: dict[str, Any] = field(default_factory=dict)
    # The source id of the GHL contact a task/note belongs to, looked up in the links of the contact syncs that
    # read from the same source connection. A dotted path into the source record.
    parent_path: str | None = None
    # True when the source hands only changed records (a search by dateUpdated); a full listing is expected to
    # return about as many records as last time, so reading 0 is suspicious.
    incremental_source: bool = False
    # Only records for which this returns True are synced (e.g. the "critical" tag); others are skipped items.
    record_filter: dict[str, Any] = field(default_factory=dict)
    # A contact recipe that also leaves a note: the source object whose default note mapping fills the
    # contact payload's "note" pseudo-target (the writer creates/updates the note after the upsert).
    note_from: str | None = None

    @property
    def app(self) -> str:
        """The app the flow belongs to: the side that is not GHL."""
        return self.target_provider if self.source_provider == "ghl" else self.source_provider

    @property
    def direction(self) -> str:
        return FROM_GHL if self.source_provider == "ghl" else TO_GHL
