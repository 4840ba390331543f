"""Real parts for the integrity tests: records pushed into the custom-app emulator (any shape, hostile ones
included), a custom-app -> GHL contact sync, and what the GHL emulator received and holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contacts_sync import models as m
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory
from tests.sync.world import limits_off


def custom_records(sandbox: Any, records: list[dict[str, Any]]) -> None:
    """Replace every record of the custom app with these (each needs an "id")."""
    sandbox.admin("POST", "/custom/_admin/clear")
    for record in records:
        sandbox.admin("POST", "/custom/_admin/records", json=record)


def custom_sync(sandbox: Any, *, page_limit: int = 50, location: str | None = None, **fields: Any) -> m.Sync:
    limits_off(sandbox)
    app = ConnectionFactory(
        name="Your app",
        provider=m.Provider.CUSTOM,
        auth_kind=m.AuthKind.WEBHOOK_SECRET,
        base_url=f"{sandbox.url}/custom",
        secrets={"api_token": "custom-sandbox-token"},
    )
    ghl = ConnectionFactory(
        name="GHL sandbox",
        provider=m.Provider.GHL,
        auth_kind=m.AuthKind.PRIVATE_TOKEN,
        external_account_id=location or sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
        config={"rate_limit_per_10s": 0, "http_timeout_s": 5},
    )
    sync = sync_create_from_recipe(
        recipe="custom_contact_to_ghl_contact",
        name="custom -> ghl",
        source_connection=app,
        target_connection=ghl,
        options={"page_limit": page_limit},
        live=True,
    )
    if fields:
        m.Sync.objects.filter(pk=sync.pk).update(**fields)
        sync.refresh_from_db()
    return sync


def ghl_writes(sandbox: Any, since: int = 0) -> list[dict[str, Any]]:
    """Every write the GHL emulator accepted (2xx, not faulted), from byte `since` of its record file."""
    path = Path(sandbox.record_path)
    out = []
    with path.open("rb") as handle:
        handle.seek(since)
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("kind") != "http" or row.get("method") in ("GET", None):
                continue
            if str(row.get("path", "")).endswith("/search") or row.get("fault"):
                continue
            if 200 <= int(row.get("status") or 0) < 300:
                out.append(row)
    return out


def record_offset(sandbox: Any) -> int:
    path = Path(sandbox.record_path)
    return path.stat().st_size if path.exists() else 0
