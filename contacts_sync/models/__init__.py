from __future__ import annotations

from .agencies import AgencyLocation, SyncTemplate, SyncTemplateMember
from .alerts import (
    Alert,
    AlertChannel,
    AlertRule,
    AlertState,
    ChannelKind,
    Component,
    ComponentStatus,
    Notification,
    NotificationPurpose,
    StatusChange,
)
from .audit import AuditEntry
from .connections import AuthKind, Connection, ConnectionStatus, PendingOAuthGrant, Provider
from .events import EventStatus, InboundEvent
from .ops import WorkerPing
from .outbox import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
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
    SyncEvent,
)
from .syncs import DeletePolicy, MappingVersion, ObjectKind, Sync, SyncHealth, SyncMode

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "STALLED_AFTER_SECONDS",
    "AgencyLocation",
    "Alert",
    "AlertChannel",
    "AlertRule",
    "AlertState",
    "ApiCall",
    "AuditEntry",
    "AuthKind",
    "ChannelKind",
    "Component",
    "ComponentStatus",
    "Connection",
    "ConnectionStatus",
    "DeletePolicy",
    "DeliveryStatus",
    "EventStatus",
    "InboundEvent",
    "ItemAction",
    "MappingVersion",
    "Notification",
    "NotificationPurpose",
    "ObjectKind",
    "PendingOAuthGrant",
    "Provider",
    "RecordLink",
    "Run",
    "RunItem",
    "RunStatus",
    "RunTrigger",
    "StatusChange",
    "Sync",
    "SyncEvent",
    "SyncHealth",
    "SyncMode",
    "SyncTemplate",
    "SyncTemplateMember",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerPing",
]
