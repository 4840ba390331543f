"""Browser: the catalogue at 1440 px and 390 px (no sideways scrolling, every cell labelled), searched as a person
types (htmx), and "Create sync" landing on the new-sync form with the recipe chosen. With SCREENSHOTS_DIR set the
test refreshes docs/screenshots/catalog-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.monitoring_seed import browser_login
from tests.e2e.test_screens import DESKTOP, PHONE, _overflow, _shot, _unlabelled_cells

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("label", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_catalogue_fits_the_screen_and_searches_as_you_type(
    browser: Any, live_server: Any, editor: Any, tmp_path: Path, label: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        browser_login(page, live_server, editor)
        page.goto(f"{live_server.url}/catalog/")
        assert page.locator("tr[data-flow]").count() >= 10
        assert _overflow(page) <= 0 and _unlabelled_cells(page) == []
        _shot(page, f"catalog-{label}", tmp_path)

        page.fill("#catalog-q", "TaskComplete Hubstaff")
        page.wait_for_function("() => document.querySelectorAll('tr[data-flow]').length === 1")
        assert page.locator("tr[data-flow]").get_attribute("data-flow") == "ghl_task_to_hubstaff_task"
        assert (
            "q=TaskComplete" in page.url and "Hubstaff" in page.url
        )  # the search is in the address: a link to it can be shared
        assert _overflow(page) <= 0
        _shot(page, f"catalog-search-{label}", tmp_path)

        page.get_by_role("link", name="Create sync").click()
        page.wait_for_url("**/syncs/new/?recipe=ghl_task_to_hubstaff_task")
        assert page.locator("input[name=recipe]").get_attribute("value") == "ghl_task_to_hubstaff_task"
    finally:
        context.close()
