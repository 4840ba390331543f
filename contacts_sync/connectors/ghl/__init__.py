"""HighLevel (LeadConnector API v2): the client, OAuth, the error tree, webhooks, and GHL as a source and as the
target of every sync. No ORM, no Celery."""

from __future__ import annotations

from contacts_sync.connectors.base import ConnectionInfo

from .agency import GHLAgencyConnector
from .auth import build_client
from .client import GHLClient
from .reader import GHLConnector
from .spec import SPEC

# GHL is the hub every flow starts or ends at: the flows themselves belong to the other apps' packages.
RECIPES = ()
MAPPINGS: dict[tuple[str, str, str, str], list[dict[str, object]]] = {}


def is_agency(info: ConnectionInfo) -> bool:
    """An agency (Company) connection: a company id and no location of its own."""
    return bool(info.company_id) and not info.account_id


def connector(info: ConnectionInfo) -> GHLConnector | GHLAgencyConnector:
    return GHLAgencyConnector(info) if is_agency(info) else GHLConnector(info)


__all__ = [
    "MAPPINGS",
    "RECIPES",
    "SPEC",
    "GHLAgencyConnector",
    "GHLClient",
    "GHLConnector",
    "build_client",
    "connector",
    "is_agency",
]
