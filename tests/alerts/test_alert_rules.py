"""Per-sync alert rules end to end through the real services and PostgreSQL: thresholds, routing, mute,
held announcements and reminders; and the "reached no channel" bug."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from contacts_sync.models import (
    Alert,
    AlertChannel,
    AlertRule,
    AlertState,
    AuditEntry,
    ChannelKind,
    Notification,
    NotificationPurpose,
    RunStatus,
    SyncHealth,
)
from contacts_sync.services import alert_rules, alerts, status
from tests.alerts.test_status import finish
from tests.factories import RunFactory, SyncFactory

pytestmark = pytest.mark.django_db


def email(name: str = "ops mail", to: str = "ops@example.com") -> AlertChannel:
    return AlertChannel.objects.create(name=name, kind=ChannelKind.EMAIL, target=to)


def rule(sync: Any, user: Any = None, **kw: Any) -> AlertRule:
    args = {
        "failed_share_percent": 5,
        "failing_after_runs": 1,
        "stale_after_hours": None,
        "slow_run_minutes": None,
        "renotify_hours": None,
        "channels": [],
    } | kw
    return alert_rules.alert_rule_update(sync=sync, user=user, **args)


def delivery_line(client: Any, alert: Alert) -> str:
    html = client.get("/alerts/?state=").content.decode()
    row = html.split(f'data-alert-id="{alert.pk}"')[1].split("</tr>")[0]
    return row.split("data-delivery>")[1].split("</div>")[0]


# --- the bug: "reached no channel" although an email channel existed ------------------------------------


def test_a_change_to_failing_reaches_the_email_channel_although_the_alert_opened_before_it_existed(
    client: Any,
    viewer: Any,
):
    """What happened: the sync went degraded while no channel was enabled; the alert was marked as notified
    anyway, so when the sync went failing minutes later (with an email channel by then) the flap window
    swallowed the change, and the list, which counted only the opening change's sends, said "reached no
    channel"."""
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)
    alert = Alert.objects.get(sync=sync)
    assert alert.last_notified_at is None and alert.held_reason == "no enabled alert channel"
    channel = email()
    finish(sync, RunStatus.FAILED)  # inside the 15-minute flap window
    assert sync.health == SyncHealth.FAILING
    assert [m.subject.split("]")[0] + "]" for m in mail.outbox] == ["[failing]"]
    assert Notification.objects.get(alert=alert).channel == channel
    client.force_login(viewer)
    assert delivery_line(client, Alert.objects.get(pk=alert.pk)).startswith("sent to 1 channel")


def test_sends_of_an_escalation_count_for_the_alert_on_the_list(client: Any, viewer: Any):
    channel = email()
    channel.enabled = False
    channel.save()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)  # opened with no enabled channel
    AlertChannel.objects.filter(pk=channel.pk).update(enabled=True)
    finish(sync, RunStatus.FAILED)  # the escalation is sent
    alert = Alert.objects.get(sync=sync)
    client.force_login(viewer)
    assert delivery_line(client, alert).startswith("sent to 1 channel")
    assert Notification.objects.get(alert=alert).purpose == NotificationPurpose.ESCALATED


def test_an_alert_held_for_want_of_a_channel_goes_out_once_one_is_added():
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    assert mail.outbox == [] and alerts.alerts_sweep().notified == 0
    email()
    result = alerts.alerts_sweep()
    assert result.notified == 1 and "[failing]" in mail.outbox[0].subject
    assert "Held until now: no enabled alert channel" in mail.outbox[0].body
    assert alerts.alerts_sweep().notified == 0  # once
    assert Alert.objects.get(sync=sync).last_notified_at is not None


# --- thresholds ---------------------------------------------------------------------------------------


def test_failing_after_three_failed_runs_in_a_row_waits_for_the_third():
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, failing_after_runs=3)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.FAILED)
    assert sync.health == SyncHealth.HEALTHY and sync.consecutive_failures == 2 and mail.outbox == []
    finish(sync, RunStatus.FAILED)
    assert sync.health == SyncHealth.FAILING and len(mail.outbox) == 1


def test_a_higher_failed_share_keeps_a_sync_with_ten_percent_failures_healthy():
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, failed_share_percent=20)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)
    assert sync.health == SyncHealth.HEALTHY and mail.outbox == []


def test_a_slow_run_degrades_the_sync_and_says_how_slow():
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, slow_run_minutes=30)
    start = timezone.now() - timedelta(minutes=50)
    status.run_finished(
        run=RunFactory(
            sync=sync,
            status=RunStatus.SUCCEEDED,
            created_count=3,
            started_at=start,
            finished_at=start + timedelta(minutes=45),
        )
    )
    alerts.status_changes_send_pending()
    sync.refresh_from_db()
    assert sync.health == SyncHealth.DEGRADED
    assert sync.health_reason == "the run took 45 min, longer than the limit of 30 min"
    assert "[degraded]" in mail.outbox[0].subject and "45 min" in mail.outbox[0].subject


def test_a_webhook_sync_with_a_stale_limit_goes_stale_without_polling():
    email()
    sync = SyncFactory(
        health=SyncHealth.HEALTHY,
        poll_interval_seconds=None,
        webhook_trigger=True,
        last_success_at=timezone.now() - timedelta(hours=7),
    )
    untouched = SyncFactory(
        health=SyncHealth.HEALTHY, poll_interval_seconds=None, last_success_at=timezone.now() - timedelta(days=9)
    )
    rule(sync, stale_after_hours=6)
    assert status.stale_syncs_mark() == 1
    alerts.status_changes_send_pending()
    sync.refresh_from_db(), untouched.refresh_from_db()
    assert (sync.health, untouched.health) == (SyncHealth.STALE, SyncHealth.HEALTHY)
    assert "(the limit is 6 h)" in sync.health_reason and "[stale]" in mail.outbox[0].subject


def test_a_rule_change_is_audited_with_what_it_was_and_what_it_became(editor: Any):
    sync = SyncFactory()
    rule(sync, editor, failing_after_runs=3, channels=[email()])
    entry = AuditEntry.objects.get(action="alert_rule.update")
    assert entry.actor == editor and entry.object_type == "sync" and entry.object_id == str(sync.pk)
    assert entry.changes["failing_after_runs"] == {"from": 1, "to": 3}
    assert entry.changes["channels"] == {"from": [], "to": ["ops mail"]}


@pytest.mark.parametrize(
    "field,value",
    [("failed_share_percent", 101), ("failing_after_runs", 0), ("renotify_hours", 0), ("slow_run_minutes", 100_000)],
)
def test_out_of_range_values_are_refused_and_nothing_is_saved(field: str, value: int):
    sync = SyncFactory()
    with pytest.raises(alert_rules.AlertRuleError):
        rule(sync, **{field: value})
    assert not AlertRule.objects.filter(sync=sync).exists()


# --- routing ------------------------------------------------------------------------------------------


def test_a_sync_routed_to_one_channel_notifies_that_one_only_and_connections_still_reach_all():
    ops, sales = email("ops", "ops@example.com"), email("sales", "sales@example.com")
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, channels=[sales])
    finish(sync, RunStatus.FAILED)
    assert [m.to for m in mail.outbox] == [["sales@example.com"]]
    assert not Notification.objects.filter(channel=ops).exists()


def test_a_routed_sync_whose_only_channel_is_disabled_holds_its_alert():
    email("ops")
    sales = email("sales", "sales@example.com")
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, channels=[sales])
    AlertChannel.objects.filter(pk=sales.pk).update(enabled=False)
    finish(sync, RunStatus.FAILED)
    assert mail.outbox == [] and Alert.objects.get(sync=sync).held_reason == "no enabled alert channel"


# --- mute / snooze ------------------------------------------------------------------------------------


def test_a_muted_sync_opens_its_alert_quietly_and_it_goes_out_when_the_mute_ends(editor: Any):
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    alert_rules.alert_rule_mute(sync=sync, until=timezone.now() + timedelta(hours=2), user=editor)
    finish(sync, RunStatus.FAILED)
    alert = Alert.objects.get(sync=sync)
    assert mail.outbox == [] and alert.state == AlertState.OPEN and alert.held_reason.startswith("muted until")
    assert alerts.alerts_sweep().notified == 0  # still muted
    result = alerts.alerts_sweep(now=timezone.now() + timedelta(hours=2, minutes=1))
    assert result.notified == 1 and "[failing]" in mail.outbox[0].subject
    assert "Held until now: muted until" in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="alert_rule.mute", actor=editor).exists()


def test_a_sync_that_recovers_while_muted_sends_neither_problem_nor_recovery(editor: Any):
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    alert_rules.alert_rule_mute(sync=sync, until=timezone.now() + timedelta(hours=2), user=editor)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.SUCCEEDED, created_count=1)
    alerts.alerts_sweep(now=timezone.now() + timedelta(hours=3))
    assert mail.outbox == [] and Alert.objects.get(sync=sync).state == AlertState.RESOLVED


def test_unmuting_lets_the_next_sweep_send_the_held_alert(editor: Any):
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    alert_rules.alert_rule_mute(sync=sync, until=timezone.now() + timedelta(days=1), user=editor)
    finish(sync, RunStatus.FAILED)
    alert_rules.alert_rule_unmute(sync=sync, user=editor)
    assert alerts.alerts_sweep().notified == 1
    assert AuditEntry.objects.filter(action="alert_rule.unmute").exists()


def test_a_mute_in_the_past_or_too_far_ahead_is_refused(editor: Any):
    sync = SyncFactory()
    with pytest.raises(alert_rules.AlertRuleError, match="future"):
        alert_rules.alert_rule_mute(sync=sync, until=timezone.now() - timedelta(minutes=1), user=editor)
    with pytest.raises(alert_rules.AlertRuleError, match="pause the sync"):
        alert_rules.alert_rule_mute(sync=sync, until=timezone.now() + timedelta(days=120), user=editor)


# --- re-notify ----------------------------------------------------------------------------------------


def test_an_open_alert_is_repeated_every_two_hours_until_acknowledged(editor: Any):
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    rule(sync, renotify_hours=2)
    finish(sync, RunStatus.FAILED)
    assert len(mail.outbox) == 1
    start = Alert.objects.get(sync=sync).last_notified_at
    assert alerts.alerts_sweep(now=start + timedelta(hours=1, minutes=59)).reminded == 0
    assert alerts.alerts_sweep(now=start + timedelta(hours=2)).reminded == 1
    assert alerts.alerts_sweep(now=start + timedelta(hours=3)).reminded == 0
    assert alerts.alerts_sweep(now=start + timedelta(hours=4, minutes=1)).reminded == 1
    assert [m.subject.split("]")[0] + "]" for m in mail.outbox] == ["[failing]", "[still failing]", "[still failing]"]
    assert "Acknowledge the alert to stop the reminders" in mail.outbox[1].body
    alerts.alert_acknowledge(alert=Alert.objects.get(sync=sync), user=editor)
    assert alerts.alerts_sweep(now=start + timedelta(hours=9)).reminded == 0
    assert Notification.objects.filter(purpose=NotificationPurpose.REMINDER, ok=True).count() == 2


def test_reminders_wait_while_muted_and_a_sync_without_reminders_is_told_once(editor: Any):
    email()
    reminded, once = SyncFactory(health=SyncHealth.HEALTHY), SyncFactory(health=SyncHealth.HEALTHY)
    rule(reminded, renotify_hours=1)
    finish(reminded, RunStatus.FAILED)
    finish(once, RunStatus.FAILED)
    alert_rules.alert_rule_mute(sync=reminded, until=timezone.now() + timedelta(hours=5), user=editor)
    later = timezone.now() + timedelta(hours=3)
    assert alerts.alerts_sweep(now=later).reminded == 0
    assert len(mail.outbox) == 2


def test_the_message_has_a_title_in_words_and_the_raw_error_underneath():
    email()
    sync = SyncFactory(health=SyncHealth.HEALTHY, name="Hubstaff clients → GHL contacts")
    raw = (
        "Reading hubstaff failed: TransportError: could not connect: HTTPConnectionPool(host='127.0.0.1', "
        "port=8010): Max retries exceeded"
    )
    status.run_finished(run=RunFactory(sync=sync, status=RunStatus.FAILED, error_summary=raw))
    alerts.status_changes_send_pending()
    alert = Alert.objects.get(sync=sync)
    assert alert.title == "Hubstaff clients → GHL contacts is failing: Hubstaff could not be reached"
    assert alert.detail == raw
    message = mail.outbox[0]
    assert message.subject == f"[failing] {alert.title}" and "HTTPConnectionPool" not in message.subject
    assert f"Details: {raw}" in message.body
