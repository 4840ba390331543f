"""UpGuard CyberRisk connector: vendor contacts (with their vendor and its labels) -> contacts; vendor risks ->
tasks; notifications -> notes.

Connection: secrets {"api_key"} (sent raw in `Authorization`, no "Bearer"; it needs the VendorRisk permission);
base_url "" for production or "http://127.0.0.1:8010/upguard" for the sandbox. Options: {"source": "vendors"}
reads monitored vendors instead of their contacts; {"labels": [...]} filters vendors by label.
Facts: ../shared/reference/source-apps.md section 3 and ../shared/specs/upguard/.
"""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.base import ConnectionInfo

from .client import UpGuardClient
from .connector import UpGuardConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC


class UpGuardWebhookConnector(UpGuardConnector):
    """The connector plus the call that registers our webhook URL with UpGuard (every notification type)."""

    def create_webhook(self, *, target_url: str, events: list[str] | None = None) -> dict[str, Any]:
        types = events or self.client.notification_types()
        hook = self.client.create_webhook(name="contacts-sync", hook_url=target_url, notification_type_ids=types)
        # UpGuard shows the signing secret once, in this answer (v1.13.2): the caller stores it at once.
        return {"id": hook["id"], "secret": hook.get("signing_secret") or ""}


def connector(info: ConnectionInfo) -> UpGuardWebhookConnector:
    return UpGuardWebhookConnector(info)


__all__ = ["MAPPINGS", "RECIPES", "SPEC", "UpGuardClient", "UpGuardConnector", "UpGuardWebhookConnector", "connector"]
