"""In a real browser: an editor creates a sync from a recipe and presses Run now (twice)."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync.models import AuthKind, Provider, Run, RunStatus, RunTrigger, Sync
from tests.factories import ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, live_server: Any, user: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", user.raw_password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_an_editor_creates_a_sync_from_a_recipe_goes_live_and_presses_run_now(
    page: Any, live_server: Any, make_user: Any
) -> None:
    editor = make_user("Editor")
    ConnectionFactory(
        name="Acme Hubstaff",
        provider=Provider.HUBSTAFF,
        auth_kind=AuthKind.API_KEY,
        external_account_id="501",
    )
    ConnectionFactory(name="Acme HighLevel", external_account_id="loc-acme")
    log_in(page, live_server, editor)

    page.click("nav >> text=Syncs")
    page.click("text=+ New sync")
    page.click("[data-recipe=hubstaff_client_to_ghl_contact]")
    page.fill("input[name=name]", "Acme clients to HighLevel")
    page.select_option("select[name=source_connection]", label="Acme Hubstaff · 501 · connected")
    page.fill("input[name=poll_interval_seconds]", "600")
    page.fill("textarea[name=options]", "[1, 2]")  # not an object: the form says so, nothing is created
    page.click("text=Create sync")
    assert "must be a JSON object" in page.locator("#sync-create-form .errorlist").inner_text()
    assert not Sync.objects.exists()
    page.fill("textarea[name=options]", "")
    page.click("text=Create sync")
    page.wait_for_selector("text=created with the recipe's default mapping")
    sync = Sync.objects.get()
    assert page.url == f"{live_server.url}/syncs/{sync.pk}/"
    assert (sync.name, sync.poll_interval_seconds, sync.webhook_trigger) == (
        "Acme clients to HighLevel",
        600,
        True,
    )
    # not live yet: a preview (no worker here, so it stays queued) and Go live, no Run now
    preview = Run.objects.get(sync=sync)
    assert (preview.trigger, preview.dry_run) == (RunTrigger.PREVIEW, True)
    assert page.locator("button:has-text('Run now')").count() == 0
    Run.objects.filter(pk=preview.pk).update(status=RunStatus.SUCCEEDED)  # the preview was looked at

    page.click("button:has-text('Go live')")
    page.wait_for_selector("text=is live: its first run")
    run = Run.objects.get(sync=sync, dry_run=False)
    assert (run.trigger, run.status) == (RunTrigger.MANUAL, RunStatus.QUEUED)
    assert page.locator("#run-now a", has_text=f"#{run.pk}").count() == 1
    page.wait_for_selector(f"#recent-runs >> text=#{run.pk}")

    page.click("button:has-text('Run now')")  # the first run has no worker here, so it is still queued
    page.wait_for_selector("#run-now >> text=already active")
    assert Run.objects.filter(sync=sync, dry_run=False).count() == 1


def test_a_viewer_sees_the_sync_read_only(page: Any, live_server: Any, make_user: Any) -> None:
    from tests.factories import SyncFactory

    sync = SyncFactory(name="Read only sync")
    viewer = make_user("Viewer")
    log_in(page, live_server, viewer)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/")
    assert page.locator("h1").first.inner_text().startswith("Read only sync")
    assert page.locator("button:has-text('Run now')").count() == 0
    assert page.locator("#sync-settings fieldset[disabled]").count() == 1
