"""The engine's promises under real failure: a worker SIGKILLed mid-run, a flaky GHL (5xx and timeouts).

Real PostgreSQL, real Celery workers on Redis, the emulators over HTTP; no mocks.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from django.db import connection

from contacts_sync import models as m
from contacts_sync.services import runs
from tests.support import start_worker, wait_until
from tests.sync.world import HubstaffOrg, calm, client_sync, ghl_contacts, wait_finished

pytestmark = [pytest.mark.worker]

CRASH_CONTACTS = 2000


def _emails(contacts: list[dict[str, Any]]) -> list[str]:
    return [str(c.get("email") or "").lower() for c in contacts]


@pytest.mark.timeout(600)
def test_it_resumes_a_run_whose_worker_was_killed_without_duplicates_or_lost_records(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, clients=CRASH_CONTACTS)
    sync = client_sync(clean_sandbox, org, page_limit=100)
    db_name = connection.settings_dict["NAME"]
    first = start_worker(db_name, tmp_path, name="doomed", concurrency=1)
    try:
        run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        wait_until(
            lambda: m.Run.objects.get(pk=run.pk).created_count >= 500,
            timeout=180,
            interval=0.05,
            what="the run to be well under way",
        )
        first.kill(signal.SIGKILL)
    finally:
        first.stop()
    run.refresh_from_db()
    assert run.status == m.RunStatus.RUNNING and 0 < run.read_count < CRASH_CONTACTS

    second = start_worker(db_name, tmp_path, name="rescuer", concurrency=1)
    try:
        # the dead worker's heartbeat stops; the reaper (beat: every minute) puts the run back on the queue
        wait_until(
            lambda: runs.runs_reap(older_than_seconds=3) or None,
            timeout=60,
            interval=0.5,
            what="the reaper to requeue the run",
        )
        run = wait_finished(run, timeout=300)
    finally:
        second.stop()

    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    contacts = ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")
    assert len(contacts) == CRASH_CONTACTS
    assert len(set(_emails(contacts))) == CRASH_CONTACTS
    item_ids = set(run.items.values_list("source_id", flat=True))
    assert item_ids == org.client_ids()
    assert run.items.count() == CRASH_CONTACTS  # one item per record: the lost page was never committed
    assert m.RecordLink.objects.filter(sync=sync).count() == CRASH_CONTACTS


@pytest.mark.timeout(600)
def test_a_flaky_ghl_with_5xx_and_timeouts_leaves_no_duplicates_and_explains_every_failure(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, clients=150)
    sync = client_sync(clean_sandbox, org, page_limit=25)
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=0.1, timeout_rate=0.03, hang_s=3)
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=500)
    calm(clean_sandbox)

    assert run.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), run.error_summary
    assert run.read_count == 150
    contacts = ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")
    assert len(_emails(contacts)) == len(set(_emails(contacts)))  # no duplicates
    failed = run.items.filter(action=m.ItemAction.FAILED)
    for item in failed:
        assert item.error_class and item.error_message
    assert run.created_count + run.updated_count + failed.count() == 150
    assert run.calls.filter(provider="ghl").exists()
    assert set(run.items.values_list("source_id", flat=True)) == org.client_ids()

    # and the records that failed are put right by a retry once GHL behaves
    if failed.exists():
        retry = wait_finished(runs.run_retry_failed(run=run, user=None))
        assert retry.status == m.RunStatus.SUCCEEDED, retry.error_summary
    assert len(ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")) == 150
