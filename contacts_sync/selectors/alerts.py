"""The alert list and the channels page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts_sync.alerts.rules import is_muted, stale_after, thresholds_of
from contacts_sync.models import (
    Alert,
    AlertChannel,
    AlertRule,
    AlertState,
    Notification,
    NotificationPurpose,
    Sync,
)


def alert_list(*, state: str = "") -> QuerySet[Alert]:
    """Alerts newest first, each with its deliveries over every change it covered (opened, escalated,
    reminders, late), not only its opening change's."""
    ok = Q(notifications__ok=True)
    qs = (
        Alert.objects.select_related("sync", "sync__alert_rule", "connection", "acknowledged_by", "opened_by")
        .annotate(
            sent=Count("notifications__channel", filter=ok, distinct=True),
            send_failed=Count("notifications", filter=Q(notifications__ok=False), distinct=True),
            reminders=Count(
                "notifications", filter=ok & Q(notifications__purpose=NotificationPurpose.REMINDER), distinct=True
            ),
        )
        .order_by("-opened_at")
    )
    if state == "unresolved":
        return qs.exclude(state=AlertState.RESOLVED)
    if state in AlertState.values:
        return qs.filter(state=state)
    return qs


def channel_list() -> list[AlertChannel]:
    last_notifications = Notification.objects.filter(channel=OuterRef("pk")).order_by("-created_at")
    return list(
        AlertChannel.objects.annotate(
            sent=Count("notifications", filter=Q(notifications__ok=True)),
            failed=Count("notifications", filter=Q(notifications__ok=False)),
            last_ok=Subquery(last_notifications.values("ok")[:1]),
        ).order_by("name")
    )


@dataclass
class RuleRow:
    """One sync on the alert rules page: its effective thresholds (seconds for the `duration` filter)."""

    sync: Sync
    rule: AlertRule | None
    failed_share_percent: int
    failing_after_runs: int
    stale_after_seconds: int | None
    stale_is_default: bool
    slow_after_seconds: int | None
    renotify_seconds: int | None
    channels: list[str]
    muted_until: datetime | None
    open_alerts: int


def alert_rule_rows(*, now: datetime | None = None) -> list[RuleRow]:
    """Every sync with the alert rule it runs under (its own, or the defaults)."""
    now = now or timezone.now()
    syncs = (
        Sync.objects.select_related("alert_rule", "source_connection", "target_connection")
        .annotate(open_alerts=Count("alerts", filter=~Q(alerts__state=AlertState.RESOLVED), distinct=True))
        .order_by("name")
    )
    channel_names: dict[int, list[str]] = {}
    for rule_id, name in AlertRule.channels.through.objects.values_list("alertrule_id", "alertchannel__name"):
        channel_names.setdefault(rule_id, []).append(name)
    rows = []
    for sync in syncs:
        rule = getattr(sync, "alert_rule", None)
        limits = thresholds_of(rule)
        stale = stale_after(
            poll_interval_seconds=sync.poll_interval_seconds, stale_after_seconds=limits.stale_after_seconds
        )
        muted = rule.muted_until if rule is not None and is_muted(now=now, muted_until=rule.muted_until) else None
        rows.append(
            RuleRow(
                sync=sync,
                rule=rule,
                failed_share_percent=round(limits.degraded_ratio * 100),
                failing_after_runs=limits.failing_after,
                stale_after_seconds=stale,
                stale_is_default=limits.stale_after_seconds is None,
                slow_after_seconds=limits.slow_after_seconds,
                renotify_seconds=rule.renotify_hours * 3600 if rule is not None and rule.renotify_hours else None,
                channels=sorted(channel_names.get(rule.pk, [])) if rule is not None else [],
                muted_until=muted,
                open_alerts=sync.open_alerts,
            )
        )
    return rows
