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
        """The object kind for an event type: exact, else by its "prefix.", else the "*" entry (if any)."""
        if event_type in self.event_objects:
            return self.event_objects[event_type]
        prefix = event_type.split(".", 1)[0].lower() + "."
        return self.event_objects.get(prefix, self.event_objects.get("*", ""))


@dataclass(frozen=True)
class RecordRef:
    """One record of a connection, enough to build a link to its page in the app's own UI."""

    base_url: str  # the connection's API base URL ("" = the app's public API)
    account_id: str  # GHL locationId, Hubstaff organization id, ...
    object_kind: str
    record_id: str  # a source or target id as the run items store it


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
    # Object kind -> the record path holding its last-change time, for apps whose reads take `updated_since`:
    # polls of those objects start at the sync's change cursor (sync/sources.py).
    change_paths: Mapping[str, str] = field(default_factory=dict)
    # The record's page in the app's own UI ("Open in HighLevel" on a run's items), or "" when there is none.
    record_url: Callable[[RecordRef], str] | None = None


class Writer:
    """How the engine pushes one mapped payload to the target (see the GHL writers and sync/writers.py)."""

    CONTACT = "contact"  # upsert, or PUT when linked; payload keys "note" / "tags" become a note / tags
    TASK = "task"  # a task on the parent contact: create, update, complete
    NOTE_TAGS = "note_tags"  # a note on the parent contact, plus tags
    APP_WRITE = "app_write"  # the target app's connector.write (e.g. a Hubstaff task)
    # A GHL contact plus, the first time this sync links it, the tasks of the sync's onboarding checklist.
    CONTACT_ONBOARDING = "contact_onboarding"
    # The parent contact's business: found (or created) by name, linked through POST /contacts/bulk/business.
    BUSINESS = "business"
    # Reads one GHL contact with its tasks, notes and appointments and hands the summary to the source app.
    CONTACT_BUNDLE = "contact_bundle"
    # Completes the target app's record that a record of another sync mirrors (a GHL task -> its Hubstaff task).
    MIRROR_STATUS = "mirror_status"
    # No engine run: each GHL webhook event is mapped, stored in the outbox and sent to the app as a signed
    # Standard Webhook (services/outbox.py); the app may also pull the same events from the changes feed.
    OUTBOX = "outbox"


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
    # Only records that pass are synced; others are skipped items (sync.recipes.record_passes_filter):
    # {"tag": "critical"}, {"present": "company_name"} or {"field": "source", "equals": "UpGuard"}.
    record_filter: dict[str, Any] = field(default_factory=dict)
    # A contact recipe that also leaves a note: the source object whose default note mapping fills the
    # contact payload's "note" pseudo-target (the writer creates/updates the note after the upsert).
    note_from: str | None = None
    # The recipe's own default mapping, when the pair's shared one (the app's MAPPINGS) does not fit: "GHL task
    # -> Hubstaff task" copies a task, "GHL task completed -> Hubstaff task" only mirrors its status.
    rules: tuple[dict[str, Any], ...] = ()
    # For the operations catalogue (connectors/catalog.py); every field has a safe default, and the catalogue
    # test names each recipe whose metadata is missing. GHL operations and scopes are derived from the GHL
    # reader/writer the flow uses; list here only operations the derivation cannot see.
    trigger: str = ""  # what starts the flow, in a user's words ("A Hubstaff client is created or updated")
    action: str = ""  # what it does ("Upserts the GHL contact")
    ghl_operations: tuple[str, ...] = ()  # extra "METHOD /path" operations
    test: str = ""  # pytest node id of the flow's end-to-end test (real worker, emulators over HTTP)
    # Sync.options keys the sync's settings page offers as form fields (dashboard/forms/syncs.py), e.g.
    # "onboarding_tasks" (a checklist template) or "project_id".
    settings: tuple[str, ...] = ()
    # A flow that forwards the events of several object kinds (Writer.OUTBOX): the kinds, for the catalogue.
    source_objects: tuple[str, ...] = ()
    # Scopes a flow needs that no operation of it shows: the GHL webhook events it receives.
    ghl_scopes: tuple[str, ...] = ()

    @property
    def app(self) -> str:
        """The app the flow belongs to: the side that is not GHL."""
        return self.target_provider if self.source_provider == "ghl" else self.source_provider

    @property
    def direction(self) -> str:
        return FROM_GHL if self.source_provider == "ghl" else TO_GHL
