"""Custom app ("Your App") connector: REST polling with a `since` cursor, and HMAC-signed webhooks.

Connection: base_url (required, e.g. "https://app.example.com/api" or "http://127.0.0.1:8010/custom"),
secrets {"api_token", "webhook_secret"}, config {"paths": {"contact": "/records", "task": "/tasks", ...}}
(default: contacts at /records). The app answers `GET <path>?since=<ISO>&limit=&cursor=` with
{"data": [...], "next_cursor": str|null}, as ../shared/reference/source-apps.md section 5 recommends.
"""

from __future__ import annotations

from contacts_sync.connectors.base import ConnectionInfo

from .client import CustomAppClient
from .connector import CustomAppConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC
from .webhooks import parse_webhook, verify_webhook


def connector(info: ConnectionInfo) -> CustomAppConnector:
    return CustomAppConnector(info)


__all__ = [
    "MAPPINGS",
    "RECIPES",
    "SPEC",
    "CustomAppClient",
    "CustomAppConnector",
    "connector",
    "parse_webhook",
    "verify_webhook",
]
