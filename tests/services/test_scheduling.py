"""services.scheduling: due polling syncs are dispatched fairly per GHL location; the reconcile poll."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync.models import AuthKind, Provider, Run, RunStatus, RunTrigger, Sync, SyncHealth
from contacts_sync.services import scheduling
from tests.factories import ConnectionFactory, RunFactory, SyncFactory

pytestmark = pytest.mark.django_db


def due_syncs(location: Any, count: int, *, minutes_overdue: int = 1) -> list[Sync]:
    now = timezone.now()
    return [
        SyncFactory(
            target_connection=location,
            poll_interval_seconds=600,
            next_run_at=now - timedelta(minutes=minutes_overdue, seconds=i),
        )
        for i in range(count)
    ]


def runs_per_location() -> Counter[str]:
    return Counter(
        run.sync.target_connection.external_account_id for run in Run.objects.select_related("sync__target_connection")
    )


def test_it_enqueues_a_scheduled_run_for_a_due_sync_and_moves_next_run_at() -> None:
    now = timezone.now()
    [sync] = due_syncs(ConnectionFactory(external_account_id="loc-a"), 1)
    result = scheduling.syncs_dispatch_due(now=now)
    run = Run.objects.get(sync=sync)
    assert result.enqueued == [run.pk]
    assert run.trigger == RunTrigger.SCHEDULE
    sync.refresh_from_db()
    assert sync.next_run_at == now + timedelta(seconds=600)
    assert scheduling.syncs_dispatch_due(now=now).enqueued == []  # not due again until then


@pytest.mark.parametrize(
    "fields",
    [
        {"enabled": False},
        {"poll_interval_seconds": None},
        {"next_run_at_delta": timedelta(minutes=5)},
        {"health": SyncHealth.NEEDS_REAUTH},
    ],
    ids=["paused", "no-polling", "not-due-yet", "needs-reauth"],
)
def test_it_leaves_syncs_that_are_not_due_alone(fields: dict[str, Any]) -> None:
    delta = fields.pop("next_run_at_delta", timedelta(minutes=-1))
    SyncFactory(next_run_at=timezone.now() + delta, **fields)
    assert scheduling.syncs_dispatch_due().enqueued == []
    assert not Run.objects.exists()


def test_a_sync_that_was_never_scheduled_is_due_at_once() -> None:
    sync = SyncFactory(next_run_at=None, poll_interval_seconds=300)
    scheduling.syncs_dispatch_due()
    assert Run.objects.filter(sync=sync).count() == 1


def test_one_big_location_cannot_starve_the_others() -> None:
    big = ConnectionFactory(external_account_id="big")
    due_syncs(big, 30, minutes_overdue=60)  # the big account's syncs are the most overdue of all
    small = [ConnectionFactory(external_account_id=f"small-{i}") for i in range(3)]
    for conn in small:
        due_syncs(conn, 1)
    result = scheduling.syncs_dispatch_due(cap=2, limit=50)
    per_location = runs_per_location()
    assert per_location == {"big": 2, "small-0": 1, "small-1": 1, "small-2": 1}
    assert len(result.deferred) == 28  # still due: they run as the big location's runs finish


def test_with_more_locations_than_a_tick_takes_every_location_gets_a_run_before_any_gets_a_second() -> None:
    fleet = [ConnectionFactory(external_account_id=f"fleet-{i:02d}") for i in range(60)]
    for i, location in enumerate(fleet):
        due_syncs(location, 2, minutes_overdue=120 - i)  # the first locations are the most overdue
    first = scheduling.syncs_dispatch_due(cap=2, limit=50)
    assert len(first.enqueued) == 50
    assert sorted(runs_per_location().values()) == [1] * 50  # 50 different locations, one run each
    second = scheduling.syncs_dispatch_due(cap=2, limit=10)
    assert len(second.enqueued) == 10
    # the ten locations still waiting go first, although the others' second syncs are more overdue
    assert set(runs_per_location()) == {f"fleet-{i:02d}" for i in range(60)}
    assert sorted(runs_per_location().values()) == [1] * 60
    third = scheduling.syncs_dispatch_due(cap=2, limit=100)
    assert len(third.enqueued) == 60 and sorted(runs_per_location().values()) == [2] * 60


def test_round_robin_interleaves_locations_when_the_tick_limit_is_reached() -> None:
    a, b = ConnectionFactory(external_account_id="a"), ConnectionFactory(external_account_id="b")
    due_syncs(a, 5, minutes_overdue=30)
    due_syncs(b, 5, minutes_overdue=1)
    scheduling.syncs_dispatch_due(cap=10, limit=4)
    assert runs_per_location() == {"a": 2, "b": 2}


def test_active_runs_count_against_the_location_cap() -> None:
    loc = ConnectionFactory(external_account_id="busy")
    running = SyncFactory(target_connection=loc, poll_interval_seconds=None)
    RunFactory(sync=running, status=RunStatus.RUNNING, finished_at=None)
    due_syncs(loc, 3)
    result = scheduling.syncs_dispatch_due(cap=2)
    assert len(result.enqueued) == 1
    assert len(result.deferred) == 2


def test_the_location_of_a_sync_is_its_ghl_side() -> None:
    ghl = ConnectionFactory(external_account_id="loc-x")
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind=AuthKind.API_KEY)
    to_ghl = SyncFactory(target_connection=ghl)
    from_ghl = SyncFactory(source_connection=ghl, target_connection=hub)
    assert scheduling.location_key(to_ghl) == scheduling.location_key(from_ghl) == "ghl:loc-x"


def test_a_due_sync_whose_run_is_still_active_is_skipped_and_rescheduled() -> None:
    now = timezone.now()
    [sync] = due_syncs(ConnectionFactory(external_account_id="loc-s"), 1)
    RunFactory(sync=sync, status=RunStatus.QUEUED, started_at=None, finished_at=None)
    result = scheduling.syncs_dispatch_due(now=now, cap=5)
    assert result.skipped_active == [sync.pk]
    assert Run.objects.filter(sync=sync).count() == 1
    sync.refresh_from_db()
    assert sync.next_run_at == now + timedelta(seconds=600)


def test_fair_order_takes_the_oldest_due_location_first() -> None:
    a, b = ConnectionFactory(external_account_id="a"), ConnectionFactory(external_account_id="b")
    newer = due_syncs(b, 1, minutes_overdue=1)
    older = due_syncs(a, 1, minutes_overdue=9)
    ordered = list(Sync.objects.order_by("next_run_at").select_related("source_connection", "target_connection"))
    chosen, deferred = scheduling.fair_order(ordered, active={}, cap=1, limit=1)
    assert chosen == older
    assert deferred == newer


def ghl_webhook_sync(**fields: Any) -> Sync:
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind=AuthKind.API_KEY)
    defaults = {"webhook_trigger": True, "poll_interval_seconds": None, "target_object": "task"}
    return SyncFactory(source_connection=ConnectionFactory(), target_connection=hub, **{**defaults, **fields})


def test_the_reconcile_poll_rereads_ghl_source_syncs_fed_by_webhooks() -> None:
    sync = ghl_webhook_sync()
    polled_often = ghl_webhook_sync(poll_interval_seconds=300)
    app_source = SyncFactory(webhook_trigger=True)
    now = timezone.now()
    runs = scheduling.reconcile_poll(now=now)
    run = Run.objects.get(sync=sync)
    assert runs == [run.pk]
    assert run.trigger == RunTrigger.RECONCILE
    assert not Run.objects.filter(sync__in=[polled_often, app_source]).exists()


def test_the_reconcile_poll_waits_for_its_interval() -> None:
    sync = ghl_webhook_sync()
    now = timezone.now()
    scheduling.reconcile_poll(now=now)
    Run.objects.filter(sync=sync).update(status=RunStatus.SUCCEEDED)
    assert scheduling.reconcile_poll(now=now + timedelta(minutes=5)) == []
    assert len(scheduling.reconcile_poll(now=now + scheduling.RECONCILE_INTERVAL + timedelta(minutes=1))) == 1


@pytest.mark.django_db(transaction=True)
def test_the_beat_tasks_run_in_a_real_worker(celery_worker: Any) -> None:
    from celery import current_app

    from tests.support import wait_until

    [sync] = due_syncs(ConnectionFactory(external_account_id="loc-worker"), 1)
    webhook_sync = ghl_webhook_sync()
    current_app.send_task("contacts_sync.tasks.syncs_dispatch_due_task")
    current_app.send_task("contacts_sync.tasks.reconcile_poll_task")
    wait_until(
        lambda: Run.objects.filter(sync=sync, trigger=RunTrigger.SCHEDULE).exists(),
        timeout=30,
        what="the dispatcher's run",
    )
    wait_until(
        lambda: Run.objects.filter(sync=webhook_sync, trigger=RunTrigger.RECONCILE).exists(),
        timeout=30,
        what="the reconcile run",
    )
    sync.refresh_from_db()
    assert sync.next_run_at > timezone.now()


def test_a_notes_sync_which_ghl_cannot_read_by_change_date_is_reconciled_daily_not_every_30_minutes() -> None:
    notes = ghl_webhook_sync(source_object="note")
    contacts = ghl_webhook_sync()
    now = timezone.now()
    assert len(scheduling.reconcile_poll(now=now)) == 2
    Run.objects.update(status=RunStatus.SUCCEEDED)
    later = now + scheduling.RECONCILE_INTERVAL + timedelta(minutes=1)
    assert [Run.objects.get(pk=pk).sync_id for pk in scheduling.reconcile_poll(now=later)] == [contacts.pk]
    Run.objects.update(status=RunStatus.SUCCEEDED)
    next_day = now + scheduling.FULL_READ_RECONCILE_INTERVAL + timedelta(minutes=1)
    assert notes.pk in {Run.objects.get(pk=pk).sync_id for pk in scheduling.reconcile_poll(now=next_day)}
