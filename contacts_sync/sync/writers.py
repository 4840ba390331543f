"""Target writers that are not GHL: the target app's own connector.write (e.g. a Hubstaff task), and the status
of a record another sync mirrored (a GHL task completed -> its Hubstaff task completed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contacts_sync.apiclient.errors import NotFoundError
from contacts_sync.connectors.base import NothingToWrite, TargetGone


class AppWriter:
    """Pushes a mapped payload through `connector.write(object_kind, payload, target_id, options)`."""

    needs_parent = False

    def __init__(self, connector: Any, object_kind: str, options: dict[str, Any]) -> None:
        if not hasattr(connector, "write"):
            raise ValueError(f"{getattr(connector, 'provider', 'this app')} cannot be written to")
        self.connector = connector
        self.object_kind = object_kind
        self.options = options

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None = None,
        adopt_since: datetime | None = None,
        taken: Any = None,
    ) -> tuple[str, bool]:
        try:
            target, created = self.connector.write(self.object_kind, payload, target_id=target_id, options=self.options)
        except NotFoundError:
            if target_id:
                raise TargetGone(f"{self.connector.provider} {self.object_kind} {target_id} was deleted") from None
            raise
        return str(target), bool(created)

    def delete(self, target_id: str) -> None:
        remove = getattr(self.connector, "delete", None)
        if remove is None:
            raise ValueError(f"{self.connector.provider} {self.object_kind} records cannot be deleted from here")
        remove(self.object_kind, target_id, options=self.options)

    def read_back(self, target_id: str) -> dict[str, Any]:
        read_one = getattr(self.connector, "read_one", None)
        if read_one is None:
            raise NotImplementedError(f"{self.connector.provider} {self.object_kind} records cannot be read back")
        return dict(read_one(self.object_kind, target_id))


class MirrorStatusWriter:
    """Sets the status of the target-app record that another sync mirrored into the source: a GHL task completed
    in HighLevel completes the Hubstaff task it was made from (the task's id is the mapped `counterpart_id`,
    found by sync.mirror from that sync's links). It never creates a record, and writes only when the status
    differs (`connector.status_set` reads the record first, Hubstaff's lock_version included). The mapped
    `summary` (required by the Hubstaff task fields) is shown on the run item, never written; there is no
    read-back: the status read before each write is the check."""

    needs_parent = False

    def __init__(self, connector: Any, object_kind: str, options: dict[str, Any]) -> None:
        if not hasattr(connector, "status_set"):
            raise ValueError(f"{getattr(connector, 'provider', 'this app')} {object_kind} status cannot be set")
        self.connector = connector
        self.object_kind = object_kind
        self.options = options

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None = None,
        adopt_since: datetime | None = None,
        taken: Any = None,
    ) -> tuple[str, bool]:
        record_id = str(target_id or payload.get("counterpart_id") or "")
        status = str(payload.get("status") or "")
        if not record_id:
            raise NothingToWrite(f"Not a mirror of a {self.connector.provider} {self.object_kind}: nothing to set.")
        if not status:
            raise ValueError("the mapped status is empty")
        try:
            changed = self.connector.status_set(self.object_kind, record_id, status)
        except NotFoundError:
            raise TargetGone(f"{self.connector.provider} {self.object_kind} {record_id} was deleted") from None
        if not changed:
            raise NothingToWrite(
                f"The {self.connector.provider} {self.object_kind} is already {status}.", target_id=record_id
            )
        return record_id, False
