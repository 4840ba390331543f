"""Hubstaff as the product knows it: how to connect, what can be read and written, limits, webhooks."""

from __future__ import annotations

from contacts_sync.connectors.spec import OAUTH2, AppSpec, ConnectOption, SecretField, WebhookSpec

from .webhooks import EVENT_OBJECTS, handshake_response, parse_webhook, verify_webhook

SPEC = AppSpec(
    key="hubstaff",
    title="Hubstaff",
    connect=(
        ConnectOption(
            key="hubstaff",
            provider="hubstaff",
            auth_kind=OAUTH2,
            title="Hubstaff",
            secrets=(
                SecretField(
                    "refresh_token",
                    "Personal access token",
                    "From developer.hubstaff.com/personal_access_tokens. It is exchanged for access tokens and "
                    "rotates on every exchange; we store each new one.",
                ),
            ),
            account_label="Organization ID",
            account_required=True,
            emulator_path="/hubstaff",
        ),
    ),
    objects_read=("contact", "task", "note"),
    objects_write=("task",),
    # 1,000 requests per hour per application (developer.hubstaff.com); spent through the shared Redis budget.
    rate_limits=((1000, 3600.0),),
    rate_limit_setting="rate_limit_per_hour",
    webhook=WebhookSpec(
        scheme="hmac-sha256-hex",
        verify=verify_webhook,
        parse=parse_webhook,
        handshake=handshake_response,
        event_objects=EVENT_OBJECTS,
        registrable=True,
    ),
    docs="docs/apps/hubstaff.md",
)
