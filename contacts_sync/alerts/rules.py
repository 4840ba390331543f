"""The health state machine of a sync and a connection: pure decisions, no I/O.

services.status applies these decisions (rows, locks, on_commit) and services.alerts turns the recorded
status changes into alerts and notifications (healthchecks' "flip" model: alert on changes, never per run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contacts_sync.models import ConnectionStatus, RunStatus, SyncHealth

# A run whose failed items exceed 5% of what it handled leaves the sync "degraded": a few bad records are
# normal (bad phone numbers), a twentieth of them means something in the mapping or the target changed.
DEGRADED_FAILED_RATIO = 0.05
# Failed runs in a row before the sync is "failing". 1 = the first failed run alerts (the default).
FAILING_AFTER_CONSECUTIVE = 1
# "stale" = no successful run within 3 polling intervals: one missed poll is noise, three is a stuck scheduler.
STALE_AFTER_INTERVALS = 3

# How bad each problem state is: a move to a worse one (degraded -> failing) is announced even inside the flap
# window (Hightouch notifies WARNING -> CRITICAL); a move to a milder one is not announced at all.
SEVERITY: dict[str, int] = {
    SyncHealth.DEGRADED: 1,
    SyncHealth.STALE: 1,
    SyncHealth.FAILING: 2,
    SyncHealth.NEEDS_REAUTH: 2,
    ConnectionStatus.ERROR: 1,
    ConnectionStatus.NEEDS_REAUTH: 2,
}

PROBLEM_SYNC_STATES = frozenset({SyncHealth.DEGRADED, SyncHealth.FAILING, SyncHealth.STALE, SyncHealth.NEEDS_REAUTH})
PROBLEM_CONNECTION_STATES = frozenset({ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.ERROR})
# States a run result may not overwrite: they are set by a person (paused) or by the connection (needs re-auth).
STICKY_SYNC_STATES = frozenset({SyncHealth.PAUSED, SyncHealth.NEEDS_REAUTH})


@dataclass(frozen=True)
class Thresholds:
    """One sync's alert thresholds (models.AlertRule, or these defaults when the sync has none)."""

    degraded_ratio: float = DEGRADED_FAILED_RATIO
    failing_after: int = FAILING_AFTER_CONSECUTIVE
    stale_after_seconds: int | None = None  # None: STALE_AFTER_INTERVALS polling intervals
    slow_after_seconds: int | None = None  # None: no limit on a run's duration


DEFAULT_THRESHOLDS = Thresholds()


def thresholds_of(rule: Any) -> Thresholds:
    """The thresholds of a models.AlertRule (read from its attributes), or the defaults for None."""
    if rule is None:
        return DEFAULT_THRESHOLDS
    return Thresholds(
        degraded_ratio=rule.failed_share_percent / 100,
        failing_after=max(1, rule.failing_after_runs),
        stale_after_seconds=rule.stale_after_hours * 3600 if rule.stale_after_hours else None,
        slow_after_seconds=rule.slow_run_minutes * 60 if rule.slow_run_minutes else None,
    )


@dataclass(frozen=True)
class HealthDecision:
    health: str
    reason: str
    consecutive_failures: int
    succeeded: bool  # the run counts as a success for last_success_at


def health_after_run(
    *,
    current: str,
    run_status: str,
    handled: int,
    failed_items: int,
    consecutive_failures: int,
    error_summary: str = "",
    outage_items: int = 0,
    verify_failed: int = 0,
    target: str = "the target",
    degraded_ratio: float = DEGRADED_FAILED_RATIO,
    failing_after: int = FAILING_AFTER_CONSECUTIVE,
    duration_seconds: float | None = None,
    slow_after_seconds: int | None = None,
) -> HealthDecision | None:
    """The sync's health after a finished run, or None when the run says nothing about health (cancelled).

    `failed_items` are the failures still open (not acknowledged, not fixed by a retry); `outage_items` are those
    caused by server errors, timeouts or rate limits: an outage is failing whatever its share, since the records
    were not written and a person may need to look at the target. `verify_failed` read-backs that differ from
    what was sent make the sync degraded, and so does a run that took longer than `slow_after_seconds`.
    """
    if run_status in (RunStatus.CANCELLED, RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    if run_status == RunStatus.FAILED:
        streak = consecutive_failures + 1
        if current in STICKY_SYNC_STATES:
            return HealthDecision(current, "", streak, False)
        if streak >= failing_after:
            reason = (error_summary or "the run failed").strip().splitlines()[0][:400]
            return HealthDecision(SyncHealth.FAILING, reason, streak, False)
        return HealthDecision(current, "", streak, False)
    # succeeded or partial: the run got through; outages, its failed-item ratio and the read-back decide
    if current in STICKY_SYNC_STATES:
        return HealthDecision(current, "", 0, True)
    if outage_items:
        reason = (
            f"outage: {outage_items} records were not written ({target} answered with server errors, "
            "timeouts or rate limits); they are retried by the next run"
        )
        return HealthDecision(SyncHealth.FAILING, reason, 0, True)
    ratio = failed_items / handled if handled else 0.0
    if failed_items and ratio > degraded_ratio:
        reason = f"{failed_items} of {handled} items failed ({ratio:.0%})"
        return HealthDecision(SyncHealth.DEGRADED, reason, 0, True)
    if verify_failed:
        reason = f"{verify_failed} records read back from {target} differ from what was sent"
        return HealthDecision(SyncHealth.DEGRADED, reason, 0, True)
    if slow_after_seconds and duration_seconds is not None and duration_seconds > slow_after_seconds:
        reason = f"the run took {_minutes(duration_seconds)}, longer than the limit of {_minutes(slow_after_seconds)}"
        return HealthDecision(SyncHealth.DEGRADED, reason, 0, True)
    return HealthDecision(SyncHealth.HEALTHY, "", 0, True)


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 120:
        return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


def stale_after(*, poll_interval_seconds: int | None, stale_after_seconds: int | None = None) -> int | None:
    """How long without a successful run makes the sync stale: the rule's own limit, else
    STALE_AFTER_INTERVALS polling intervals; None = never (a sync without polling and without a limit)."""
    if stale_after_seconds:
        return stale_after_seconds
    return poll_interval_seconds * STALE_AFTER_INTERVALS if poll_interval_seconds else None


def is_stale(
    *,
    now: datetime,
    poll_interval_seconds: int | None,
    last_success_at: datetime | None,
    created_at: datetime,
    stale_after_seconds: int | None = None,
) -> bool:
    """No successful run within the sync's stale limit (see stale_after)."""
    limit = stale_after(poll_interval_seconds=poll_interval_seconds, stale_after_seconds=stale_after_seconds)
    if limit is None:
        return False
    since = last_success_at or created_at
    return now - since > timedelta(seconds=limit)


def is_problem(*, new_status: str, is_connection: bool) -> bool:
    states = PROBLEM_CONNECTION_STATES if is_connection else PROBLEM_SYNC_STATES
    return new_status in states


def is_recovery(*, old_status: str, new_status: str, is_connection: bool) -> bool:
    good = ConnectionStatus.CONNECTED if is_connection else SyncHealth.HEALTHY
    return new_status == good and is_problem(new_status=old_status, is_connection=is_connection)


def is_escalation(*, old_status: str, new_status: str) -> bool:
    """A move from one problem to a worse one (degraded -> failing)."""
    return SEVERITY.get(new_status, 0) > SEVERITY.get(old_status, 0) > 0


def is_milder(*, old_status: str, new_status: str) -> bool:
    """A move from one problem to a milder one (failing -> degraded): the alert stays open, nobody is paged."""
    return 0 < SEVERITY.get(new_status, 0) < SEVERITY.get(old_status, 0)


def is_muted(*, now: datetime, muted_until: datetime | None) -> bool:
    return muted_until is not None and muted_until > now


def reminder_due(
    *,
    now: datetime,
    is_open: bool,
    last_notified_at: datetime | None,
    renotify_seconds: int | None,
    muted_until: datetime | None,
) -> bool:
    """Remind while an alert stays open and unacknowledged: every `renotify_seconds` after the last message
    that reached the channels (never for an alert nobody was told about yet; never while muted)."""
    if not is_open or not renotify_seconds or last_notified_at is None:
        return False
    if is_muted(now=now, muted_until=muted_until):
        return False
    return now - last_notified_at >= timedelta(seconds=renotify_seconds)


def held_delivery_due(
    *,
    now: datetime,
    is_open: bool,
    last_notified_at: datetime | None,
    suppressed: bool,
    muted_until: datetime | None,
    channels_available: int,
) -> bool:
    """An open alert that was never announced (muted, or no channel was enabled) is announced once it may be:
    the mute is over and a channel is there. A quiet flap reopen stays quiet."""
    if not is_open or suppressed or last_notified_at is not None or channels_available <= 0:
        return False
    return not is_muted(now=now, muted_until=muted_until)


def health_when_reauthorized(
    *, consecutive_failures: int, last_success_at: datetime | None, failing_after: int = FAILING_AFTER_CONSECUTIVE
) -> str:
    """What a sync returns to when its connections work again (its own run history decides)."""
    if consecutive_failures >= failing_after:
        return SyncHealth.FAILING
    if last_success_at is not None:
        return SyncHealth.HEALTHY
    return SyncHealth.NEW
