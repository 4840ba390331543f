"""Browser: sign-ins (a failed one too) land in the audit log; an admin filters it and downloads the CSV; a
Viewer gets the 403 page."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from contacts_sync.services.audit import audit_record
from tests.e2e.test_connections import login
from tests.factories import ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_finds_a_failed_sign_in_and_exports_the_log(
    browser: Any, page: Any, live_server: Any, admin_user: Any, viewer: Any, tmp_path: Path
):
    conn = ConnectionFactory(name="Acme GHL")
    audit_record(
        actor=admin_user, action="connection.update", obj=conn, changes={"name": {"from": "Acme", "to": "Acme GHL"}}
    )
    stranger = browser.new_context()
    try:  # someone else tries the viewer's address with a wrong password
        other = stranger.new_page()
        other.goto(f"{live_server.url}/accounts/login/")
        other.fill("input[name=login]", viewer.email)
        other.fill("input[name=password]", "not-the-password-1")
        other.click("form button[type=submit]")
        other.wait_for_selector(".errorlist, [role=alert], .alert")
    finally:
        stranger.close()

    login(page, live_server, admin_user)  # through the real form: audited as a login
    page.goto(f"{live_server.url}/audit/")
    assert page.locator("nav.nav a", has_text="Audit log").count() == 1
    rows = page.locator("table.audit tbody tr")
    actions = rows.locator("td[data-label=Action]").all_inner_texts()
    assert actions[:2] == ["user.login", "user.login_failed"]  # newest first
    failed = page.locator('tr[data-action="user.login_failed"]')
    assert viewer.email in failed.inner_text() and "127.0.0.1" in failed.inner_text()
    assert "not-the-password-1" not in page.content()

    page.select_option("select[name=action]", "connection.")  # every connection action
    page.wait_for_selector('tr[data-action="user.login"]', state="detached")
    assert page.locator("table.audit tbody tr").count() == 1
    assert "name: Acme → Acme GHL" in page.locator("table.audit").inner_text()
    assert "action=connection." in page.url  # the filtered view is a link that can be shared

    with page.expect_download() as download:
        page.click("#audit-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert header[2] == "action" and [r[2] for r in lines] == ["connection.update"]
    assert lines[0][1] == admin_user.email


def test_a_viewer_gets_the_403_page_on_the_audit_log(page: Any, live_server: Any, viewer: Any):
    login(page, live_server, viewer)
    response = page.goto(f"{live_server.url}/audit/")
    assert response is not None and response.status == 403
    assert "Admin" in page.locator("main").inner_text()
    assert page.locator("nav.nav a", has_text="Audit log").count() == 0
