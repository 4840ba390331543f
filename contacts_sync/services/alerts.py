"""Turn status changes into alerts and notifications (healthchecks' sender), and let people ack / resolve alerts.

- A sender claims each unprocessed StatusChange with a conditional UPDATE (processed IS NULL -> now), so two
  workers never send the same change twice.
- A problem opens an Alert and notifies the sync's channels (its AlertRule's choice, else every enabled one); a
  return to healthy resolves it and sends a recovery message. Flap suppression: a sync that recovers and fails
  again inside ALERT_FLAP_WINDOW reopens its alert quietly. A move to a worse problem (degraded -> failing) is
  announced; a move to a milder one is not.
- An announcement that may not go out yet (the sync is muted, or no channel is enabled) is held on the alert
  (`held_reason`, `last_notified_at` stays empty); `alerts_sweep` delivers it once it may, and reminds about open,
  unacknowledged alerts every AlertRule.renotify_hours.
- One Notification row per send (linked to its alert), with its error; a permanent TransportError disables the
  channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from contacts_sync.alerts import rules, wording
from contacts_sync.alerts.transports import AlertMessage, TransportError, transport_for
from contacts_sync.logging import log_context
from contacts_sync.models import (
    Alert,
    AlertChannel,
    AlertState,
    Component,
    ComponentStatus,
    ConnectionStatus,
    Notification,
    NotificationPurpose,
    StatusChange,
    SyncHealth,
)
from contacts_sync.services import alert_rules
from contacts_sync.services.audit import audit_record

log = logging.getLogger(__name__)

# Flap suppression: a sync that fails, recovers and fails again inside this window reopens its alert quietly
# instead of paging people again. 15 minutes by default; ALERT_FLAP_WINDOW_SECONDS in settings overrides it.
DEFAULT_FLAP_WINDOW_SECONDS = 900
# One sender pass handles at most this many changes; the rest wait for the next pass (keeps a task short).
SEND_BATCH_LIMIT = 200
# One sweep delivers at most this many held alerts and reminders; the rest wait a minute.
SWEEP_BATCH_LIMIT = 100
# An email subject or a Slack headline longer than this is cut (the title is kept whole in the text).
SUBJECT_MAX = 200


def flap_window() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "ALERT_FLAP_WINDOW_SECONDS", DEFAULT_FLAP_WINDOW_SECONDS)))


@dataclass
class SendResult:
    claimed: int = 0
    notified: int = 0
    failed: int = 0
    suppressed: int = 0
    held: int = 0
    reminded: int = 0


@dataclass
class Delivery:
    """An announcement decided under the alert's row lock, sent after the lock is released."""

    alert: Alert
    change: StatusChange | None
    purpose: str
    channels: list[AlertChannel]
    held_since: str = ""  # why it waited (for a late delivery)


@dataclass
class _Named:
    """A background component (Celery workers, beat) as an alert's subject: a name like a sync's, no row."""

    name: str
    pk: str


def _component(key: str) -> _Named:
    return _Named(name=str(Component(key).label), pk=key)


def _subject_of(change: StatusChange) -> tuple[str, Any]:
    if change.component:
        return "component", _component(change.component)
    if change.sync_id:
        return "sync", change.sync
    return "connection", change.connection


def _subject_of_alert(alert: Alert) -> tuple[str, Any]:
    if alert.component:
        return "component", _component(alert.component)
    return ("sync", alert.sync) if alert.sync_id else ("connection", alert.connection)


def _same_subject(qs: Any, subject: StatusChange | Alert) -> Any:
    if subject.component:
        return qs.filter(component=subject.component)
    return qs.filter(sync_id=subject.sync_id) if subject.sync_id else qs.filter(connection_id=subject.connection_id)


def _app_of(kind: str, obj: Any) -> str:
    """The app a raw error most likely came from: the connection's own, or the sync's target."""
    if obj is None:
        return ""
    connection = obj if kind == "connection" else getattr(obj, "target_connection", None)
    return connection.get_provider_display() if connection is not None else ""


def _headline(change: StatusChange) -> wording.Headline:
    kind, obj = _subject_of(change)
    if kind == "component":  # the workers or beat stopped: the title says which, the reason says since when
        return wording.Headline(title=f"component {obj.name} stopped", detail=change.reason)
    return wording.headline(
        name=getattr(obj, "name", "?"), new_status=change.new_status, reason=change.reason, app=_app_of(kind, obj)
    )


def _absolute(path: str) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{path}" if base else path


def _label(kind: str, status: str) -> str:
    if kind == "sync" and status in SyncHealth.values:
        return str(SyncHealth(status).label).lower()
    if kind == "connection" and status in ConnectionStatus.values:
        return str(ConnectionStatus(status).label).lower()
    return status.replace("_", " ")


def _url(kind: str, change: StatusChange | None) -> str:
    try:
        if kind == "sync" and change is not None and change.run_id:
            return _absolute(reverse("dashboard:run_detail", args=[change.run_id]))
        return _absolute(reverse("dashboard:alert_list"))
    except NoReverseMatch:
        return ""


def _message(delivery: Delivery, *, now: datetime | None = None) -> AlertMessage:
    """Subject = the alert's title in words; text = the title, the change, the technical detail, the link."""
    alert, change, purpose = delivery.alert, delivery.change, delivery.purpose
    kind, obj = _subject_of_alert(alert)
    name = getattr(obj, "name", "?")
    status = change.new_status if change is not None else ""
    label = _label(kind, status)
    if purpose == NotificationPurpose.RECOVERED:
        good = {"connection": "connected", "component": "running"}.get(kind, "healthy")
        subject, title = f"[resolved] {name} is {good} again", f"{name} is {good} again."
    else:
        prefix = f"still {label}" if purpose == NotificationPurpose.REMINDER else label
        subject, title = f"[{prefix}] {alert.title}", alert.title
    lines = [title, ""]
    if change is not None:
        lines.append(f"{kind.capitalize()} {name!r}: {change.old_status} -> {change.new_status}.")
    if alert.detail and purpose != NotificationPurpose.RECOVERED:
        lines.append(f"Details: {alert.detail}")
    if purpose == NotificationPurpose.REMINDER:
        age = int(((now or timezone.now()) - alert.opened_at).total_seconds() // 3600)
        lines.append(f"Open for {age} h. Acknowledge the alert to stop the reminders.")
    if purpose == NotificationPurpose.LATE and delivery.held_since:
        lines.append(f"Held until now: {delivery.held_since}.")
    url = _url(kind, change)
    event = {
        "type": f"{kind}.recovered" if purpose == NotificationPurpose.RECOVERED else f"{kind}.status_changed",
        "purpose": purpose,
        "subject": kind,
        "id": obj.pk if obj is not None else None,
        "name": name,
        "alert_id": alert.pk,
        "title": alert.title,
        "detail": alert.detail,
        "old_status": change.old_status if change else None,
        "new_status": status or None,
        "reason": change.reason if change else "",
        "run_id": change.run_id if change else None,
        "status_change_id": change.pk if change else None,
        "at": change.created_at.isoformat() if change is not None and change.created_at else None,
    }
    one_line = " ".join(subject.split())  # a header may not hold a line break (names are typed by people)
    if len(one_line) > SUBJECT_MAX:
        one_line = one_line[: SUBJECT_MAX - 1] + "…"
    return AlertMessage(subject=one_line, text="\n".join(lines).strip(), event=event, url=url)


def notification_send(
    *,
    channel: AlertChannel,
    message: AlertMessage,
    change: StatusChange | None = None,
    is_test: bool = False,
    alert: Alert | None = None,
    purpose: str = NotificationPurpose.OPENED,
) -> Notification:
    """Send through one channel; one Notification row with the error; a permanent error disables the channel."""
    now = timezone.now()
    purpose = NotificationPurpose.TEST if is_test else purpose
    row = {"channel": channel, "status_change": change, "is_test": is_test, "alert": alert, "purpose": purpose}
    try:
        transport_for(channel.kind).send(channel, message)
    except TransportError as exc:
        error = str(exc)[:2000] or exc.__class__.__name__
        fields: dict[str, str | bool] = {"last_error": error}
        if exc.permanent:
            fields |= {"enabled": False, "disabled_reason": f"disabled after a permanent error: {error}"[:2000]}
        AlertChannel.objects.filter(pk=channel.pk).update(**fields)
        for k, v in fields.items():
            setattr(channel, k, v)
        log.warning("alert channel %s failed (permanent=%s): %s", channel.pk, exc.permanent, error)
        return Notification.objects.create(**row, ok=False, error=error)
    AlertChannel.objects.filter(pk=channel.pk).update(last_notify_at=now)
    channel.last_notify_at = now
    return Notification.objects.create(**row, ok=True)


def _deliver(delivery: Delivery, result: SendResult) -> None:
    message = _message(delivery)
    for channel in delivery.channels:
        n = notification_send(
            channel=channel, message=message, change=delivery.change, alert=delivery.alert, purpose=delivery.purpose
        )
        if n.ok:
            result.notified += 1
        else:
            result.failed += 1


def _open_alert_for(change: StatusChange) -> Alert | None:
    qs = _same_subject(Alert.objects.select_for_update().exclude(state=AlertState.RESOLVED), change)
    return qs.order_by("-opened_at").first()


def _recent_alert_for(change: StatusChange, since: Any) -> Alert | None:
    qs = _same_subject(Alert.objects.select_for_update().filter(last_notified_at__gte=since), change)
    return qs.order_by("-last_notified_at").first()


def _held_reason(alert: Alert, now: datetime) -> str:
    """Why `alert` may not be announced now ("" = it may): a mute, or no channel to send to."""
    until = alert_rules.muted_until(alert.sync_id)
    if rules.is_muted(now=now, muted_until=until):
        assert until is not None
        return f"muted until {timezone.localtime(until):%Y-%m-%d %H:%M}"
    if not alert_rules.channels_for_sync(alert.sync_id):
        return "no enabled alert channel"
    return ""


def _announce(
    alert: Alert, change: StatusChange, purpose: str, now: datetime, fields: list[str], result: SendResult
) -> Delivery | None:
    """Claim the announcement (last_notified_at) or hold it with its reason; saves `fields` of the alert."""
    held = _held_reason(alert, now)
    if held:
        alert.held_reason = held[:200]
        alert.save(update_fields=[*fields, "held_reason"])
        result.held += 1
        log.info("alert %s held: %s", alert.pk, held)
        return None
    alert.last_notified_at, alert.held_reason, alert.suppressed = now, "", False
    alert.save(update_fields=[*fields, "last_notified_at", "held_reason", "suppressed"])
    return Delivery(alert, change, purpose, alert_rules.channels_for_sync(alert.sync_id))


def _handle_problem(change: StatusChange, result: SendResult) -> Delivery | None:
    now = timezone.now()
    window_start = now - flap_window()
    head = _headline(change)
    alert = _open_alert_for(change)
    if alert is not None:
        # Already open (degraded -> failing, say): one alert, its title follows the change. A worse state is
        # announced at once; the same kind of problem only outside the flap window; a milder one never.
        alert.title, alert.detail = head.title[:300], head.detail
        if rules.is_milder(old_status=change.old_status, new_status=change.new_status):
            announce = False
        else:
            announce = (
                rules.is_escalation(old_status=change.old_status, new_status=change.new_status)
                or alert.last_notified_at is None
                or alert.last_notified_at < window_start
            )
        if announce:
            return _announce(alert, change, NotificationPurpose.ESCALATED, now, ["title", "detail"], result)
        alert.save(update_fields=["title", "detail"])
    elif (recent := _recent_alert_for(change, window_start)) is not None:
        # Flapping: reopen the alert quietly; its recovery will be quiet too.
        recent.state, recent.resolved_at, recent.suppressed = AlertState.OPEN, None, True
        recent.acknowledged_at, recent.acknowledged_by = None, None
        recent.title, recent.detail = head.title[:300], head.detail
        recent.save(
            update_fields=[
                "state",
                "resolved_at",
                "suppressed",
                "acknowledged_at",
                "acknowledged_by",
                "title",
                "detail",
            ]
        )
    else:
        alert = Alert.objects.create(
            sync_id=change.sync_id,
            connection_id=change.connection_id,
            component=change.component,
            opened_by=change,
            title=head.title[:300],
            detail=head.detail,
        )
        return _announce(alert, change, NotificationPurpose.OPENED, now, [], result)
    result.suppressed += 1
    log.info("status change %s not announced (flap window or a milder problem)", change.pk)
    return None


def _handle_recovery(change: StatusChange, result: SendResult) -> Delivery | None:
    alert = _open_alert_for(change)
    if alert is None:
        return None  # nobody was told about a problem (or it was resolved by hand): nothing to recover from
    now = timezone.now()
    told = not alert.suppressed and alert.last_notified_at is not None
    alert.state, alert.resolved_at, alert.held_reason = AlertState.RESOLVED, now, ""
    alert.save(update_fields=["state", "resolved_at", "held_reason"])
    if not told or _held_reason(alert, now):
        result.suppressed += 1  # never announced (flap, mute, no channel): its recovery is not news either
        return None
    return Delivery(alert, change, NotificationPurpose.RECOVERED, alert_rules.channels_for_sync(alert.sync_id))


def status_change_process(*, change: StatusChange, result: SendResult | None = None) -> SendResult:
    result = result or SendResult()
    is_conn = change.connection_id is not None and change.sync_id is None
    if change.component:  # workers / beat: down is the problem, back up the recovery
        problem = change.new_status == ComponentStatus.DOWN
        recovery = change.old_status == ComponentStatus.DOWN and change.new_status == ComponentStatus.UP
    else:
        problem = rules.is_problem(new_status=change.new_status, is_connection=is_conn)
        recovery = rules.is_recovery(old_status=change.old_status, new_status=change.new_status, is_connection=is_conn)
    delivery = None
    with log_context(run_id=change.run_id, sync_id=change.sync_id):
        with transaction.atomic():  # decide under the alert row lock; send after it is released
            if problem:
                delivery = _handle_problem(change, result)
            elif recovery:
                delivery = _handle_recovery(change, result)
        if delivery is not None:
            _deliver(delivery, result)
    return result


def status_changes_send_pending(*, limit: int = SEND_BATCH_LIMIT) -> SendResult:
    """Claim unprocessed status changes one by one (conditional UPDATE) and process them in order."""
    result = SendResult()
    todo = list(
        StatusChange.objects.filter(processed__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in todo:
        if StatusChange.objects.filter(pk=pk, processed__isnull=True).update(processed=timezone.now()) != 1:
            continue  # another sender claimed it
        result.claimed += 1
        change = StatusChange.objects.select_related("sync__target_connection", "connection").get(pk=pk)
        try:
            status_change_process(change=change, result=result)
        except Exception:
            log.exception("status change %s could not be processed", pk)
    return result


# --- the sweep: held announcements and reminders --------------------------------------------------------


def _latest_change(alert: Alert) -> StatusChange | None:
    qs = _same_subject(StatusChange.objects.all(), alert)
    return qs.order_by("-created_at", "-pk").first()


def _deliver_held(alert: Alert, now: datetime, result: SendResult) -> None:
    channels = alert_rules.channels_for_sync(alert.sync_id)
    until = alert_rules.muted_until(alert.sync_id)
    if not rules.held_delivery_due(
        now=now,
        is_open=True,
        last_notified_at=alert.last_notified_at,
        suppressed=alert.suppressed,
        muted_until=until,
        channels_available=len(channels),
    ):
        reason = _held_reason(alert, now)
        if reason and reason != alert.held_reason:
            Alert.objects.filter(pk=alert.pk).update(held_reason=reason[:200])
        return
    # claim: only one sweep announces it (the conditional UPDATE matches once)
    if not Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN, last_notified_at__isnull=True).update(
        last_notified_at=now, held_reason=""
    ):
        return
    _deliver(
        Delivery(
            alert,
            _latest_change(alert),
            NotificationPurpose.LATE,
            channels,
            held_since=alert.held_reason or "no channel could be reached",
        ),
        result,
    )


def _remind(alert: Alert, now: datetime, result: SendResult) -> None:
    rule = alert.sync.alert_rule if alert.sync is not None else None
    if rule is None or not rules.reminder_due(
        now=now,
        is_open=alert.state == AlertState.OPEN,
        last_notified_at=alert.last_notified_at,
        renotify_seconds=(rule.renotify_hours or 0) * 3600,
        muted_until=rule.muted_until,
    ):
        return
    channels = alert_rules.channels_for_sync(alert.sync_id)
    if not channels:
        return
    if not Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN, last_notified_at=alert.last_notified_at).update(
        last_notified_at=now
    ):
        return  # another sweep reminded first, or a person acknowledged it meanwhile
    result.reminded += 1
    _deliver(Delivery(alert, _latest_change(alert), NotificationPurpose.REMINDER, channels), result)


def alerts_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH_LIMIT) -> SendResult:
    """Periodic (beat, every minute): announce held alerts that may now go out (a mute ended, a channel was
    added), and remind about open, unacknowledged alerts of syncs whose rule asks for reminders."""
    now = now or timezone.now()
    result = SendResult()
    base = (
        Alert.objects.filter(state=AlertState.OPEN)
        .select_related("sync__alert_rule", "sync__target_connection", "connection")
        .order_by("opened_at", "pk")
    )
    for alert in base.filter(last_notified_at__isnull=True, suppressed=False)[:limit]:
        try:
            _deliver_held(alert, now, result)
        except Exception:
            log.exception("held alert %s could not be delivered", alert.pk)
    for alert in base.filter(last_notified_at__isnull=False, sync__alert_rule__renotify_hours__isnull=False)[:limit]:
        try:
            _remind(alert, now, result)
        except Exception:
            log.exception("reminder for alert %s could not be sent", alert.pk)
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
    updated = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(state=AlertState.RESOLVED)
        .update(state=AlertState.RESOLVED, resolved_at=timezone.now())
    )
    if not updated:
        raise AlertStateError("This alert is already resolved.")
    alert.refresh_from_db()
    audit_record(actor=user, action="alert.resolve", obj=alert)
    return alert
