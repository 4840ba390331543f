"""HighLevel as the product knows it: how to connect (private token here; OAuth has its own flow), objects,
its per-location limits and its app-level signed webhooks."""

from __future__ import annotations

from contacts_sync.connectors.spec import PRIVATE_TOKEN, AppSpec, ConnectOption, SecretField, WebhookSpec

from .client import GHL_LIMITS
from .links import record_url
from .webhooks import EVENT_OBJECTS

SPEC = AppSpec(
    key="ghl",
    title="HighLevel",
    connect=(
        ConnectOption(
            key="ghl_pit",
            provider="ghl",
            auth_kind=PRIVATE_TOKEN,
            title="HighLevel (private integration token)",
            secrets=(
                SecretField("access_token", "Private integration token", "Sub-account level token, starts with pit-."),
            ),
            account_label="Location ID",
            account_required=True,
            emulator_path="/ghl",
            help="Settings → Private Integrations in the HighLevel sub-account. Grant the scopes listed below.",
        ),
    ),
    objects_read=("contact", "task", "note", "appointment", "business"),
    objects_write=("contact", "task", "note", "tag"),
    rate_limits=tuple(GHL_LIMITS),
    rate_limit_setting="rate_limit_per_10s",
    # Signed with HighLevel's key for the whole Marketplace app (not per connection): see webhooks.verify.
    webhook=WebhookSpec(scheme="ghl-ed25519", event_objects=EVENT_OBJECTS),
    docs="docs/apps/ghl.md",
    # Contacts are searched by dateUpdated; tasks and appointments are compared with it (reader.py).
    change_paths={"contact": "dateUpdated", "task": "dateUpdated", "appointment": "dateUpdated"},
    record_url=record_url,
)
