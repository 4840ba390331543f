"""A sync's settings page offers the options its recipe needs as fields of their own (Recipe.settings): the
HotspotSystem onboarding checklist, the Hubstaff project of the critical-contact flow."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.models import Provider, Sync
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _onboarding_sync() -> Sync:
    source = ConnectionFactory(provider=Provider.HOTSPOTSYSTEM, auth_kind="api_key")
    return sync_create_from_recipe(
        recipe="hotspotsystem_customer_to_ghl_contact",
        name="Wi-Fi guests",
        source_connection=source,
        target_connection=ConnectionFactory(),
        options={"location_id": "2"},
    )


def _payload(sync: Sync, **extra: Any) -> dict[str, Any]:
    return {
        "name": sync.name,
        "enabled": "on",
        "poll_interval_seconds": "900",
        "mode": "incremental",
        "backfill_from": "",
        "options": '{"location_id": "2"}',
        **extra,
    }


def test_the_checklist_is_shown_one_task_per_line_and_not_in_the_json_options(login: Any, viewer: Any) -> None:
    sync = _onboarding_sync()
    html = login(viewer).get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    assert "Onboarding checklist" in html
    assert "Welcome call | 1\nSend the Wi-Fi guide | 3\nAsk for a review | 14" in html  # the recipe's default
    options_box = html.split('name="options"')[1].split("</textarea>")[0]
    assert "location_id" in options_box and "onboarding_tasks" not in options_box


def test_an_editor_saves_a_checklist_with_due_days_assignees_and_descriptions(login: Any, editor: Any) -> None:
    sync = _onboarding_sync()
    checklist = "Welcome call | 1 | user-1\n\nWelcome call | 7 | | Second call | after a week\nSend the guide"
    response = login(editor).post(
        reverse("dashboard:sync_detail", args=[sync.pk]), _payload(sync, setting_onboarding_tasks=checklist)
    )
    assert response.status_code == 302
    sync.refresh_from_db()
    assert sync.options == {
        "location_id": "2",
        "onboarding_tasks": [
            {"title": "Welcome call", "due_in_days": 1, "assigned_to": "user-1"},
            {"title": "Welcome call", "due_in_days": 7, "body": "Second call | after a week"},
            {"title": "Send the guide", "due_in_days": 0},
        ],
    }


def test_an_emptied_checklist_means_no_onboarding_tasks(login: Any, editor: Any) -> None:
    sync = _onboarding_sync()
    login(editor).post(reverse("dashboard:sync_detail", args=[sync.pk]), _payload(sync, setting_onboarding_tasks=""))
    sync.refresh_from_db()
    assert sync.options["onboarding_tasks"] == []  # overrides the recipe's default checklist


@pytest.mark.parametrize(
    ("checklist", "problem"),
    [
        ("Welcome call | soon", "“soon” is not a number of days"),
        (" | 3", "Line 1: the task has no title"),
        ("Call | 400", "due in 0 to 365 days"),
        ("\n".join(f"Task {n}" for n in range(21)), "At most 20 tasks"),
    ],
)
def test_a_bad_checklist_line_is_named_and_nothing_is_saved(
    login: Any, editor: Any, checklist: str, problem: str
) -> None:
    sync = _onboarding_sync()
    before = dict(sync.options)
    response = login(editor).post(
        reverse("dashboard:sync_detail", args=[sync.pk]),
        _payload(sync, setting_onboarding_tasks=checklist),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and problem in response.content.decode()
    sync.refresh_from_db()
    assert sync.options == before


def test_an_option_the_recipe_has_a_field_for_is_refused_in_the_json_box(login: Any, editor: Any) -> None:
    sync = _onboarding_sync()
    response = login(editor).post(
        reverse("dashboard:sync_detail", args=[sync.pk]),
        _payload(sync, setting_onboarding_tasks="A", options='{"onboarding_tasks": []}'),
        headers={"HX-Request": "true"},
    )
    assert "in its own field above" in response.content.decode()


def test_the_critical_contact_flow_takes_its_hubstaff_project_in_a_number_field(login: Any, editor: Any) -> None:
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind="oauth2")
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="Critical",
        source_connection=ConnectionFactory(),
        target_connection=hub,
    )
    client = login(editor)
    assert "Hubstaff project ID" in client.get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    client.post(
        reverse("dashboard:sync_detail", args=[sync.pk]),
        {
            "name": sync.name,
            "enabled": "on",
            "webhook_trigger": "on",
            "poll_interval_seconds": "900",
            "mode": "incremental",
            "options": '{"tag": "critical"}',
            "setting_project_id": "3001",
        },
    )
    sync.refresh_from_db()
    assert sync.options == {"tag": "critical", "project_id": 3001}


def test_a_viewer_cannot_change_the_checklist(login: Any, viewer: Any) -> None:
    sync = _onboarding_sync()
    response = login(viewer).post(
        reverse("dashboard:sync_detail", args=[sync.pk]), _payload(sync, setting_onboarding_tasks="Nope")
    )
    assert response.status_code == 403
    sync.refresh_from_db()
    assert next(t["title"] for t in sync.options["onboarding_tasks"]) == "Welcome call"


def test_a_ghl_changes_sync_offers_the_kinds_it_forwards_all_ticked_until_narrowed(login: Any, editor: Any) -> None:
    from contacts_sync.models import WebhookDelivery
    from contacts_sync.services import outbox
    from tests.e2e.deliveries_seed import delivery_sync
    from tests.services.test_outbox import _event

    sync, ep, _ = delivery_sync()
    url = reverse("dashboard:sync_detail", args=[sync.pk])
    html = login(editor).get(url).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="setting_kinds"[^>]*>', html)
    assert "Changes sent to your app" in html and len(boxes) == 4 and all(" checked" in b for b in boxes)
    base = {"name": sync.name, "enabled": "on", "mode": "incremental", "backfill_from": "", "options": ""}
    refused = login(editor).post(url, base)  # none ticked: refused, the sync unchanged
    assert refused.status_code == 200 and "Tick at least one kind" in refused.content.decode()
    assert login(editor).post(url, {**base, "setting_kinds": ["contact", "note"]}).status_code == 302
    sync.refresh_from_db()
    assert sync.options == {"kinds": ["contact", "note"]}
    location = sync.source_connection.external_account_id
    task = _event(location, "TaskCreate", {"id": "t1", "title": "Call back", "contactId": "c1"}, "w-task")
    note = _event(location, "NoteCreate", {"id": "n1", "body": "Called", "contactId": "c1"}, "w-note")
    assert outbox.outbox_feed(event_id=task.pk) == [] and len(outbox.outbox_feed(event_id=note.pk)) == 1
    assert login(editor).post(url, {**base, "setting_kinds": list(outbox.FORWARDED_KINDS)}).status_code == 302
    sync.refresh_from_db()
    assert sync.options == {}  # all ticked: no option, like a new sync
    assert WebhookDelivery.objects.filter(endpoint=ep).count() == 1
