"""HotspotSystem (API v2.0, read-only): Wi-Fi customers -> contacts, transactions -> notes.

Connection: secrets {"api_key"}; account_id = the operator name (from /me); base_url "" for production or
"http://127.0.0.1:8010/hotspotsystem" for the sandbox. Facts: ../shared/reference/source-apps.md section 2.
"""

from __future__ import annotations

from contacts_sync.connectors.base import ConnectionInfo

from .client import HotspotSystemClient
from .connector import HotspotSystemConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC


def connector(info: ConnectionInfo) -> HotspotSystemConnector:
    return HotspotSystemConnector(info)


__all__ = ["MAPPINGS", "RECIPES", "SPEC", "HotspotSystemClient", "HotspotSystemConnector", "connector"]
