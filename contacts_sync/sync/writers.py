"""Target writers that are not GHL: the target app's own WritableConnector (e.g. a Hubstaff task)."""

from __future__ import annotations

from typing import Any


class AppWriter:
    """Pushes a mapped payload through `WritableConnector.write(object_kind, payload, target_id, options)`."""

    needs_parent = False

    def __init__(self, connector: Any, object_kind: str, options: dict[str, Any]) -> None:
        if not hasattr(connector, "write"):
            raise ValueError(f"{getattr(connector, 'provider', 'this app')} cannot be written to")
        self.connector = connector
        self.object_kind = object_kind
        self.options = options

    def push(self, payload: dict[str, Any], *, target_id: str | None, parent_id: str | None = None,
             adopt: bool = False) -> tuple[str, bool]:
        target, created = self.connector.write(self.object_kind, payload, target_id=target_id, options=self.options)
        return str(target), bool(created)
