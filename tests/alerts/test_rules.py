from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contacts_sync.alerts import rules
from contacts_sync.models import RunStatus, SyncHealth


def after(**kw):  # type: ignore[no-untyped-def]
    args = {"current": SyncHealth.HEALTHY, "run_status": RunStatus.SUCCEEDED, "handled": 100, "failed_items": 0,
            "consecutive_failures": 0}
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
