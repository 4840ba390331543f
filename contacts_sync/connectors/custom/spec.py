"""Your app as the product knows it: how to connect, its webhooks."""

from __future__ import annotations

from contacts_sync.connectors.spec import WEBHOOK_SECRET, AppSpec, ConnectOption, SecretField, WebhookSpec

from .webhooks import EVENT_OBJECTS, parse_webhook, verify_webhook

SPEC = AppSpec(
    key="custom",
    title="Custom app",
    connect=(
        ConnectOption(
            key="custom",
            provider="custom",
            auth_kind=WEBHOOK_SECRET,
            title="Custom app",
            secrets=(
                SecretField("api_token", "API token", "Sent as a Bearer token when we call your app's REST API."),
            ),
            account_label="Account ID (optional)",
            base_url_required=True,
            emulator_path="/custom",
            help="We generate the webhook signing secret (Standard Webhooks) and show it once.",
        ),
    ),
    objects_read=("contact", "task", "note"),
    webhook=WebhookSpec(
        scheme="standard-webhooks", verify=verify_webhook, parse=parse_webhook, event_objects=EVENT_OBJECTS
    ),
    docs="docs/apps/custom.md",
)
