"""The operator's day in a real browser: pages that follow a real run to its end without a reload, a connection
whose API fails turning red at once, the failed-record workflow, a new sync's preview and Go live, and the sync
lifecycle. Where background work is the point, the engine runs in a real Celery worker against the emulators."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import runs, status
from tests.e2e.monitoring_seed import browser_login, shot
from tests.e2e.runs_seed import runs_seed
from tests.factories import RunFactory
from tests.support import wait_until
from tests.sync.world import NO_LIMIT, HubstaffOrg, client_sync, connections, ghl_contacts, wait_finished

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_WAIT_MS = 60_000  # a run of a few slow pages, plus one 5 s poll


def _open(browser: Any, live_server: Any, user: Any, path: str) -> Any:
    """A page in its own browser context (each one visible, so each one polls), logged in as `user`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    browser_login(page, live_server, user)
    page.goto(f"{live_server.url}{path}")
    return page


def _broken_clients(org: HubstaffOrg, n: int) -> None:
    """Clients whose email is no email: the default mapping refuses them (failed items, with the reason)."""
    for i in range(n):
        org.send(
            "POST",
            f"/organizations/{org.org_id}/clients",
            {"name": f"Broken{i} Org{org.org_id}", "emails": [f"broken{i}-at-example"], "phone": ""},
        )


@pytest.mark.worker
@pytest.mark.timeout(600)
def test_every_page_follows_a_real_run_to_its_end_without_a_reload(
    browser: Any, clean_sandbox: Any, celery_worker: Any, live_server: Any, editor: Any, tmp_path: Path
):
    org = HubstaffOrg(clean_sandbox, clients=8)
    _broken_clients(org, 2)
    sync = client_sync(clean_sandbox, org, page_limit=3)
    # the sync is degraded from an earlier run: the overview's text must follow the new run's figures
    status.run_finished(
        run=RunFactory(sync=sync, status=m.RunStatus.PARTIAL, read_count=10, created_count=7, failed_count=3)
    )
    assert m.Sync.objects.get(pk=sync.pk).health_reason == "3 of 10 items failed (30%)"
    clean_sandbox.set_faults("hubstaff", "*", latency_ms=2500, rate_limit=NO_LIMIT)  # slow pages: watchable
    run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
    wait_until(lambda: m.Run.objects.get(pk=run.pk).status == m.RunStatus.RUNNING, timeout=30, what="running")

    detail = _open(browser, live_server, editor, f"/runs/{run.pk}/")
    history = _open(browser, live_server, editor, "/runs/")
    sync_page = _open(browser, live_server, editor, f"/syncs/{sync.pk}/")
    overview = _open(browser, live_server, editor, "/")
    try:
        assert detail.locator("#run-live").get_attribute("data-status") == "running"
        assert detail.get_by_role("button", name="Cancel").is_visible()
        assert history.locator(f'tr[data-run="{run.pk}"]').get_attribute("data-status") == "running"
        assert sync_page.locator(f'#run-now [data-run="{run.pk}"]').get_attribute("data-status") == "running"
        assert overview.locator(f'[data-sync-id="{sync.pk}"]').get_attribute("data-status") == "running"

        detail.wait_for_selector('#run-live[data-status="partial"]', timeout=LIVE_WAIT_MS)
        detail.wait_for_selector("#run-items tbody tr[data-item]")  # the items arrived with it
        assert detail.get_by_role("button", name="Cancel").count() == 0
        assert detail.get_by_role("button", name="Retry failed items").is_visible()
        assert detail.locator("#run-items tbody tr[data-item]").count() == 10
        assert detail.locator("#run-items tbody tr").first.get_attribute("class").startswith("item-failed")
        assert detail.locator("table.call-groups tbody tr").count() >= 2  # Hubstaff reads, GHL writes
        assert detail.locator("#run-live").get_attribute("hx-trigger") is None  # polling stopped
        shot(detail, "run-detail-finished-live.png", tmp_path)

        history.wait_for_selector(f'tr[data-run="{run.pk}"][data-status="partial"]', timeout=LIVE_WAIT_MS)
        sync_page.wait_for_selector(f'#run-now [data-run="{run.pk}"][data-status="partial"]', timeout=LIVE_WAIT_MS)
        sync_page.wait_for_selector(f'#recent-runs tr[data-run="{run.pk}"][data-status="partial"]')
        overview.wait_for_selector(f'[data-sync-id="{sync.pk}"][data-status="degraded"]', timeout=LIVE_WAIT_MS)
        overview.wait_for_function(
            f"document.querySelector('[data-sync-id=\"{sync.pk}\"] .tile-reason').textContent"
            ".includes('2 of 10 items failed')",
            timeout=LIVE_WAIT_MS,
        )
    finally:
        for page in (detail, history, sync_page, overview):
            page.context.close()


@pytest.mark.worker
@pytest.mark.timeout(600)
def test_a_connection_whose_api_answers_500_turns_red_on_the_overview_without_waiting_for_the_check(
    browser: Any, clean_sandbox: Any, celery_worker: Any, live_server: Any, viewer: Any
):
    org = HubstaffOrg(clean_sandbox, clients=2)
    sync = client_sync(clean_sandbox, org, page_limit=10)
    overview = _open(browser, live_server, viewer, "/")
    try:
        badge = overview.locator(".conn-strip .badge", has_text=sync.target_connection.name)
        assert badge.get_attribute("data-status") == "connected"
        clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=1.0)  # GHL answers 500
        failed = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
        assert failed.status == m.RunStatus.FAILED
        overview.wait_for_selector('.conn-strip .badge[data-status="error"]', timeout=LIVE_WAIT_MS)
        assert badge.get_attribute("data-status") == "error"
        assert (
            overview.locator(".conn-strip .badge", has_text=sync.source_connection.name).get_attribute("data-status")
            == "connected"
        )
    finally:
        overview.context.close()


def test_failed_records_are_ignored_with_a_note_replayed_selected_in_bulk_and_exported(
    page: Any, live_server: Any, editor: Any, tmp_path: Path
):
    data = runs_seed(editor)
    run = data["failed_run"]
    browser_login(page, live_server, editor)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    first_row = page.locator("#run-items tbody tr").first
    assert "item-failed" in (first_row.get_attribute("class") or "")  # failures first

    # ignore one, with who and why
    row = page.locator("#run-items tbody tr:has(.ignore-one)").first
    source_id = row.locator('td[data-label="Source id"] code').inner_text()
    row.locator(".ignore-one summary").click()
    row.locator('input[name="note"]').fill("duplicate test vendor, removed in UpGuard")
    row.get_by_role("button", name="Ignore this failure").click()
    page.wait_for_selector(".message-success")
    ignored = m.RunItem.objects.get(run=run, source_id=source_id, action=m.ItemAction.FAILED)
    assert (ignored.acknowledged_by_id, ignored.acknowledge_note) == (
        editor.pk,
        "duplicate test vendor, removed in UpGuard",
    )
    assert "duplicate test vendor, removed in UpGuard" in page.locator(f'tr[data-item="{ignored.pk}"]').inner_text()

    # bulk: every open failure on the page, ignored with one note
    bulk = page.locator("#items-bulk")
    assert bulk.get_by_role("button", name="Ignore selected").is_disabled()
    bulk.locator("[data-select-all]").check()
    picked = page.locator('input[name=item][form="items-bulk"]:checked').count()
    assert picked >= 5 and bulk.locator("[data-selected-count]").inner_text() == f"{picked} selected"
    page.locator('input[name=item][form="items-bulk"]').last.uncheck()  # keep one (the read-back mismatch)
    bulk.locator('input[name="note"]').fill("known vendor data problems, ticket OPS-42")
    bulk.get_by_role("button", name="Ignore selected").click()
    page.wait_for_selector(".message-success")
    still_open = m.RunItem.objects.filter(
        run=run, action=m.ItemAction.FAILED, acknowledged_at__isnull=True, resolved_by__isnull=True
    )
    assert still_open.count() == 0
    assert m.RunItem.objects.filter(acknowledge_note="known vendor data problems, ticket OPS-42").count() == picked - 1
    shot(page, "run-detail-ignored.png", tmp_path)

    # CSV of the failed items
    with page.expect_download() as download_info:
        page.locator('select[name="action"]').select_option("failed")
        page.wait_for_selector('a[data-action="export"][href*="action=failed"]')
        page.locator('a[data-action="export"]').click()
    path = download_info.value.path()
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert len(rows) == run.items.filter(action=m.ItemAction.FAILED).count()
    assert {r["acknowledge_note"] for r in rows} >= {"known vendor data problems, ticket OPS-42"}

    # replay the read-back mismatch now: a retry run of that one record
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    mismatch = page.locator("#run-items tr.item-verify_failed")
    mismatch.get_by_role("button", name="Replay now").click()
    page.wait_for_url(f"{live_server.url}/runs/*/")
    retry = m.Run.objects.filter(retry_of=run).order_by("-pk").first()
    assert page.url == f"{live_server.url}/runs/{retry.pk}/"
    assert retry.checkpoint["only_ids"] == [m.RunItem.objects.get(run=run, action="verify_failed").source_id]
    assert "Replaying 1 record" in page.locator(".message-success").inner_text()


@pytest.mark.worker
@pytest.mark.timeout(600)
def test_a_new_sync_previews_its_first_run_and_writes_only_after_go_live(
    page: Any, clean_sandbox: Any, celery_worker: Any, live_server: Any, editor: Any, tmp_path: Path
):
    org = HubstaffOrg(clean_sandbox, clients=6)
    _broken_clients(org, 1)
    hub, ghl = connections(clean_sandbox, org)
    browser_login(page, live_server, editor)
    page.goto(f"{live_server.url}/syncs/new/?recipe=hubstaff_client_to_ghl_contact")
    page.fill("input[name=name]", "Clients of the new organization")
    page.select_option("select[name=source_connection]", value=str(hub.pk))
    page.select_option("select[name=target_connection]", value=str(ghl.pk))
    page.fill("textarea[name=options]", '{"page_limit": 50}')
    page.click("text=Create sync")
    page.wait_for_selector("text=nothing is written until you press Go live")
    sync = m.Sync.objects.get(name="Clients of the new organization")
    assert not sync.enabled and not sync.is_live
    # the preview finishes in the worker; the page shows its figures and reasons without a reload
    page.wait_for_selector('#sync-preview [data-preview="partial"]', timeout=LIVE_WAIT_MS)
    assert page.locator('[data-count="would_create"]').inner_text() == "6"
    assert page.locator('[data-count="failed"]').inner_text() == "1"
    assert "email: not a valid email address" in page.locator("table.preview-failures").inner_text()
    assert ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com") == []  # nothing written
    assert page.locator('[data-action="run-now"]').count() == 0
    shot(page, "sync-preview.png", tmp_path)

    page.get_by_role("button", name="Go live").click()
    page.wait_for_selector("text=is live: its first run")
    first = m.Run.objects.get(sync=sync, dry_run=False)
    assert first.trigger == m.RunTrigger.MANUAL
    first = wait_finished(first)
    assert (first.status, first.created_count, first.failed_count) == (m.RunStatus.PARTIAL, 6, 1)
    assert len(ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")) == 6
    page.wait_for_selector(f'#run-now [data-run="{first.pk}"][data-status="partial"]', timeout=LIVE_WAIT_MS)
    assert page.locator('[data-action="run-now"]').is_visible()


def test_a_sync_is_cloned_archived_restored_and_deleted_after_typing_its_name(
    page: Any, live_server: Any, editor: Any, tmp_path: Path
):
    data = runs_seed(editor)
    sync = data["failing"]
    browser_login(page, live_server, editor)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/")

    page.locator('[data-action="clone"]').click()
    page.fill("input[name=name]", "UpGuard vendors → second GHL location")
    page.locator('[data-action="clone-confirm"]').click()
    page.wait_for_selector("text=It is paused: look at its preview")
    clone = m.Sync.objects.get(name="UpGuard vendors → second GHL location")
    assert page.url == f"{live_server.url}/syncs/{clone.pk}/" and not clone.is_live

    page.goto(f"{live_server.url}/syncs/{sync.pk}/")
    page.locator('[data-action="archive"]').click()
    page.wait_for_selector(".archived-note")
    page.goto(f"{live_server.url}/")
    assert page.locator(f'[data-sync-id="{sync.pk}"]').count() == 0
    page.goto(f"{live_server.url}/syncs/{sync.pk}/")
    page.locator('[data-action="restore"]').click()
    page.wait_for_selector("text=is restored")
    assert m.Sync.objects.get(pk=sync.pk).archived_at is None

    runs_before = m.Run.objects.filter(sync=sync).count()
    page.locator('[data-action="delete"]').click()
    assert page.locator('[data-impact="runs"]').inner_text() == f"{runs_before:,}"
    page.fill("input[name=confirm]", "UpGuard vendors")  # not the whole name
    page.locator('[data-action="delete-confirm"]').click()
    assert "not the sync's name" in page.locator("#sync-delete-form").inner_text()
    assert m.Sync.objects.filter(pk=sync.pk).exists()
    page.fill("input[name=confirm]", sync.name)
    page.locator('[data-action="delete-confirm"]').click()
    page.wait_for_selector(f"text=Deleted “{sync.name}”")
    assert not m.Sync.objects.filter(pk=sync.pk).exists() and not m.Run.objects.filter(sync_id=sync.pk).exists()
    assert m.Sync.objects.filter(pk=clone.pk).exists()
