"""starbuero.de as the product knows it: how to connect, what can be read."""

from __future__ import annotations

from contacts_sync.connectors.spec import API_KEY, AppSpec, ConnectOption, SecretField

SPEC = AppSpec(
    key="starbuero",
    title="starbuero.de",
    connect=(
        ConnectOption(
            key="starbuero",
            provider="starbuero",
            auth_kind=API_KEY,
            title="starbuero.de",
            secrets=(SecretField("api_token", "API token", "Issued by starbuero on request."),),
            account_label="Customer number (optional)",
            emulator_path="/starbuero",
        ),
    ),
    objects_read=("contact", "note", "task"),
    docs="docs/apps/starbuero.md",
)
