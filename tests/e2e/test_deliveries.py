"""Browser: the delivery log of a "GHL changes -> your app" sync at 1440 px and 390 px (no sideways scrolling,
every cell labelled), refreshed live when a new attempt is logged. With SCREENSHOTS_DIR set the test refreshes
docs/screenshots/deliveries-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contacts_sync import models as m
from tests.e2e.deliveries_seed import delivery_sync, seed_deliveries
from tests.e2e.monitoring_seed import browser_login
from tests.e2e.shots import both_widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_delivery_log_fits_both_widths_and_shows_a_new_attempt_live(
    page: Any, live_server: Any, admin_user: Any, tmp_path: Path
) -> None:
    sync, ep, _ = delivery_sync()
    rows = seed_deliveries(ep)
    browser_login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/deliveries/")
    assert page.locator("tr[data-delivery]").count() == 6
    assert page.locator("button[data-action=replay]").count() == 5  # not for the invalid one
    page.locator("tr[data-status=retrying] details summary").click()
    both_widths(page, "deliveries", tmp_path)

    retrying = rows[2]
    m.WebhookAttempt.objects.create(delivery=retrying, number=3, status_code=200, latency_ms=77)
    m.WebhookDelivery.objects.filter(pk=retrying.pk).update(
        status="delivered", attempts=3, next_attempt_at=None, last_error=""
    )
    page.wait_for_selector(f"tr[data-delivery='{retrying.msg_id}'][data-status=delivered]", timeout=15000)
    assert page.locator("[data-count=delivered]").inner_text().startswith("3")


def test_the_kinds_a_ghl_changes_sync_forwards_are_ticked_on_its_page(
    page: Any, live_server: Any, admin_user: Any, tmp_path: Path
) -> None:
    sync, _, _ = delivery_sync()
    browser_login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/")
    boxes = page.locator("input[name=setting_kinds]")
    assert boxes.count() == 4 and all(boxes.nth(i).is_checked() for i in range(4))
    page.get_by_label("Task changes").uncheck()
    page.locator("#sync-settings button[type=submit]").click()
    page.get_by_text("Settings saved.").wait_for()  # the saved page (an htmx redirect)
    assert not page.get_by_label("Task changes").is_checked() and page.get_by_label("Note changes").is_checked()
    both_widths(page, "outbox-settings", tmp_path)
    sync.refresh_from_db()
    assert sync.options == {"kinds": ["contact", "note", "appointment"]}
