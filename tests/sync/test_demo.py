"""The demo seed (services.demo, services.demo_agency): every app connected, idempotent rows, first runs in order
(task and note syncs only after their contact sync), exactly one deliberately failing sync, and an agency with a
sync template; end to end against the emulators over HTTP with a real Celery worker."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.connectors import registry
from contacts_sync.services import demo, demo_agency, runs
from contacts_sync.services.connections import connection_rotate_secret
from tests.support import start_worker, wait_until
from tests.sync.world import NO_LIMIT, wait_finished

pytestmark = pytest.mark.django_db(transaction=True)

APPS = {m.Provider.HUBSTAFF, m.Provider.HOTSPOTSYSTEM, m.Provider.STARBUERO, m.Provider.UPGUARD, m.Provider.CUSTOM}
FAILING = next(spec.name for spec in demo.DEMO_SYNCS if spec.failing)
# The first runs of the whole demo against emulators without rate limits (the demo itself keeps GHL's).
FIRST_RUNS_TIMEOUT = 900


def _counts() -> dict[str, int]:
    models = (m.Connection, m.Sync, m.MappingVersion, m.SyncTemplate, m.SyncTemplateMember, m.AgencyLocation)
    return {model.__name__: model.objects.count() for model in models}


def test_seeding_twice_gives_the_same_connections_and_syncs(admin_user: Any, sandbox: Any) -> None:
    with override_settings(SANDBOX_URL=sandbox.url):
        first = demo.demo_seed(admin_email=admin_user.email, enqueue_start=False)
        counts = _counts()
        again = demo.demo_seed(admin_email=admin_user.email, enqueue_start=False)
    assert [s.pk for s in first] == [s.pk for s in again]
    assert _counts() == counts
    assert len(first) == len(demo.DEMO_SYNCS) and m.Connection.objects.count() == len(demo.DEMO_CONNECTIONS)
    assert all(s.mapping_version is not None for s in first)
    assert {c.provider for c in m.Connection.objects.all()} == APPS | {m.Provider.GHL}
    for provider in APPS:  # every app has a connection and at least one sync
        assert (
            m.Sync.objects.filter(source_connection__provider=provider).exists()
            or m.Sync.objects.filter(target_connection__provider=provider).exists()
        )
    ghl = m.Connection.objects.get(provider=m.Provider.GHL)
    assert ghl.base_url == f"{sandbox.url}/ghl" and ghl.secrets["access_token"] == demo.GHL_TOKEN
    assert [s.name for s in first if s.name == FAILING] == [FAILING]


def test_without_a_sandbox_url_nothing_is_seeded(admin_user: Any) -> None:
    with override_settings(SANDBOX_URL=""):
        assert demo.demo_seed(admin_email=admin_user.email) == []
    assert not m.Sync.objects.exists()


def test_a_previous_demos_leftovers_are_stopped_and_its_failing_hubstaff_org_retired(
    admin_user: Any, sandbox: Any
) -> None:
    with override_settings(SANDBOX_URL=sandbox.url):
        syncs = demo.demo_seed(admin_email=admin_user.email, enqueue_start=False)
        faulty = m.Connection.objects.create(
            name=demo.RETIRED_CONNECTIONS[0],
            provider=m.Provider.HUBSTAFF,
            auth_kind=m.AuthKind.OAUTH2,
            external_account_id="1002",
        )
        old = m.Sync.objects.create(
            name=demo.RETIRED_SYNCS[0],
            source_connection=faulty,
            source_object="contact",
            target_connection=syncs[0].target_connection,
            target_object="contact",
        )
        running = m.Run.objects.create(sync=syncs[0], status=m.RunStatus.RUNNING, trigger=m.RunTrigger.MANUAL)
        demo.demo_seed(admin_email=admin_user.email, enqueue_start=False)
    running.refresh_from_db()
    assert running.status == m.RunStatus.CANCELLED and "restarted" in running.error_summary
    assert not m.Sync.objects.filter(pk=old.pk).exists()
    faulty.refresh_from_db()
    assert faulty.archived_at is not None and faulty.secrets == {}


def _limits_off(sandbox: Any) -> None:
    """Emulators and our budgets without rate limits: the first runs in minutes, not the demo's quarter hour."""
    for app in ("ghl", "hubstaff", "upguard"):
        sandbox.set_faults(app, "*", rate_limit=NO_LIMIT)
    for conn in m.Connection.objects.all():
        setting = registry.spec(conn.provider).rate_limit_setting
        if setting:
            conn.config = {**conn.config, setting: 0}
            conn.save(update_fields=["config"])


def _first_runs_done() -> bool:
    syncs = list(m.Sync.objects.filter(archived_at__isnull=True))
    return len(syncs) == len(demo.DEMO_SYNCS) + len(demo_agency.AGENCY_LOCATIONS) and all(
        (run := s.runs.exclude(trigger=m.RunTrigger.WEBHOOK).order_by("pk").first()) is not None
        and run.status not in m.ACTIVE_RUN_STATUSES
        for s in syncs
    )


def _check_first_runs(sandbox: Any) -> None:
    """Every sync but the failing one wrote records; its failures are bad source records, each with its reason;
    a task or note failed for want of a contact only where that contact's own record failed."""
    for sync in m.Sync.objects.filter(archived_at__isnull=True):
        run = sync.runs.exclude(trigger=m.RunTrigger.WEBHOOK).order_by("pk").first()
        if sync.name == FAILING:
            assert run.status == m.RunStatus.FAILED and run.read_count == 0
            assert "403" in run.error_summary and "VendorRisk" in run.error_summary
            assert (
                "VendorRisk" in sync.source_connection.name and "upguard-sandbox-key" in sync.source_connection.name
            )  # the fix hint, shown wherever the connection is
            continue
        assert run.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), (sync.name, run.error_summary)
        assert run.read_count > 0 and run.created_count + run.updated_count + run.unchanged_count > 0, sync.name
        failed = run.items.filter(action=m.ItemAction.FAILED)
        assert all(i.error_class and i.error_message for i in failed), sync.name
        for item in failed.filter(error_class="ParentNotLinked"):  # never "not yet": its contact's record failed
            assert "the contact sync could not write that record (" in item.error_message, item.error_message
        own = failed.exclude(error_class="ParentNotLinked")
        examples = list(own.values_list("error_message", flat=True)[:3])
        assert own.count() * 10 <= run.read_count, (sync.name, run.error_summary, examples)  # a few messy ones
        if sync.target_object in ("task", "note"):  # written on contacts the contact syncs made
            assert run.items.filter(action=m.ItemAction.CREATED).exists()
    ghl = requests.get(f"{sandbox.url}/ghl/_admin/stats", timeout=10).json()
    assert ghl, "the GHL emulator reports what it received"


def _started_after_parents() -> None:
    """No task or note sync's first run was created before its contact sync's first run had finished."""
    by_name = {s.name: s for s in m.Sync.objects.all()}
    for spec in demo.DEMO_SYNCS:
        if not spec.after:
            continue
        child = by_name[spec.name].runs.exclude(trigger=m.RunTrigger.WEBHOOK).order_by("pk").first()
        for parent_name in spec.after:
            parent = by_name[parent_name].runs.order_by("pk").first()
            assert parent.finished_at is not None and child.created_at >= parent.finished_at, spec.name


def _fixing_the_failing_sync_makes_it_recover(user: Any) -> None:
    """What the README tells a newcomer: paste the right key on the connection, run it again, it recovers."""
    sync = m.Sync.objects.get(name=FAILING)
    connection_rotate_secret(connection=sync.source_connection, secrets={"api_key": "upguard-sandbox-key"}, user=user)
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL, user=user), timeout=300)
    assert run.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL) and run.read_count > 0, run.error_summary
    sync.refresh_from_db()
    assert sync.health in (m.SyncHealth.HEALTHY, m.SyncHealth.DEGRADED), sync.health_reason
    assert sync.source_connection.status == m.ConnectionStatus.CONNECTED


def test_the_demo_runs_contacts_first_and_only_the_deliberate_sync_fails(
    admin_user: Any, clean_sandbox: Any, redis_client: Any, tmp_path: Path
) -> None:
    from django.db import connection

    with override_settings(SANDBOX_URL=clean_sandbox.url, GHL_APP_ID="sandbox-app"):
        demo.demo_seed(admin_email=admin_user.email)  # demo_start_task waits in the queue for the worker
        _limits_off(clean_sandbox)
        worker = start_worker(
            connection.settings_dict["NAME"],
            tmp_path,
            pool="threads",
            concurrency=8,
            extra_env={"SANDBOX_URL": clean_sandbox.url, "GHL_APP_ID": "sandbox-app"},
        )
        try:
            wait_until(_first_runs_done, timeout=FIRST_RUNS_TIMEOUT, interval=2, what="the demo's first runs")
            _check_first_runs(clean_sandbox)
            _started_after_parents()
            _fixing_the_failing_sync_makes_it_recover(admin_user)
            counts = _counts()
            demo.demo_seed(admin_email=admin_user.email, enqueue_start=False)  # make demo again
            held = m.Sync.objects.filter(template_member__isnull=False)  # not due before demo_start remade them
            assert held.count() == 3 and all(s.next_run_at > timezone.now() for s in held)
            demo.demo_start()  # the agency and the template are found again, nothing new is created
            assert _counts() == counts
        finally:
            worker.stop()
    agency = m.Connection.objects.get(company_id=demo_agency.AGENCY_ID, agency__isnull=True)
    assert agency.locations.count() == len(demo_agency.AGENCY_LOCATIONS)
    template = m.SyncTemplate.objects.get(name=demo_agency.TEMPLATE_NAME)
    assert template.members.count() == len(demo_agency.AGENCY_LOCATIONS)
    errors = Counter(m.RunItem.objects.filter(action=m.ItemAction.FAILED).values_list("error_class", flat=True))
    assert set(errors) <= {"MappingError", "ParentNotLinked"}, errors
