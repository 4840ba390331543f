"""UpGuard CyberRisk connector: vendor contacts (with their vendor and its labels) -> contacts; vendor risks ->
tasks; notifications -> notes.

Connection: secrets {"api_key"} (sent raw in `Authorization`, no "Bearer"; it needs the VendorRisk permission);
base_url "" for production or "http://127.0.0.1:8010/upguard" for the sandbox. Options: {"source": "vendors"}
reads monitored vendors instead of their contacts; {"labels": [...]} filters vendors by label.
Facts: ../shared/reference/source-apps.md section 3 and ../shared/specs/upguard/.
"""

from __future__ import annotations

from contacts_sync.connectors.base import ConnectionInfo

from .client import UpGuardClient
from .connector import UpGuardConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC


def connector(info: ConnectionInfo) -> UpGuardConnector:
    return UpGuardConnector(info)


__all__ = ["MAPPINGS", "RECIPES", "SPEC", "UpGuardClient", "UpGuardConnector", "connector"]
