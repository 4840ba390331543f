"""The alert list and the channels page."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from contacts_sync.models import Alert, AlertChannel, AlertState, Notification


def alert_list(*, state: str = "") -> QuerySet[Alert]:
    qs = (
        Alert.objects.select_related("sync", "connection", "acknowledged_by", "opened_by")
        .annotate(sent=Count("opened_by__notifications", filter=Q(opened_by__notifications__ok=True)),
                  send_failed=Count("opened_by__notifications", filter=Q(opened_by__notifications__ok=False)))
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


