"""Fault: the worker is `kill -9`'d in the middle of a page, with contacts that have no email or phone among the
records (GHL's upsert cannot find those again; four of them even share a name).

A real worker on the test's own broker (so the killed worker's unacknowledged message dies with the test), the
emulators over HTTP, 2,000 records in pages of 500. Beat's reaper is played by the test (world.Beat), every half
second instead of every minute, for heartbeats older than REAPED_AFTER instead of 120 s.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

from django.db import connection

from contacts_sync import models as m
from tests.reliability.servers import PrivateValkey, broker
from tests.reliability.world import (
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
    run_state,
    scheduled_run,
    wait_alerts_sent,
    wait_finished,
)
from tests.support import start_worker, wait_until

PAGE = 500
KILL_AFTER = PAGE + PAGE // 2  # contacts created: the second page is half written
REAPED_AFTER = 20  # seconds without a heartbeat (the product's 120 s, compressed)


def test_a_worker_killed_mid_page_neither_loses_nor_duplicates_a_record(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Path, scenario: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    records = people(SCENARIO_RECORDS, token)
    put_records(clean_sandbox, records)
    sync = fault_sync(clean_sandbox, page_limit=PAGE)
    start = record_offset(clean_sandbox)
    valkey = PrivateValkey(tmp_path)
    env = {"REDIS_URL": valkey.url, "CELERY_BROKER_URL": valkey.url}
    db_name = connection.settings_dict["NAME"]
    rescuer = None
    try:
        with broker(valkey.url):
            doomed = start_worker(db_name, tmp_path, name="doomed", concurrency=1, extra_env=env)
            try:
                run_id = scheduled_run(sync.pk)
                wait_until(
                    lambda: ghl_created(clean_sandbox, token, start) >= KILL_AFTER,
                    timeout=240,
                    interval=0.05,
                    what="the second page to be half written",
                )
                doomed.kill(signal.SIGKILL)
            finally:
                doomed.stop()
            written_before_kill = ghl_created(clean_sandbox, token, start)
            killed = run_state(run_id)
            # one page committed, the second's writes reached GHL but not the database: only their intents did
            assert killed.status == m.RunStatus.RUNNING and killed.read_count == PAGE, killed.error_summary
            assert m.RecordLink.objects.filter(sync=sync, pending_since__isnull=False).count() == PAGE

            rescuer = start_worker(db_name, tmp_path, name="rescuer", concurrency=1, extra_env=env)
            beat = Beat(reap_after=REAPED_AFTER)
            run = wait_finished(run_id, beat)
            wait_alerts_sent(sync.pk, beat)
    finally:
        if rescuer is not None:
            rescuer.stop()
        valkey.close()

    db = db_facts(sync.pk)
    lost, duplicated, problems = judge(records, db, ghl_facts(clean_sandbox, token, start))
    (only,) = db["runs"]
    outcome = scenario.report(
        Outcome(
            scenario="worker kill -9 mid-page",
            records=len(records),
            lost=lost,
            duplicated=duplicated,
            counts_true=not problems,
            problems=problems,
            alert=alerts_text(db),
            finish=f"by itself: reaped {only['reaps']}x, a second worker resumed it from its checkpoint and "
            f"found the {only['adopted']} contacts the killed one had written ({run.status})",
        )
    )
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    assert run.status == m.RunStatus.SUCCEEDED and only["reaps"] == 1, run.error_summary
    # the killed worker's writes in the unfinished page were found again, not repeated
    assert only["adopted"] == written_before_kill - PAGE > 0
    assert only["created"] == len(records) - only["adopted"]
    assert db["notified"] == []  # no one needs to act: no alert
