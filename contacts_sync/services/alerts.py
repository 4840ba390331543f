"""Turn status changes into alerts and notifications (healthchecks' sender), and let people ack / resolve alerts.

- A sender claims each unprocessed StatusChange with a conditional UPDATE (processed IS NULL -> now), so two
  workers never send the same change twice.
- A problem opens an Alert and notifies every enabled channel; a return to healthy resolves it and sends a
  recovery message. Flap suppression: at most one alert per sync (or connection) per ALERT_FLAP_WINDOW.
- One Notification row per send, with its error; a permanent TransportError disables the channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from contacts_sync.alerts import rules
from contacts_sync.alerts.transports import AlertMessage, TransportError, transport_for
from contacts_sync.logging import log_context
from contacts_sync.models import (
    Alert,
    AlertChannel,
    AlertState,
    Component,
    ComponentStatus,
    Notification,
    StatusChange,
    SyncHealth,
)
from contacts_sync.services.audit import audit_record

log = logging.getLogger(__name__)

# Flap suppression: a sync that fails, recovers and fails again inside this window reopens its alert quietly
# instead of paging people again. 15 minutes by default; ALERT_FLAP_WINDOW_SECONDS in settings overrides it.
DEFAULT_FLAP_WINDOW_SECONDS = 900
# One sender pass handles at most this many changes; the rest wait for the next pass (keeps a task short).
SEND_BATCH_LIMIT = 200


def flap_window() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "ALERT_FLAP_WINDOW_SECONDS", DEFAULT_FLAP_WINDOW_SECONDS)))


@dataclass
class SendResult:
    claimed: int = 0
    notified: int = 0
    failed: int = 0
    suppressed: int = 0


@dataclass
class _Named:
    """A background component as an alert's subject (it has a name like a sync, and no row)."""

    name: str
    pk: str


def _subject_of(change: StatusChange) -> tuple[str, Any]:
    if change.component:
        return "component", _Named(name=Component(change.component).label, pk=change.component)
    if change.sync_id:
        return "sync", change.sync
    return "connection", change.connection


def _absolute(path: str) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{path}" if base else path


def _message(change: StatusChange, *, recovery: bool) -> AlertMessage:
    kind, obj = _subject_of(change)
    name = getattr(obj, "name", "?")
    if kind == "sync":
        label = SyncHealth(change.new_status).label if change.new_status in SyncHealth.values else change.new_status
    else:
        label = change.new_status.replace("_", " ")
    if recovery:
        subject = f"[resolved] {kind} {name} is {label.lower()} again"
    elif change.new_status in _VERBS:
        subject = f"[{label.lower()}] {kind} {name} {_VERBS[change.new_status]}"
    else:
        subject = f"[{label.lower()}] {kind} {name}"
    text = f"{kind.capitalize()} {name!r}: {change.old_status} -> {change.new_status}."
    if change.reason:
        text += f"\nReason: {change.reason}"
    url = ""
    try:
        if kind == "sync" and change.run_id:
            url = _absolute(reverse("dashboard:run_detail", args=[change.run_id]))
        else:
            url = _absolute(reverse("dashboard:overview"))
    except NoReverseMatch:
        url = ""
    event = {"type": "sync.recovered" if recovery else "sync.status_changed",
             "subject": kind, "id": obj.pk if obj else None, "name": name,
             "old_status": change.old_status, "new_status": change.new_status, "reason": change.reason,
             "run_id": change.run_id, "status_change_id": change.pk,
             "at": change.created_at.isoformat() if change.created_at else None}
    if kind == "connection":
        event["type"] = "connection.recovered" if recovery else "connection.status_changed"
    if kind == "component":
        event["type"] = "component.recovered" if recovery else "component.status_changed"
    return AlertMessage(subject=subject, text=text, event=event, url=url)


def notification_send(*, channel: AlertChannel, message: AlertMessage, change: StatusChange | None = None,
                      is_test: bool = False) -> Notification:
    """Send through one channel; one Notification row with the error; a permanent error disables the channel."""
    now = timezone.now()
    try:
        transport_for(channel.kind).send(channel, message)
    except TransportError as exc:
        error = str(exc)[:2000] or exc.__class__.__name__
        fields = {"last_error": error}
        if exc.permanent:
            fields |= {"enabled": False, "disabled_reason": f"disabled after a permanent error: {error}"[:2000]}
        AlertChannel.objects.filter(pk=channel.pk).update(**fields)
        for k, v in fields.items():
            setattr(channel, k, v)
        log.warning("alert channel %s failed (permanent=%s): %s", channel.pk, exc.permanent, error)
        return Notification.objects.create(channel=channel, status_change=change, is_test=is_test, ok=False,
                                           error=error)
    AlertChannel.objects.filter(pk=channel.pk).update(last_notify_at=now)
    channel.last_notify_at = now
    return Notification.objects.create(channel=channel, status_change=change, is_test=is_test, ok=True)


def _notify_all(change: StatusChange, message: AlertMessage, result: SendResult) -> None:
    for channel in AlertChannel.objects.filter(enabled=True).order_by("pk"):
        n = notification_send(channel=channel, message=message, change=change)
        if n.ok:
            result.notified += 1
        else:
            result.failed += 1


def _same_subject(qs: Any, change: StatusChange) -> Any:
    if change.component:
        return qs.filter(component=change.component)
    return qs.filter(sync_id=change.sync_id) if change.sync_id else qs.filter(connection_id=change.connection_id)


def _open_alert_for(change: StatusChange) -> Alert | None:
    qs = _same_subject(Alert.objects.select_for_update().exclude(state=AlertState.RESOLVED), change)
    return qs.order_by("-opened_at").first()


def _recent_alert_for(change: StatusChange, since: Any) -> Alert | None:
    qs = _same_subject(Alert.objects.select_for_update().filter(last_notified_at__gte=since), change)
    return qs.order_by("-last_notified_at").first()


_VERBS = {"needs_reauth": "needs re-authorization", "error": "has an error", "down": "stopped"}


def _title(change: StatusChange) -> str:
    _, obj = _subject_of(change)
    verb = _VERBS.get(change.new_status, f"is {change.new_status.replace('_', ' ')}")
    return f"{getattr(obj, 'name', '?')} {verb}" + (f": {change.reason}" if change.reason else "")


def _handle_problem(change: StatusChange, result: SendResult) -> AlertMessage | None:
    now = timezone.now()
    window_start = now - flap_window()
    alert = _open_alert_for(change)
    if alert is not None:
        # Already open (degraded -> failing, say): one alert, escalated; notify only outside the flap window.
        alert.title = _title(change)[:300]
        notify = alert.last_notified_at is None or alert.last_notified_at < window_start
        if notify:
            alert.last_notified_at, alert.suppressed = now, False
        alert.save(update_fields=["title", "last_notified_at", "suppressed"])
    else:
        recent = _recent_alert_for(change, window_start)
        if recent is not None:
            # Flapping: reopen the alert quietly; its recovery will be quiet too.
            recent.state, recent.resolved_at, recent.suppressed = AlertState.OPEN, None, True
            recent.acknowledged_at, recent.acknowledged_by = None, None
            recent.title = _title(change)[:300]
            recent.save(update_fields=["state", "resolved_at", "suppressed", "acknowledged_at",
                                       "acknowledged_by", "title"])
            notify = False
        else:
            Alert.objects.create(sync_id=change.sync_id, connection_id=change.connection_id,
                                 component=change.component, opened_by=change, title=_title(change)[:300],
                                 last_notified_at=now)
            notify = True
    if notify:
        return _message(change, recovery=False)
    result.suppressed += 1
    log.info("status change %s not announced (flap window)", change.pk)
    return None


def _handle_recovery(change: StatusChange, result: SendResult) -> AlertMessage | None:
    alert = _open_alert_for(change)
    if alert is None:
        return None  # nobody was told about a problem (or it was resolved by hand): nothing to recover from
    alert.state, alert.resolved_at = AlertState.RESOLVED, timezone.now()
    alert.save(update_fields=["state", "resolved_at"])
    if alert.suppressed:
        result.suppressed += 1
        return None
    return _message(change, recovery=True)


def status_change_process(*, change: StatusChange, result: SendResult | None = None) -> SendResult:
    result = result or SendResult()
    is_conn = change.connection_id is not None and change.sync_id is None
    if change.component:  # workers / beat: down is the problem, back up the recovery
        problem = change.new_status == ComponentStatus.DOWN
        recovery = change.old_status == ComponentStatus.DOWN and change.new_status == ComponentStatus.UP
    else:
        problem = rules.is_problem(new_status=change.new_status, is_connection=is_conn)
        recovery = rules.is_recovery(old_status=change.old_status, new_status=change.new_status,
                                     is_connection=is_conn)
    message = None
    with log_context(run_id=change.run_id, sync_id=change.sync_id):
        with transaction.atomic():  # decide under the alert row lock; send after it is released
            if problem:
                message = _handle_problem(change, result)
            elif recovery:
                message = _handle_recovery(change, result)
        if message is not None:
            _notify_all(change, message, result)
    return result


def status_changes_send_pending(*, limit: int = SEND_BATCH_LIMIT) -> SendResult:
    """Claim unprocessed status changes one by one (conditional UPDATE) and process them in order."""
    result = SendResult()
    todo = list(StatusChange.objects.filter(processed__isnull=True).order_by("created_at", "pk")
                .values_list("pk", flat=True)[:limit])
    for pk in todo:
        if StatusChange.objects.filter(pk=pk, processed__isnull=True).update(processed=timezone.now()) != 1:
            continue  # another sender claimed it
        result.claimed += 1
        change = StatusChange.objects.select_related("sync", "connection").get(pk=pk)
        try:
            status_change_process(change=change, result=result)
        except Exception:
            log.exception("status change %s could not be processed", pk)
    return result


# --- people acting on alerts -------------------------------------------------------------------------


class AlertStateError(Exception):
    """The alert is not in a state that allows this action (e.g. acknowledging a resolved alert)."""


def alert_acknowledge(*, alert: Alert, user: Any) -> Alert:
    updated = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=timezone.now()
    )
    if not updated:
        raise AlertStateError("Only an open alert can be acknowledged.")
    alert.refresh_from_db()
    audit_record(actor=user, action="alert.acknowledge", obj=alert)
    return alert


def alert_resolve(*, alert: Alert, user: Any) -> Alert:
    updated = Alert.objects.filter(pk=alert.pk).exclude(state=AlertState.RESOLVED).update(
        state=AlertState.RESOLVED, resolved_at=timezone.now()
    )
    if not updated:
        raise AlertStateError("This alert is already resolved.")
    alert.refresh_from_db()
    audit_record(actor=user, action="alert.resolve", obj=alert)
    return alert
