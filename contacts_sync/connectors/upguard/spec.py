"""UpGuard as the product knows it: how to connect, what can be read, its (undocumented) limit."""

from __future__ import annotations

from contacts_sync.connectors.spec import API_KEY, AppSpec, ConnectOption, SecretField, WebhookSpec

from .webhooks import EVENT_OBJECTS, parse_webhook, verify_webhook

SPEC = AppSpec(
    key="upguard",
    title="UpGuard",
    connect=(
        ConnectOption(
            key="upguard",
            provider="upguard",
            auth_kind=API_KEY,
            title="UpGuard",
            secrets=(
                SecretField("api_key", "API key", "CyberRisk → Account Settings → API. Give it VendorRisk access."),
            ),
            account_label="Account name (optional)",
            emulator_path="/upguard",
        ),
    ),
    objects_read=("contact", "task", "note"),
    # UpGuard publishes no number, only 429s; a conservative default budget, changeable per connection.
    rate_limits=((600, 60.0),),
    rate_limit_setting="rate_limit_per_minute",
    # Registered through the API (POST /webhooks answers the signing secret, stored on the connection).
    webhook=WebhookSpec(
        scheme="hmac-sha256-hex",
        verify=verify_webhook,
        parse=parse_webhook,
        event_objects=EVENT_OBJECTS,
        registrable=True,
    ),
    docs="docs/apps/upguard.md",
)
