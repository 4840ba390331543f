"""starbuero.de connector: call records -> contacts (new leads) and notes (message/transcript); call-back tasks.

Connection: secrets {"api_token"} (Bearer); base_url "" for production or "http://127.0.0.1:8010/starbuero" for
the sandbox. Objects: contact (call records; {"source": "contacts"} reads the caller address book instead),
note (call records), task (call-back tasks; {"task_status": "completed"} for the "task completed" recipe).
The API is documented only by a community client, so the record shapes follow the emulator's documented
assumptions (docs/adding-a-connector.md).
"""

from __future__ import annotations

from contacts_sync.connectors.base import ConnectionInfo

from .client import StarbueroClient
from .connector import StarbueroConnector
from .recipes import MAPPINGS, RECIPES
from .spec import SPEC


def connector(info: ConnectionInfo) -> StarbueroConnector:
    return StarbueroConnector(info)


__all__ = ["MAPPINGS", "RECIPES", "SPEC", "StarbueroClient", "StarbueroConnector", "connector"]
