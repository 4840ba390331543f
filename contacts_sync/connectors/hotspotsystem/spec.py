"""HotspotSystem as the product knows it: how to connect, what can be read."""

from __future__ import annotations

from contacts_sync.connectors.spec import API_KEY, AppSpec, ConnectOption, SecretField

SPEC = AppSpec(
    key="hotspotsystem",
    title="HotspotSystem",
    connect=(
        ConnectOption(
            key="hotspotsystem",
            provider="hotspotsystem",
            auth_kind=API_KEY,
            title="HotspotSystem",
            secrets=(SecretField("api_key", "API key", "Control Center → Tools & Settings → API Keys."),),
            account_label="Account ID (optional)",
            emulator_path="/hotspotsystem",
        ),
    ),
    objects_read=("contact", "note"),
    docs="docs/apps/hotspotsystem.md",
)
