"""The health state machine of a sync and a connection: pure decisions, no I/O.

services.status applies these decisions (rows, locks, on_commit) and services.alerts turns the recorded
status changes into alerts and notifications (healthchecks' "flip" model: alert on changes, never per run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contacts_sync.models import ConnectionStatus, RunStatus, SyncHealth

# A run whose failed items exceed 5% of what it handled leaves the sync "degraded": a few bad records are
# normal (bad phone numbers), a twentieth of them means something in the mapping or the target changed.
DEGRADED_FAILED_RATIO = 0.05
# Failed runs in a row before the sync is "failing". 1 = the first failed run alerts (the default).
FAILING_AFTER_CONSECUTIVE = 1
# "stale" = no successful run within 3 polling intervals: one missed poll is noise, three is a stuck scheduler.
STALE_AFTER_INTERVALS = 3

PROBLEM_SYNC_STATES = frozenset({SyncHealth.DEGRADED, SyncHealth.FAILING, SyncHealth.STALE, SyncHealth.NEEDS_REAUTH})
PROBLEM_CONNECTION_STATES = frozenset({ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.ERROR})
# States a run result may not overwrite: they are set by a person (paused) or by the connection (needs re-auth).
STICKY_SYNC_STATES = frozenset({SyncHealth.PAUSED, SyncHealth.NEEDS_REAUTH})


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
) -> HealthDecision | None:
    """The sync's health after a finished run, or None when the run says nothing about health (cancelled).

    `failed_items` are the failures still open (not acknowledged, not fixed by a retry); `outage_items` are those
    caused by server errors, timeouts or rate limits: an outage is failing whatever its share, since the records
    were not written and a person may need to look at the target. `verify_failed` read-backs that differ from
    what was sent make the sync degraded.
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
        reason = (f"outage: {outage_items} records were not written ({target} answered with server errors, "
                  "timeouts or rate limits); they are retried by the next run")
        return HealthDecision(SyncHealth.FAILING, reason, 0, True)
    ratio = failed_items / handled if handled else 0.0
    if failed_items and ratio > degraded_ratio:
        reason = f"{failed_items} of {handled} items failed ({ratio:.0%})"
        return HealthDecision(SyncHealth.DEGRADED, reason, 0, True)
    if verify_failed:
        reason = f"{verify_failed} records read back from {target} differ from what was sent"
        return HealthDecision(SyncHealth.DEGRADED, reason, 0, True)
    return HealthDecision(SyncHealth.HEALTHY, "", 0, True)


def is_stale(
    *, now: datetime, poll_interval_seconds: int | None, last_success_at: datetime | None, created_at: datetime
) -> bool:
    """No successful run within STALE_AFTER_INTERVALS polling intervals (syncs without polling never go stale)."""
    if not poll_interval_seconds:
        return False
    since = last_success_at or created_at
    return now - since > timedelta(seconds=poll_interval_seconds * STALE_AFTER_INTERVALS)


def is_problem(*, new_status: str, is_connection: bool) -> bool:
    states = PROBLEM_CONNECTION_STATES if is_connection else PROBLEM_SYNC_STATES
    return new_status in states


def is_recovery(*, old_status: str, new_status: str, is_connection: bool) -> bool:
    good = ConnectionStatus.CONNECTED if is_connection else SyncHealth.HEALTHY
    return new_status == good and is_problem(new_status=old_status, is_connection=is_connection)



def health_when_reauthorized(*, consecutive_failures: int, last_success_at: datetime | None,
                             failing_after: int = FAILING_AFTER_CONSECUTIVE) -> str:
    """What a sync returns to when its connections work again (its own run history decides)."""
    if consecutive_failures >= failing_after:
        return SyncHealth.FAILING
    if last_success_at is not None:
        return SyncHealth.HEALTHY
    return SyncHealth.NEW
