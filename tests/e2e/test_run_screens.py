"""Browser: the pages of the operator's day (run detail with its failure actions, the run history, a sync that is
not live yet with its preview, clone, delete, the archived list) at 1440 px and 390 px: no sideways scrolling,
a label on every table cell. With SCREENSHOTS_DIR set they refresh the screenshots listed in docs/screens.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.monitoring_seed import browser_login
from tests.e2e.runs_seed import runs_seed
from tests.e2e.test_screens import DESKTOP, PHONE, _overflow, _shot, _unlabelled_cells

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pages(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(screenshot name, path, what to open first: a <details> summary to click, or "")."""
    return [
        ("run-detail-failures", f"/runs/{d['failed_run'].pk}/", "#run-items details.payload summary"),
        ("run-detail-preview", f"/runs/{d['preview'].pk}/", ""),
        ("runs-live", "/runs/", ""),
        ("sync-not-live", f"/syncs/{d['new'].pk}/", ""),
        ("sync-detail-live", f"/syncs/{d['failing'].pk}/", ""),
        ("sync-clone", f"/syncs/{d['failing'].pk}/clone/", ""),
        ("sync-delete", f"/syncs/{d['failing'].pk}/delete/", ""),
        ("syncs-archived", "/syncs/?archived=1", ""),
        ("overview-stalled", "/", ""),
    ]


def test_the_run_and_sync_pages_fit_a_phone_and_a_desktop(browser: Any, live_server: Any, editor: Any, tmp_path: Path):
    screens = _pages(runs_seed(editor))
    problems = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_login(page, live_server, editor)
        for name, path, open_first in screens:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (name, path)
            page.wait_for_load_state("networkidle")
            if open_first:
                page.locator(open_first).nth(1).click()  # the second failure: the one with a nested payload
                page.locator(".ignore-one summary").first.click()
            if (excess := _overflow(page)) > 0:
                problems.append(f"{name} ({label}): {excess} px too wide")
            problems += [f"{name}: unlabelled cell {cell}" for cell in _unlabelled_cells(page)]
            _shot(page, f"{name}-{label}", tmp_path)
        context.close()
    assert problems == []
