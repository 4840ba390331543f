"""Faults of GHL itself (the emulator's fault injection, docs/ghl-client.md section 3), each striking a run that is
writing 2,000 contacts (some with no email or phone) once 300 are written: 90 % of requests answered 500, every
answer 1.5 s late, a 429 storm. The product's own client (timeouts, five attempts, backoff, Retry-After) and a real
worker; afterwards the next scheduled run must have put everything right, without a duplicate."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contacts_sync import models as m
from tests.reliability.world import (
    NO_LIMIT,
    SCENARIO_RECORDS,
    Beat,
    Outcome,
    alerts_text,
    db_facts,
    fault_sync,
    ghl_created,
    ghl_facts,
    judge,
    people,
    put_records,
    record_offset,
    scheduled_run,
    wait_alerts_sent,
    wait_finished,
    wait_recovery_announced,
)
from tests.support import wait_until

PAGE = 200
STRIKE_AFTER = 300  # contacts written when the fault begins: mid-run, mid-page
LATENCY_MS = 1500
LATENCY_SECONDS = 15  # long enough for a few pages' worth of slow calls; a whole run at 1.5 s a call takes 50 min
# Longer than one call's patience (apiclient: at most 60 s, a Retry-After waited up to 30 s), so some writes fail.
STORM_SECONDS = 70


def _calm(sandbox: Any) -> None:
    sandbox.clear_faults()
    sandbox.set_faults("ghl", sandbox.location_id, rate_limit=NO_LIMIT)


def _strike(sandbox: Any, token: str, start: int, fault: Callable[[], None]) -> None:
    wait_until(
        lambda: ghl_created(sandbox, token, start) >= STRIKE_AFTER,
        timeout=240,
        interval=0.05,
        what=f"{STRIKE_AFTER} contacts to be written",
    )
    fault()


def _scenario(sandbox: Any, fault: Callable[[], None], *, calm_after: float = 0) -> dict[str, Any]:
    """2,000 records, a scheduled run struck by `fault` mid-run (lifted `calm_after` s later, or when the run
    ends), then the next scheduled run if the first did not get everything through."""
    token = uuid.uuid4().hex[:6]
    records = people(SCENARIO_RECORDS, token)
    put_records(sandbox, records)
    sync = fault_sync(sandbox, page_limit=PAGE)
    start = record_offset(sandbox)
    beat = Beat()
    first_id = scheduled_run(sync.pk)
    _strike(sandbox, token, start, fault)
    if calm_after:
        time.sleep(calm_after)
        _calm(sandbox)
    first = wait_finished(first_id, beat, timeout=600)
    _calm(sandbox)
    wait_alerts_sent(sync.pk, beat)
    runs = [first]
    if first.status != m.RunStatus.SUCCEEDED:
        runs.append(wait_finished(scheduled_run(sync.pk), beat, timeout=300))
        wait_alerts_sent(sync.pk, beat)
        if runs[-1].status == m.RunStatus.SUCCEEDED and any(
            c.new_status != m.SyncHealth.HEALTHY for c in m.StatusChange.objects.filter(sync_id=sync.pk)
        ):
            wait_recovery_announced(sync.pk, beat)
    db = db_facts(sync.pk)
    lost, duplicated, problems = judge(records, db, ghl_facts(sandbox, token, start))
    return {
        "db": db,
        "runs": runs,
        "lost": lost,
        "duplicated": duplicated,
        "problems": problems,
        "records": len(records),
    }


def _finish(result: dict[str, Any]) -> str:
    first, *rest = result["db"]["runs"]
    text = f"first run {first['status']}"
    if first["failed"]:
        text += f" ({first['failed']} failed: {', '.join(first['failed_classes'])})"
    if first["status"] == m.RunStatus.FAILED:
        text += f": {first['error_summary'].split('; last:')[0][:90]}"
    return text + "".join(f"; the next scheduled run {r['status']}" for r in rest)


def _report(scenario: Any, name: str, result: dict[str, Any]) -> Outcome:
    return scenario.report(
        Outcome(
            scenario=name,
            records=result["records"],
            lost=result["lost"],
            duplicated=result["duplicated"],
            counts_true=not result["problems"],
            problems=result["problems"],
            alert=alerts_text(result["db"]),
            finish=_finish(result),
        )
    )


@pytest.mark.timeout(900)
def test_ghl_answering_90_percent_of_requests_with_500_fails_the_run_alerts_and_the_next_run_completes(
    clean_sandbox: Any, celery_worker: Any, scenario: Any
) -> None:
    result = _scenario(
        clean_sandbox, lambda: clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=0.9)
    )
    outcome = _report(scenario, "GHL answers 90 % of requests with 500", result)
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    first, second = result["db"]["runs"]
    # the target is down: the run stops (and says why) instead of grinding through 1,700 records for hours
    assert first["status"] == m.RunStatus.FAILED and "looks down" in first["error_summary"], first
    assert first["failed_classes"] == ["ServerError"] and first["created"] >= STRIKE_AFTER
    assert second["status"] == m.RunStatus.SUCCEEDED and second["failed"] == 0
    # the outage, then its end
    assert result["db"]["notified"] == [["failing", True], ["healthy", True]], result["db"]["changes"]


@pytest.mark.timeout(600)
def test_ghl_answering_1_5_s_late_slows_the_run_but_it_finishes_by_itself(
    clean_sandbox: Any, celery_worker: Any, scenario: Any
) -> None:
    result = _scenario(
        clean_sandbox,
        lambda: clean_sandbox.set_faults("ghl", clean_sandbox.location_id, latency_ms=LATENCY_MS),
        calm_after=LATENCY_SECONDS,
    )
    outcome = _report(scenario, f"GHL answers {LATENCY_MS / 1000:.1f} s late for {LATENCY_SECONDS} s", result)
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    (only,) = result["db"]["runs"]
    assert only["status"] == m.RunStatus.SUCCEEDED and only["failed"] == 0, only
    assert only["slowest_call_ms"] >= LATENCY_MS  # the fault did strike
    assert result["db"]["notified"] == []  # slow is not broken: no one needs to act


@pytest.mark.timeout(600)
def test_a_429_storm_longer_than_a_calls_patience_is_an_outage_that_the_next_run_puts_right(
    clean_sandbox: Any, celery_worker: Any, scenario: Any
) -> None:
    result = _scenario(
        clean_sandbox,
        lambda: clean_sandbox.set_faults("ghl", clean_sandbox.location_id, storm_until=time.time() + STORM_SECONDS),
    )
    outcome = _report(scenario, f"GHL answers 429 to everything for {STORM_SECONDS} s", result)
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    first, second = result["db"]["runs"]
    # the client waited out what it could (Retry-After); what it could not is an outage, said as such
    assert first["status"] == m.RunStatus.PARTIAL and first["failed_classes"] == ["RateLimitedError"], first
    assert first["http_429s"] > first["failed"] > 0
    assert second["status"] == m.RunStatus.SUCCEEDED and second["created"] == first["failed"]
    assert result["db"]["notified"] == [["failing", True], ["healthy", True]], result["db"]["changes"]
