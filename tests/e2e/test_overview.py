from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import alerts, status
from tests.e2e.monitoring_seed import browser_login, seed, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _bar_width(page: Any, sync_id: int) -> str:
    return page.locator(f'[data-sync-id="{sync_id}"] .progress > span').get_attribute("style") or ""


def test_the_overview_updates_a_running_tile_and_flips_it_to_failing(
    page: Any, live_server: Any, viewer: Any, tmp_path: Path
):
    data = seed()
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/")
    run = data["running"]
    tile = page.locator(f'[data-sync-id="{run.sync_id}"]')
    assert tile.get_attribute("data-status") == "running"
    assert "41%" in _bar_width(page, run.sync_id)  # 102 of 250
    assert page.locator('[data-sync-id] [data-status="failing"]').count() == 1
    assert page.locator(".sparkline").count() == 5
    shot(page, "overview.png", tmp_path)

    m.Run.objects.filter(pk=run.pk).update(created_count=138)  # the run moves on: 200 of 250
    page.wait_for_function(
        f"() => document.querySelector('[data-sync-id=\"{run.sync_id}\"] .progress > span').style.width === '80%'",
        timeout=15000,
    )

    run.refresh_from_db()
    m.Run.objects.filter(pk=run.pk).update(status=m.RunStatus.FAILED, error_summary="ServerError: 503")
    run.refresh_from_db()
    status.run_finished(run=run)
    alerts.status_changes_send_pending()
    page.wait_for_selector(f'[data-sync-id="{run.sync_id}"][data-status="failing"]', timeout=15000)
    assert "ServerError: 503" in tile.inner_text()
    assert page.locator("#overview-live").get_attribute("data-active") == "0"  # the 5 s poll is gone


def test_the_run_detail_shows_failed_items_and_the_api_calls(page: Any, live_server: Any, editor: Any, tmp_path: Path):
    data = seed()
    browser_login(page, live_server, editor)
    run = data["failed_run"]
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    assert page.get_by_role("button", name="Retry failed items").is_visible()
    assert page.locator("table.call-groups tbody tr").count() >= 3
    page.locator("#run-items details").first.locator("summary").click()
    shot(page, "run-detail.png", tmp_path)
    page.select_option("select[name=error]", "ValidationError")
    page.wait_for_function("() => document.querySelectorAll('#run-items tbody tr').length === 5")
    assert "E.164" in page.locator("#run-items").inner_text()


def test_the_alert_list_acknowledges_an_alert(page: Any, live_server: Any, editor: Any, tmp_path: Path):
    seed()
    browser_login(page, live_server, editor)
    page.goto(f"{live_server.url}/alerts/?state=")
    shot(page, "alerts.png", tmp_path)
    row = page.locator('tr[data-state="open"]').first
    title = row.locator("td").nth(1).inner_text()
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector(".message-success")
    assert m.Alert.objects.filter(state=m.AlertState.ACKNOWLEDGED).count() == 1
    assert title.split(":")[0] in page.locator(".message-success").inner_text()


def test_an_admin_adds_a_channel_through_the_htmx_form_after_a_mistake(
    page: Any, live_server: Any, admin_user: Any, tmp_path: Path
):
    data = seed()
    browser_login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/alerts/channels/")
    page.fill("input[name=name]", "On-call mail")
    page.click(".kind-tabs a[data-kind=slack]")  # each kind shows its own fields: Slack has no addresses
    page.wait_for_selector("#channel-form input[name=slack_url]")
    assert page.locator("#channel-form input[name=target]").get_attribute("type") == "text"  # the #channel
    page.click(".kind-tabs a[data-kind=email]")
    page.wait_for_selector("#channel-form input[name=kind][value=email]", state="attached")
    assert page.locator("#channel-form input[name=slack_url]").count() == 0
    page.fill("input[name=name]", "On-call mail")
    page.fill("input[name=target]", "oncall@example, ops@example.com")
    page.click("#channel-form button[type=submit]")
    page.wait_for_selector("#channel-form .errorlist")
    assert "is not an email address" in page.locator("#channel-form").inner_text()
    assert page.locator("input[name=name]").input_value() == "On-call mail"  # nothing typed was lost
    page.fill("input[name=target]", "oncall@example.com, ops@example.com")
    page.click("#channel-form button[type=submit]")
    page.wait_for_selector(".message-success")  # the htmx post redirected to the list
    assert m.AlertChannel.objects.get(name="On-call mail").target == "oncall@example.com, ops@example.com"
    shot(page, "channels.png", tmp_path)
    page.goto(f"{live_server.url}/runs/?sync={data['failing'].pk}")
    assert page.locator("#sync-chart svg").count() == 2
    shot(page, "run-list.png", tmp_path)
