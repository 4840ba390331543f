"""Browser: edit a mapping against real samples from the Hubstaff emulator, save, and restore a version."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from contacts_sync import models as m
from contacts_sync.services.mappings import mapping_version_create
from tests.e2e.htmx import wait_settled
from tests.services.test_mappings import hubstaff_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME_ONLY = [
    {
        "source": "name",
        "constant": None,
        "template": None,
        "target": "name",
        "transforms": [{"name": "trim", "args": {}}],
        "required": True,
        "default": None,
    }
]
E164_IN_PAYLOAD = re.compile(r'"phone": "\+\d{8,15}"')


def login(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])


def shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    page.screenshot(path=str(folder / name), full_page=True)


def payloads(page: Any) -> str:
    return "\n".join(page.locator(".map-preview .map-payload").all_inner_texts())


def test_an_editor_adds_a_phone_row_sees_the_preview_change_saves_and_restores_the_old_version(
    page: Any, live_server: Any, sandbox: Any, editor: Any, tmp_path: Path
) -> None:
    sync = hubstaff_sync(sandbox, name="Hubstaff clients → GHL contacts")
    v1 = mapping_version_create(sync=sync, rules=NAME_ONLY, note="names only", user=editor)
    login(page, live_server, editor)

    page.goto(f"{live_server.url}/syncs/{sync.pk}/mapping/")
    page.wait_for_selector(".map-preview tbody tr")
    assert page.locator(".map-preview tbody tr").count() == 5  # five real samples from the emulator
    assert '"name":' in payloads(page) and '"phone"' not in payloads(page)

    page.click("button[value=add_row]")
    page.wait_for_selector("#row-2")
    wait_settled(page)
    page.fill("input[name=rules-1-value]", "phone")
    page.select_option("select[name=rules-1-target]", "phone")
    page.click("button[value='add_step:1']")
    page.wait_for_selector("select[name=rules-1-t-0-name]")
    wait_settled(page)  # the new select hears a change only once htmx has settled it
    page.select_option("select[name=rules-1-t-0-name]", "e164")
    page.wait_for_selector("input[name=rules-1-t-0-a-region]")  # the phone transform's own option
    page.wait_for_function('() => /"phone": "\\+\\d+"/.test(document.querySelector(\'#preview\').innerText)')
    assert E164_IN_PAYLOAD.search(payloads(page))
    assert "(unknown)" not in page.inner_text("#mapping-form")  # every transform is recognised in its dropdown
    # the emulator's messy numbers show up as problems naming the row and the field, in the row itself too
    assert "Row 2, phone: not a valid phone number" in page.inner_text("#preview")
    assert "Row 2, phone:" in page.inner_text("#samples-1")
    shot(page, "mapping-editor.png", tmp_path)

    page.fill("input[name=note]", "add phone in E.164")
    page.click("button[value=save]")
    page.wait_for_selector("text=Saved mapping version 2")
    sync.refresh_from_db()
    assert sync.mapping_version.number == 2
    assert sync.mapping_version.rules[1]["transforms"] == [{"name": "e164", "args": {}}]

    page.click("text=History")
    page.wait_for_selector("#version-2")
    assert "add phone in E.164" in page.inner_text("#version-2")
    assert "added phone phone → phone via e164" in page.inner_text("#version-2").lower()
    shot(page, "mapping-history.png", tmp_path)
    page.click("#version-1 button:has-text('Restore')")
    page.wait_for_selector("text=Version 1 restored as version 3")
    assert "current" in page.inner_text("#version-3")

    sync.refresh_from_db()
    assert sync.mapping_version.number == 3 and sync.mapping_version.rules == v1.rules
    assert sync.mapping_version.restored_from_id == v1.pk
    page.goto(f"{live_server.url}/syncs/{sync.pk}/mapping/")
    page.wait_for_selector(".map-preview tbody tr")
    assert page.locator(".map-row").count() == 1
    assert '"phone"' not in payloads(page)  # the restored version is the one in force
    assert m.AuditEntry.objects.filter(action="mapping.restore", actor=editor).exists()
    page.goto(f"{live_server.url}/mappings/versions/{sync.mapping_version.pk}/")
    assert "restored from version 1" in page.inner_text("main")
    shot(page, "mapping-version.png", tmp_path)


def test_an_invalid_save_in_the_browser_keeps_the_rows_and_names_row_and_field(
    page: Any, live_server: Any, sandbox: Any, editor: Any
) -> None:
    sync = hubstaff_sync(sandbox)
    mapping_version_create(sync=sync, rules=NAME_ONLY, note="", user=editor)
    login(page, live_server, editor)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/mapping/")
    page.click("button[value=add_row]")
    page.wait_for_selector("#row-2")
    wait_settled(page)
    page.fill("input[name=rules-1-value]", "user.name")
    page.select_option("select[name=rules-1-target]", "name")
    page.click("button[value=save]")
    page.wait_for_selector("text=Nothing was saved")
    assert "Row 2, name: is already mapped in row 1" in page.inner_text("#row-2")
    assert page.input_value("input[name=rules-1-value]") == "user.name"  # nothing typed is lost
    assert m.MappingVersion.objects.filter(sync=sync).count() == 1


def test_a_new_row_stays_constant_or_template_after_the_editor_refreshes(
    page: Any, live_server: Any, sandbox: Any, editor: Any
) -> None:
    sync = hubstaff_sync(sandbox)
    mapping_version_create(sync=sync, rules=NAME_ONLY, note="", user=editor)
    login(page, live_server, editor)
    page.goto(f"{live_server.url}/syncs/{sync.pk}/mapping/")
    page.click("button[value=add_row]")
    page.wait_for_selector("#row-2")
    wait_settled(page)
    with page.expect_response(lambda r: r.url.endswith("/mapping/") and r.request.method == "POST"):
        page.select_option("select[name=rules-1-kind]", "constant")  # posts the form, the row is re-rendered
    page.wait_for_load_state("networkidle")
    assert page.input_value("select[name=rules-1-kind]") == "constant"  # it used to snap back to Source field
    assert page.get_attribute("input[name=rules-1-value]", "placeholder") == 'text, 3, true or ["tag"]'
    with page.expect_response(lambda r: r.url.endswith("/mapping/") and r.request.method == "POST"):
        page.select_option("select[name=rules-1-kind]", "template")
    page.wait_for_load_state("networkidle")
    assert page.input_value("select[name=rules-1-kind]") == "template"
    page.fill("input[name=rules-1-value]", "{name} (Hubstaff)")
    page.select_option("select[name=rules-1-target]", "companyName")
    page.fill("input[name=note]", "company from a template")
    page.click("button[value=save]")
    page.wait_for_selector("text=Saved mapping version 2")
    sync.refresh_from_db()
    saved = sync.mapping_version.rules[1]
    assert saved["template"] == "{name} (Hubstaff)" and "_kind" not in saved
    page.click("text=History")
    page.wait_for_selector("#version-2")
    version = page.inner_text("#version-2").lower()
    assert "added" in version and "changed" not in version  # only the row that was added, nothing else
