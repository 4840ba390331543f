from __future__ import annotations

from .alerts import (
    Alert,
    AlertChannel,
    AlertState,
    ChannelKind,
    Component,
    ComponentStatus,
    Notification,
    StatusChange,
)
from .audit import AuditEntry
from .connections import AuthKind, Connection, ConnectionStatus, Provider
from .events import EventStatus, InboundEvent
from .ops import WorkerPing
from .runs import (
    ACTIVE_RUN_STATUSES,
    STALLED_AFTER_SECONDS,
    ApiCall,
    ItemAction,
    RecordLink,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
)
from .syncs import DeletePolicy, MappingVersion, ObjectKind, Sync, SyncHealth, SyncMode

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "Alert",
    "AlertChannel",
    "AlertState",
    "ApiCall",
    "AuditEntry",
    "AuthKind",
    "ChannelKind",
    "DeletePolicy",
    "Connection",
    "ConnectionStatus",
    "EventStatus",
    "InboundEvent",
    "ItemAction",
    "MappingVersion",
    "Notification",
    "ObjectKind",
    "Provider",
    "RecordLink",
    "Run",
    "RunItem",
    "RunStatus",
    "RunTrigger",
    "STALLED_AFTER_SECONDS",
    "StatusChange",
    "Component",
    "ComponentStatus",
    "Sync",
    "SyncHealth",
    "SyncMode",
    "WorkerPing",
]
