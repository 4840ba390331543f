from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contacts_sync.alerts import rules
from contacts_sync.models import RunStatus, SyncHealth


def after(**kw):  # type: ignore[no-untyped-def]
    args = {
        "current": SyncHealth.HEALTHY,
        "run_status": RunStatus.SUCCEEDED,
        "handled": 100,
        "failed_items": 0,
        "consecutive_failures": 0,
    }
    return rules.health_after_run(**(args | kw))


def test_a_clean_run_is_healthy_and_resets_the_failure_streak():
    d = after(current=SyncHealth.FAILING, consecutive_failures=4)
    assert (d.health, d.consecutive_failures, d.succeeded) == (SyncHealth.HEALTHY, 0, True)


def test_five_percent_failed_items_is_still_healthy_but_six_is_degraded():
    assert after(run_status=RunStatus.PARTIAL, failed_items=5).health == SyncHealth.HEALTHY
    d = after(run_status=RunStatus.PARTIAL, failed_items=6)
    assert d.health == SyncHealth.DEGRADED
    assert "6 of 100" in d.reason


def test_a_failed_run_makes_the_sync_failing_with_the_first_error_line():
    d = after(run_status=RunStatus.FAILED, error_summary="GHL said 503\ntraceback...")
    assert (d.health, d.reason, d.consecutive_failures) == (SyncHealth.FAILING, "GHL said 503", 1)


def test_failing_waits_for_the_configured_number_of_consecutive_failures():
    first = after(run_status=RunStatus.FAILED, failing_after=3)
    assert first.health == SyncHealth.HEALTHY and first.consecutive_failures == 1
    third = after(run_status=RunStatus.FAILED, consecutive_failures=2, failing_after=3)
    assert third.health == SyncHealth.FAILING


def test_a_cancelled_run_says_nothing_about_health():
    assert after(run_status=RunStatus.CANCELLED) is None


def test_paused_and_needs_reauth_are_not_overwritten_by_run_results():
    assert after(current=SyncHealth.PAUSED, run_status=RunStatus.FAILED).health == SyncHealth.PAUSED
    assert after(current=SyncHealth.NEEDS_REAUTH).health == SyncHealth.NEEDS_REAUTH


def test_a_sync_is_stale_after_three_polling_intervals_without_success():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    kw = {"now": now, "poll_interval_seconds": 600, "created_at": now - timedelta(days=1)}
    assert not rules.is_stale(last_success_at=now - timedelta(minutes=29), **kw)
    assert rules.is_stale(last_success_at=now - timedelta(minutes=31), **kw)
    assert rules.is_stale(last_success_at=None, **kw)
    assert not rules.is_stale(now=now, poll_interval_seconds=None, last_success_at=None, created_at=kw["created_at"])


def test_recovery_is_only_a_return_to_healthy_from_a_problem():
    assert rules.is_recovery(old_status=SyncHealth.FAILING, new_status=SyncHealth.HEALTHY, is_connection=False)
    assert not rules.is_recovery(old_status=SyncHealth.NEW, new_status=SyncHealth.HEALTHY, is_connection=False)
    assert rules.is_recovery(old_status="needs_reauth", new_status="connected", is_connection=True)


# --- per-sync thresholds, escalation, mute, reminders (alert rules) -----------------------------------------

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


class RuleRow:  # what thresholds_of reads from a models.AlertRule
    def __init__(self, **kw):  # type: ignore[no-untyped-def]
        self.failed_share_percent, self.failing_after_runs = kw.get("share", 5), kw.get("runs", 1)
        self.stale_after_hours, self.slow_run_minutes = kw.get("stale"), kw.get("slow")


def test_a_sync_without_a_rule_uses_the_defaults():
    assert rules.thresholds_of(None) == rules.Thresholds(degraded_ratio=0.05, failing_after=1)


def test_a_rule_becomes_thresholds_in_seconds_and_ratios():
    t = rules.thresholds_of(RuleRow(share=20, runs=3, stale=6, slow=30))
    assert (t.degraded_ratio, t.failing_after, t.stale_after_seconds, t.slow_after_seconds) == (0.2, 3, 21600, 1800)


def test_a_higher_failed_share_tolerates_more_failed_records():
    assert after(run_status=RunStatus.PARTIAL, failed_items=15, degraded_ratio=0.2).health == SyncHealth.HEALTHY
    assert after(run_status=RunStatus.PARTIAL, failed_items=21, degraded_ratio=0.2).health == SyncHealth.DEGRADED


def test_a_run_longer_than_the_limit_degrades_the_sync_with_both_durations_in_words():
    d = after(duration_seconds=47 * 60, slow_after_seconds=30 * 60)
    assert d.health == SyncHealth.DEGRADED and d.succeeded
    assert d.reason == "the run took 47 min, longer than the limit of 30 min"
    assert after(duration_seconds=29 * 60, slow_after_seconds=30 * 60).health == SyncHealth.HEALTHY
    assert after(duration_seconds=10**6).health == SyncHealth.HEALTHY  # no limit set: never slow


def test_an_outage_weighs_more_than_a_slow_run():
    d = after(
        run_status=RunStatus.PARTIAL, failed_items=1, outage_items=1, duration_seconds=7200, slow_after_seconds=60
    )
    assert d.health == SyncHealth.FAILING


def test_a_stale_limit_applies_to_a_sync_that_does_not_poll():
    created = NOW - timedelta(days=2)
    assert rules.is_stale(
        now=NOW,
        poll_interval_seconds=None,
        last_success_at=NOW - timedelta(hours=7),
        created_at=created,
        stale_after_seconds=6 * 3600,
    )
    assert not rules.is_stale(
        now=NOW,
        poll_interval_seconds=None,
        last_success_at=NOW - timedelta(hours=5),
        created_at=created,
        stale_after_seconds=6 * 3600,
    )
    # the rule's hours replace the three polling intervals of a polling sync
    assert not rules.is_stale(
        now=NOW,
        poll_interval_seconds=600,
        last_success_at=NOW - timedelta(hours=2),
        created_at=created,
        stale_after_seconds=6 * 3600,
    )


def test_worse_problems_escalate_and_milder_ones_do_not():
    assert rules.is_escalation(old_status=SyncHealth.DEGRADED, new_status=SyncHealth.FAILING)
    assert rules.is_escalation(old_status=SyncHealth.STALE, new_status=SyncHealth.FAILING)
    assert not rules.is_escalation(old_status=SyncHealth.HEALTHY, new_status=SyncHealth.FAILING)  # that is new
    assert not rules.is_escalation(old_status=SyncHealth.DEGRADED, new_status=SyncHealth.STALE)
    assert rules.is_milder(old_status=SyncHealth.FAILING, new_status=SyncHealth.DEGRADED)
    assert not rules.is_milder(old_status=SyncHealth.FAILING, new_status=SyncHealth.HEALTHY)


def test_a_mute_lasts_until_its_moment_and_not_a_second_longer():
    assert rules.is_muted(now=NOW, muted_until=NOW + timedelta(seconds=1))
    assert not rules.is_muted(now=NOW, muted_until=NOW)
    assert not rules.is_muted(now=NOW, muted_until=None)


def remind(**kw):  # type: ignore[no-untyped-def]
    args = {
        "now": NOW,
        "is_open": True,
        "last_notified_at": NOW - timedelta(hours=2),
        "renotify_seconds": 7200,
        "muted_until": None,
    }
    return rules.reminder_due(**(args | kw))


def test_a_reminder_is_due_every_interval_while_the_alert_stays_open():
    assert remind()
    assert not remind(last_notified_at=NOW - timedelta(hours=1, minutes=59))
    assert not remind(is_open=False)  # acknowledged or resolved: someone is on it
    assert not remind(renotify_seconds=None)  # the rule asks for no reminders
    assert not remind(muted_until=NOW + timedelta(minutes=5))
    assert not remind(last_notified_at=None)  # never announced: that is a held alert, not a reminder


def test_a_held_alert_goes_out_once_nothing_holds_it():
    kw = {
        "now": NOW,
        "is_open": True,
        "last_notified_at": None,
        "suppressed": False,
        "muted_until": None,
        "channels_available": 1,
    }
    assert rules.held_delivery_due(**kw)
    assert not rules.held_delivery_due(**(kw | {"channels_available": 0}))
    assert not rules.held_delivery_due(**(kw | {"muted_until": NOW + timedelta(hours=1)}))
    assert not rules.held_delivery_due(**(kw | {"suppressed": True}))  # a quiet flap stays quiet
    assert not rules.held_delivery_due(**(kw | {"last_notified_at": NOW}))
