"""The editor, preview, history, restore and version pages over HTTP (Django test client, real PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from contacts_sync import models as m
from contacts_sync.services.mappings import mapping_version_create
from contacts_sync.sync.recipes import default_rules
from tests.factories import ConnectionFactory, RunFactory, SyncFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def editor_post(rules: list[dict[str, Any]], **extra: str) -> dict[str, str]:
    """What the browser posts for these rows (the formset's field names)."""
    data = {
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "200",
        **extra,
    }
    for i, rule in enumerate(rules):
        p = f"rules-{i}"
        kind = "template" if rule.get("template") else "constant" if rule.get("constant") is not None else "source"
        data[f"{p}-kind"] = kind
        data[f"{p}-value"] = rule.get(kind) or ""
        data[f"{p}-target"] = rule.get("target", "")
        if rule.get("required"):
            data[f"{p}-required"] = "on"
        data[f"{p}-on_invalid"] = rule.get("on_invalid", "fail")
        for j, step in enumerate(rule.get("transforms", [])):
            name, args = (step, {}) if isinstance(step, str) else (step["name"], step.get("args", {}))
            data[f"{p}-t-{j}-name"] = name
            data[f"{p}-t-{j}-shown"] = name
            for k, v in args.items():
                data[f"{p}-t-{j}-a-{k}"] = "on" if v is True else str(v)
    return data


@pytest.fixture
def sync(editor: Any) -> m.Sync:
    sync = SyncFactory(source_connection=ConnectionFactory(provider=m.Provider.STARBUERO, name="Phones"))
    mapping_version_create(
        sync=sync, rules=default_rules("hubstaff", "contact", "ghl", "contact"), note="v1", user=editor
    )
    return sync


def test_the_editor_shows_the_current_rules_with_typed_target_dropdowns(client: Any, editor: Any, sync: m.Sync) -> None:
    client.force_login(editor)
    response = client.get(reverse("dashboard:mapping_edit", args=[sync.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    rows = len(default_rules("hubstaff", "contact", "ghl", "contact"))
    assert rows >= 7
    assert f'name="rules-TOTAL_FORMS" value="{rows}"' in html
    assert '<option value="email" selected>Email · email</option>' in html
    assert "Phone to E.164" in html


def test_adding_a_row_re_renders_the_editor_partial_and_asks_the_preview_to_refresh(
    client: Any, editor: Any, sync: m.Sync
) -> None:
    client.force_login(editor)
    rules = [{"source": "name", "target": "name"}]
    response = client.post(
        reverse("dashboard:mapping_edit", args=[sync.pk]), editor_post(rules, action="add_row"), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="rules-TOTAL_FORMS" value="2"' in html and "<html" not in html
    assert response["HX-Trigger"] == "mapping-changed"
    assert "Row 2," not in html  # a freshly added blank row is not marked red before anything is typed


def test_saving_creates_a_version_and_redirects(client: Any, editor: Any, sync: m.Sync) -> None:
    client.force_login(editor)
    rules = [
        {"source": "name", "target": "name", "transforms": ["trim"]},
        {
            "source": "phone",
            "target": "phone",
            "transforms": [{"name": "e164", "args": {"region": "DE"}}],
            "on_invalid": "skip",
        },
    ]
    response = client.post(
        reverse("dashboard:mapping_edit", args=[sync.pk]),
        editor_post(rules, action="save", note="phones are German"),
        **HTMX,
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("dashboard:mapping_edit", args=[sync.pk])
    sync.refresh_from_db()
    assert sync.mapping_version.number == 2 and sync.mapping_version.note == "phones are German"
    assert sync.mapping_version.rules[1]["transforms"] == [{"name": "e164", "args": {"region": "DE"}}]
    assert sync.mapping_version.rules[1]["on_invalid"] == "skip"


def test_an_invalid_save_re_renders_with_status_200_and_errors_naming_row_and_field(
    client: Any, editor: Any, sync: m.Sync
) -> None:
    client.force_login(editor)
    rules = [
        {"source": "a", "target": "email"},
        {"source": "b", "target": "email"},
        {"source": "c", "target": "phone", "transforms": ["shout"]},
    ]
    data = editor_post(rules, action="save")
    data["rules-2-t-0-shown"] = "shout"
    response = client.post(reverse("dashboard:mapping_edit", args=[sync.pk]), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in html
    assert "Row 2, email: is already mapped in row 1" in html
    assert "Row 3, phone: unknown transform &#x27;shout&#x27;" in html
    sync.refresh_from_db()
    assert sync.mapping_version.number == 1


def test_a_task_mapping_without_its_required_ghl_fields_cannot_be_saved(client: Any, editor: Any) -> None:
    sync = SyncFactory(target_object=m.ObjectKind.TASK, source_object=m.ObjectKind.TASK)
    client.force_login(editor)
    response = client.post(
        reverse("dashboard:mapping_edit", args=[sync.pk]),
        editor_post([{"source": "summary", "target": "title"}], action="save"),
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "dueDate</strong>: Due date (ISO, UTC) is required by the target but no row fills it" in html
    assert not m.MappingVersion.objects.filter(sync=sync).exists()


def test_the_preview_of_an_unreachable_source_is_a_message_not_a_500(client: Any, editor: Any, sync: m.Sync) -> None:
    client.force_login(editor)
    response = client.post(
        reverse("dashboard:mapping_preview", args=[sync.pk]),
        editor_post([{"source": "name", "target": "name"}]),
        **HTMX,
    )
    assert response.status_code == 200
    assert "Could not read sample records from starbuero.de (Phones)" in response.content.decode()


def test_history_lists_versions_with_field_diffs_and_restore_makes_a_new_version(
    client: Any, editor: Any, sync: m.Sync
) -> None:
    v1 = sync.mapping_version
    mapping_version_create(sync=sync, rules=v1.rules[:3], note="fewer", user=editor)
    client.force_login(editor)
    html = client.get(reverse("dashboard:mapping_history", args=[sync.pk])).content.decode()
    assert "Version 2" in html and "“fewer”" in html and "removed" in html and "companyName" in html
    response = client.post(reverse("dashboard:mapping_restore", args=[sync.pk, v1.pk]))
    assert response.status_code == 302
    sync.refresh_from_db()
    assert sync.mapping_version.number == 3 and sync.mapping_version.rules == v1.rules


def test_a_viewer_sees_history_and_versions_but_cannot_edit_preview_or_restore(
    client: Any, viewer: Any, sync: m.Sync
) -> None:
    client.force_login(viewer)
    version = sync.mapping_version
    history = client.get(reverse("dashboard:mapping_history", args=[sync.pk]))
    assert history.status_code == 200 and "Restore" not in history.content.decode()
    assert client.get(reverse("dashboard:mapping_version", args=[version.pk])).status_code == 200
    assert client.get(reverse("dashboard:mapping_edit", args=[sync.pk])).status_code == 403
    assert client.post(reverse("dashboard:mapping_edit", args=[sync.pk]), editor_post([])).status_code == 403
    assert client.post(reverse("dashboard:mapping_preview", args=[sync.pk]), editor_post([])).status_code == 403
    assert client.post(reverse("dashboard:mapping_restore", args=[sync.pk, version.pk])).status_code == 403
    assert m.MappingVersion.objects.filter(sync=sync).count() == 1


def test_anonymous_users_are_sent_to_log_in(client: Any, sync: m.Sync) -> None:
    response = client.get(reverse("dashboard:mapping_history", args=[sync.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_version_page_lists_its_rules_and_the_runs_that_used_it(client: Any, viewer: Any, sync: m.Sync) -> None:
    run = RunFactory(sync=sync, mapping_version=sync.mapping_version)
    client.force_login(viewer)
    html = client.get(reverse("dashboard:mapping_version", args=[sync.mapping_version.pk])).content.decode()
    assert "Mapping version 1" in html and "<code>emails.0|email|user.email</code>" in html
    assert reverse("dashboard:run_detail", args=[run.pk]) in html


def test_a_sync_without_a_version_starts_from_the_recipes_default_mapping(client: Any, editor: Any) -> None:
    sync = SyncFactory(
        recipe="hubstaff_task_to_ghl_task", source_object=m.ObjectKind.TASK, target_object=m.ObjectKind.TASK
    )
    client.force_login(editor)
    html = client.get(reverse("dashboard:mapping_edit", args=[sync.pk])).content.decode()
    assert "no version saved yet" in html
    assert 'name="rules-TOTAL_FORMS" value="4"' in html and 'value="due_at|created_at"' in html
