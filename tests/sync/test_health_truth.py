"""Health that tells the truth, with real runs on a real worker: dry runs and retries never move health by
themselves, an outage alerts whatever its share, an acknowledged failure stops counting until the record
changes, a stranded webhook is picked up again, and verified delivery catches a target that drops a field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import event_runs, runs
from tests.support import wait_until
from tests.sync.integrity_world import custom_records, custom_sync
from tests.sync.world import wait_finished

pytestmark = [pytest.mark.worker]


def _people(n: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i}",
            "first_name": f"Person{i}",
            "last_name": prefix.upper(),
            "email": f"{prefix}{i}@health.example",
        }
        for i in range(n)
    ]


def _blank(n: int) -> list[dict[str, Any]]:
    """Records with nothing that identifies a contact: mapping refuses them for good."""
    return [{"id": f"blank{i}", "company": ""} for i in range(n)]


def _run(sync: m.Sync, **kw: Any) -> m.Run:
    run = runs.run_enqueue(sync=sync, trigger=kw.pop("trigger", m.RunTrigger.MANUAL), **kw)
    assert run is not None
    return wait_finished(run, timeout=180)


def _health(sync: m.Sync, expected: str) -> None:
    """The worker writes the run's status, then the sync's health: wait for the second step too."""

    def settled() -> bool:
        sync.refresh_from_db()
        return sync.health == expected

    wait_until(settled, timeout=30, what=f"sync {sync.pk} to become {expected}")


def _changes(sync: m.Sync) -> list[str]:
    return list(m.StatusChange.objects.filter(sync=sync).order_by("created_at").values_list("new_status", flat=True))


def test_a_dry_run_never_changes_health_or_alerts(clean_sandbox: Any, celery_worker: Any) -> None:
    custom_records(clean_sandbox, _blank(7))
    sync = custom_sync(clean_sandbox, health=m.SyncHealth.HEALTHY)
    run = _run(sync, dry_run=True)
    assert run.dry_run and run.failed_count == 7
    _health(sync, m.SyncHealth.HEALTHY)
    assert sync.health == m.SyncHealth.HEALTHY and _changes(sync) == []


def test_retrying_failures_that_cannot_succeed_leaves_health_as_it_was(clean_sandbox: Any, celery_worker: Any) -> None:
    custom_records(clean_sandbox, _people(20) + _blank(4))
    sync = custom_sync(clean_sandbox)
    first = _run(sync)
    assert first.status == m.RunStatus.PARTIAL and first.failed_count == 4
    _health(sync, m.SyncHealth.DEGRADED)
    assert sync.health == m.SyncHealth.DEGRADED and _changes(sync) == ["degraded"]
    retry = runs.run_retry_failed(run=first)
    assert retry is not None
    retry = wait_finished(retry)
    assert retry.failed_count == 4
    _health(sync, m.SyncHealth.DEGRADED)
    assert sync.health == m.SyncHealth.DEGRADED and _changes(sync) == ["degraded"]  # no second alert


def test_a_retry_that_fixes_the_failures_closes_them_on_the_run_it_retried(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    records = [*_people(20), {"id": "late", "first_name": "", "last_name": ""}]
    custom_records(clean_sandbox, records)
    sync = custom_sync(clean_sandbox)
    first = _run(sync)
    assert first.failed_count == 1
    sync.refresh_from_db()
    assert sync.health == m.SyncHealth.HEALTHY  # 1 of 21 is under the degraded share
    clean_sandbox.admin("POST", "/custom/_admin/records", json={"id": "late", "first_name": "Lata"})
    retry = wait_finished(runs.run_retry_failed(run=first))
    assert retry.created_count == 1
    item = first.items.get(source_id="late")
    assert item.resolved_by_id == retry.pk


def test_an_acknowledged_failure_stops_counting_until_the_record_changes(
    clean_sandbox: Any, celery_worker: Any, admin_user: Any
) -> None:
    custom_records(clean_sandbox, _people(10) + _blank(3))
    sync = custom_sync(clean_sandbox)
    first = _run(sync)
    _health(sync, m.SyncHealth.DEGRADED)
    assert sync.health == m.SyncHealth.DEGRADED
    failed = list(first.items.filter(action=m.ItemAction.FAILED))
    assert runs.run_items_acknowledge(items=failed, user=admin_user, note="junk rows from the import") == 3
    _health(sync, m.SyncHealth.HEALTHY)
    assert sync.health == m.SyncHealth.HEALTHY and _changes(sync) == ["degraded", "healthy"]
    assert m.AuditEntry.objects.filter(action="run_item.acknowledge").count() == 3
    second = _run(sync)
    assert second.failed_count == 0
    assert second.items.filter(error_class="Acknowledged").count() == 3
    clean_sandbox.admin("POST", "/custom/_admin/records", json={"id": "blank0", "company": "Changed Ltd"})
    third = _run(sync)
    assert third.items.get(source_id="blank0").action == m.ItemAction.FAILED  # it changed: reported again
    assert third.items.filter(error_class="Acknowledged").count() == 2


@pytest.mark.timeout(400)
def test_an_outage_alerts_as_an_outage_whatever_its_share(clean_sandbox: Any, celery_worker: Any) -> None:
    custom_records(clean_sandbox, _people(120))
    sync = custom_sync(clean_sandbox, page_limit=200)
    channel = m.AlertChannel.objects.create(name="ops mail", kind="email", target="ops@example.com")
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, fail_next=15)  # 3 records x 5 attempts
    run = _run(sync)
    assert run.failed_count == 3 and run.created_count == 117  # 2.5 %: under the degraded share
    assert set(run.items.filter(action=m.ItemAction.FAILED).values_list("error_class", flat=True)) == {"ServerError"}
    _health(sync, m.SyncHealth.FAILING)
    assert sync.health == m.SyncHealth.FAILING and "outage" in sync.health_reason
    wait_until(
        lambda: m.Notification.objects.filter(channel=channel).exists(),
        timeout=60,
        what="the outage to reach the email channel",
    )
    again = _run(sync)  # the outage is over: the three are written, the sync recovers
    assert again.created_count == 3 and again.failed_count == 0
    _health(sync, m.SyncHealth.HEALTHY)
    assert sync.health == m.SyncHealth.HEALTHY


def test_verified_delivery_catches_a_target_that_drops_a_field(clean_sandbox: Any, celery_worker: Any) -> None:
    records = [dict(p, company=f"Firm {i}") for i, p in enumerate(_people(30, "v"))]
    custom_records(clean_sandbox, records)
    sync = custom_sync(clean_sandbox)
    healthy = _run(sync)
    assert healthy.status == m.RunStatus.SUCCEEDED and healthy.verify_sampled >= 1
    assert healthy.verified_count == healthy.verify_sampled
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, drop_field="lastName")
    for r in records:
        clean_sandbox.admin("POST", "/custom/_admin/records", json={"id": r["id"], "last_name": "Renamed"})
    dropped = _run(sync)
    assert dropped.updated_count == 30
    assert dropped.verify_failed_count == dropped.verify_sampled >= 1
    item = dropped.items.filter(action=m.ItemAction.VERIFY_FAILED).first()
    assert "field lastName sent 'Renamed'" in item.error_message
    assert dropped.status == m.RunStatus.PARTIAL
    _health(sync, m.SyncHealth.DEGRADED)
    assert sync.health == m.SyncHealth.DEGRADED and "read back" in sync.health_reason


def test_a_webhook_left_pending_is_picked_up_again_by_the_sweeper(clean_sandbox: Any, celery_worker: Any) -> None:
    custom_records(clean_sandbox, _people(2, "w"))
    sync = custom_sync(clean_sandbox)
    m.Sync.objects.filter(pk=sync.pk).update(webhook_trigger=True)
    event = m.InboundEvent.objects.create(
        provider="custom",
        event_id="stranded-1",
        event_type="contact.updated",
        connection=sync.source_connection,
        body='{"type": "contact.updated"}',
    )
    m.InboundEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    assert event_runs.inbound_events_sweep() == [event.pk]

    def processed() -> bool:
        event.refresh_from_db()
        return event.status != m.EventStatus.PENDING

    wait_until(processed, timeout=60, what="the swept event to be processed")
    assert event.status == m.EventStatus.PROCESSED
    run = m.Run.objects.filter(sync=sync).latest("created_at")
    assert wait_finished(run).created_count == 2
