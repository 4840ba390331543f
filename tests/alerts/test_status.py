from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from contacts_sync.models import (
    Alert,
    AlertChannel,
    AlertState,
    ChannelKind,
    ConnectionStatus,
    Notification,
    RunStatus,
    StatusChange,
    SyncHealth,
)
from contacts_sync.services import alerts, status
from tests.factories import RunFactory, SyncFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def email_channel() -> AlertChannel:
    return AlertChannel.objects.create(name="ops mail", kind=ChannelKind.EMAIL, target="ops@example.com")


def finish(sync: Any, run_status: str = RunStatus.FAILED, **counts: int) -> Any:
    run = RunFactory(
        sync=sync, status=run_status, error_summary="GHL answered 503" if run_status == "failed" else "", **counts
    )
    change = status.run_finished(run=run)
    alerts.status_changes_send_pending()
    sync.refresh_from_db()
    return change


def test_three_consecutive_failed_runs_send_one_alert_not_three(email_channel: AlertChannel):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    for _ in range(3):
        finish(sync, RunStatus.FAILED)
    assert sync.health == SyncHealth.FAILING
    assert sync.consecutive_failures == 3
    assert StatusChange.objects.filter(sync=sync).count() == 1
    assert Alert.objects.filter(sync=sync).count() == 1
    assert len(mail.outbox) == 1
    assert "failing" in mail.outbox[0].subject and sync.name in mail.outbox[0].subject
    assert Notification.objects.filter(channel=email_channel, ok=True).count() == 1


def test_a_return_to_healthy_resolves_the_alert_and_sends_a_recovery_message(email_channel: AlertChannel):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.SUCCEEDED, created_count=10)
    assert sync.health == SyncHealth.HEALTHY and sync.last_success_at is not None
    alert = Alert.objects.get(sync=sync)
    assert alert.state == AlertState.RESOLVED and alert.resolved_at is not None
    assert [m.subject.split("]")[0] + "]" for m in mail.outbox] == ["[failing]", "[resolved]"]


def test_a_first_successful_run_of_a_new_sync_sends_nothing(email_channel: AlertChannel):
    sync = SyncFactory()
    change = finish(sync, RunStatus.SUCCEEDED, created_count=3)
    assert change is not None and change.new_status == SyncHealth.HEALTHY
    assert mail.outbox == []


def test_flapping_inside_the_window_reopens_the_alert_quietly(email_channel: AlertChannel, settings: Any):
    settings.ALERT_FLAP_WINDOW_SECONDS = 600
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.SUCCEEDED, created_count=1)
    finish(sync, RunStatus.FAILED)  # flaps back within 10 minutes
    finish(sync, RunStatus.SUCCEEDED, created_count=1)
    assert len(mail.outbox) == 2  # the first failure and its recovery only
    assert Alert.objects.filter(sync=sync).count() == 1
    assert StatusChange.objects.filter(sync=sync).count() == 4


def test_after_the_window_a_new_failure_alerts_again(email_channel: AlertChannel, settings: Any):
    settings.ALERT_FLAP_WINDOW_SECONDS = 600
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.SUCCEEDED, created_count=1)
    Alert.objects.filter(sync=sync).update(last_notified_at=timezone.now() - timedelta(minutes=11))
    finish(sync, RunStatus.FAILED)
    assert len(mail.outbox) == 3
    assert Alert.objects.filter(sync=sync).count() == 2


def test_degraded_when_more_than_five_percent_of_items_fail(email_channel: AlertChannel):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)
    assert sync.health == SyncHealth.DEGRADED
    assert "10 of 100" in sync.health_reason
    assert "[degraded]" in mail.outbox[0].subject


def test_degraded_then_failing_inside_the_window_escalates_the_same_alert_and_announces_the_worse_state(
    email_channel: AlertChannel,
):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)
    finish(sync, RunStatus.FAILED)
    alert = Alert.objects.get(sync=sync)
    assert "failing" in alert.title
    assert [m.subject.split("]")[0] + "]" for m in mail.outbox] == ["[degraded]", "[failing]"]
    assert alert.notifications.filter(ok=True).count() == 2  # both sends count for the one alert


def test_failing_then_degraded_keeps_the_alert_open_without_paging_anyone(email_channel: AlertChannel):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    finish(sync, RunStatus.PARTIAL, created_count=90, failed_count=10)
    alert = Alert.objects.get(sync=sync)
    assert sync.health == SyncHealth.DEGRADED and alert.state == AlertState.OPEN
    assert "degraded" in alert.title
    assert len(mail.outbox) == 1


def test_a_polling_sync_without_success_for_three_intervals_goes_stale_once(email_channel: AlertChannel):
    sync = SyncFactory(
        health=SyncHealth.HEALTHY, poll_interval_seconds=300, last_success_at=timezone.now() - timedelta(minutes=16)
    )
    fresh = SyncFactory(health=SyncHealth.HEALTHY, poll_interval_seconds=300, last_success_at=timezone.now())
    paused = SyncFactory(health=SyncHealth.PAUSED, enabled=False, poll_interval_seconds=300)
    assert status.stale_syncs_mark() == 1
    assert status.stale_syncs_mark() == 0
    alerts.status_changes_send_pending()
    sync.refresh_from_db(), fresh.refresh_from_db(), paused.refresh_from_db()
    assert (sync.health, fresh.health, paused.health) == (SyncHealth.STALE, SyncHealth.HEALTHY, SyncHealth.PAUSED)
    assert "[stale]" in mail.outbox[0].subject


def test_a_connection_needing_reauth_flips_its_syncs_and_alerts_once(email_channel: AlertChannel):
    sync_a = SyncFactory(health=SyncHealth.HEALTHY, last_success_at=timezone.now())
    sync_b = SyncFactory(health=SyncHealth.FAILING, consecutive_failures=2, target_connection=sync_a.target_connection)
    conn = sync_a.target_connection
    status.connection_status_set(connection=conn, status=ConnectionStatus.NEEDS_REAUTH, reason="invalid_grant")
    alerts.status_changes_send_pending()
    sync_a.refresh_from_db(), sync_b.refresh_from_db()
    assert sync_a.health == sync_b.health == SyncHealth.NEEDS_REAUTH
    assert len(mail.outbox) == 1 and conn.name in mail.outbox[0].subject
    status.connection_status_set(connection=conn, status=ConnectionStatus.CONNECTED)
    alerts.status_changes_send_pending()
    sync_a.refresh_from_db(), sync_b.refresh_from_db()
    assert (sync_a.health, sync_b.health) == (SyncHealth.HEALTHY, SyncHealth.FAILING)
    assert len(mail.outbox) == 2 and "[resolved]" in mail.outbox[1].subject
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.CONNECTED and conn.last_error == ""


def test_setting_the_same_connection_status_records_no_change():
    sync = SyncFactory()
    assert status.connection_status_set(connection=sync.source_connection, status=ConnectionStatus.CONNECTED) is None
    assert StatusChange.objects.count() == 0


def test_pausing_and_resuming_is_recorded_but_not_alerted(email_channel: AlertChannel, editor: Any):
    sync = SyncFactory(health=SyncHealth.HEALTHY, last_success_at=timezone.now())
    status.sync_paused_set(sync=sync, paused=True, user=editor)
    assert (sync.enabled, sync.health) == (False, SyncHealth.PAUSED)
    status.sync_paused_set(sync=sync, paused=False, user=editor)
    assert (sync.enabled, sync.health) == (True, SyncHealth.HEALTHY)
    assert StatusChange.objects.filter(sync=sync, processed__isnull=False).count() == 2
    assert alerts.status_changes_send_pending().claimed == 0
    assert mail.outbox == []


def test_each_status_change_is_claimed_by_one_sender_only(email_channel: AlertChannel):
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    status.run_finished(run=RunFactory(sync=sync, status=RunStatus.FAILED))
    first = alerts.status_changes_send_pending()
    second = alerts.status_changes_send_pending()
    assert (first.claimed, second.claimed) == (1, 0)
    assert len(mail.outbox) == 1


def test_a_dry_run_does_not_count_as_a_success():
    sync = SyncFactory()
    status.run_finished(run=RunFactory(sync=sync, status=RunStatus.SUCCEEDED, dry_run=True))
    sync.refresh_from_db()
    assert sync.last_success_at is None


def test_a_failing_sync_keeps_its_failure_reason_through_a_reauth_round_trip():
    sync = SyncFactory(health=SyncHealth.HEALTHY)
    finish(sync, RunStatus.FAILED)
    conn = sync.target_connection
    status.connection_status_set(connection=conn, status=ConnectionStatus.NEEDS_REAUTH, reason="invalid_grant")
    status.connection_status_set(connection=conn, status=ConnectionStatus.CONNECTED)
    sync.refresh_from_db()
    assert (sync.health, sync.health_reason) == (SyncHealth.FAILING, "GHL answered 503")
