"""Hubstaff: clients/members -> contacts, tasks (read and write), notes; REST-hook webhooks.

Connection: account_id = organization id; secrets {"refresh_token": <personal access token>} (the rotated
refresh token and the access token are saved back through ConnectionInfo.token_store); base_url "" for
production or "http://127.0.0.1:8010/hubstaff" for the sandbox; config {"project_id": N} for task writes,
{"rate_limit_per_hour": N} to change the 1,000/h budget (0 = no budget).
"""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.base import ConnectionInfo

from .client import HubstaffClient, TokenRefreshError, build_client
from .connector import HubstaffConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC
from .webhooks import handshake_response, parse_webhook, verify_webhook


class HubstaffWebhookConnector(HubstaffConnector):
    """The connector plus the calls that register our webhook URL with Hubstaff."""

    def create_webhook(self, *, target_url: str, events: list[str] | None = None) -> dict[str, Any]:
        return self.client.create_webhook(self._org(), target_url=target_url, events=events)

    def activate_webhook(self, webhook_id: str, secret: str) -> dict[str, Any]:
        return self.client.activate_webhook(webhook_id, secret)


def connector(info: ConnectionInfo) -> HubstaffWebhookConnector:
    return HubstaffWebhookConnector(info)


__all__ = [
    "MAPPINGS",
    "RECIPES",
    "SPEC",
    "HubstaffClient",
    "HubstaffConnector",
    "HubstaffWebhookConnector",
    "TokenRefreshError",
    "build_client",
    "connector",
    "handshake_response",
    "parse_webhook",
    "verify_webhook",
]
