"""Sync pages: list, create from a recipe, detail with settings and Run now; roles decide who may write."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.models import (
    AuthKind,
    Connection,
    MappingVersion,
    Provider,
    Run,
    RunStatus,
    RunTrigger,
    Sync,
)
from tests.factories import ConnectionFactory, RunFactory, SyncFactory

pytestmark = pytest.mark.django_db
RECIPE = "hubstaff_client_to_ghl_contact"


@pytest.fixture
def connections() -> tuple[Connection, Connection]:
    hub = ConnectionFactory(
        name="Acme Hubstaff",
        provider=Provider.HUBSTAFF,
        auth_kind=AuthKind.API_KEY,
        external_account_id="501",
    )
    ghl = ConnectionFactory(name="Acme GHL", external_account_id="loc-acme")
    return hub, ghl


def create_payload(hub: Connection, ghl: Connection, **extra: Any) -> dict[str, Any]:
    return {
        "recipe": RECIPE,
        "name": "Clients to GHL",
        "source_connection": hub.pk,
        "target_connection": ghl.pk,
        "webhook_trigger": "on",
        "poll_interval_seconds": "900",
        "options": "",
        **extra,
    }


def settings_payload(sync: Sync, **extra: Any) -> dict[str, Any]:
    data = {
        "name": sync.name,
        "enabled": "on",
        "poll_interval_seconds": "600",
        "mode": "incremental",
        "backfill_from": "",
        "options": "",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


# --- list -------------------------------------------------------------------------------------------------


def test_a_viewer_sees_every_sync_with_its_last_run_but_no_create_button(login: Any, viewer: Any) -> None:
    sync = SyncFactory(name="Clients → GHL")
    run = RunFactory(sync=sync, status=RunStatus.FAILED)
    response = login(viewer).get(reverse("dashboard:sync_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Clients → GHL" in html
    assert f"#{run.pk}" in html
    assert "every 15 min" in html
    assert reverse("dashboard:sync_create") not in html


def test_an_editor_sees_the_create_button(login: Any, editor: Any) -> None:
    html = login(editor).get(reverse("dashboard:sync_list")).content.decode()
    assert reverse("dashboard:sync_create") in html


def test_the_list_needs_a_login(client: Any) -> None:
    response = client.get(reverse("dashboard:sync_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_user_without_a_role_gets_403(client: Any, django_user_model: Any) -> None:
    nobody = django_user_model.objects.create_user(username="nobody", email="n@example.com", password="x-12345678")
    client.force_login(nobody)
    assert client.get(reverse("dashboard:sync_list")).status_code == 403


# --- create -------------------------------------------------------------------------------------------------


def test_the_create_page_lists_the_recipes(login: Any, editor: Any) -> None:
    html = login(editor).get(reverse("dashboard:sync_create")).content.decode()
    assert f"?recipe={RECIPE}" in html
    assert "Hubstaff client → GHL contact" in html
    assert "HighLevel" in html  # provider names, not keys


def test_picking_a_recipe_offers_only_connections_of_the_right_apps(login: Any, editor: Any, connections: Any) -> None:
    _hub, _ghl = connections
    other_ghl_as_source = ConnectionFactory(name="Second GHL")
    html = login(editor).get(reverse("dashboard:sync_create") + f"?recipe={RECIPE}").content.decode()
    source_select = html.split('name="source_connection"')[1].split("</select>")[0]
    assert "Acme Hubstaff" in source_select
    assert other_ghl_as_source.name not in source_select
    assert "Acme GHL" in html.split('name="target_connection"')[1].split("</select>")[0]


def test_an_editor_creates_a_sync_from_a_recipe_with_its_default_mapping(
    login: Any, editor: Any, connections: Any
) -> None:
    hub, ghl = connections
    response = login(editor).post(reverse("dashboard:sync_create"), create_payload(hub, ghl))
    sync = Sync.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:sync_detail", args=[sync.pk])
    assert (sync.name, sync.recipe, sync.source_connection, sync.target_connection) == (
        "Clients to GHL",
        RECIPE,
        hub,
        ghl,
    )
    assert sync.webhook_trigger is True
    assert sync.poll_interval_seconds == 900
    assert sync.created_by == editor
    assert MappingVersion.objects.filter(sync=sync, number=1).exists()
    # a new sync starts paused and not live, with a preview (a dry run of a sample) queued instead of a real run
    assert (sync.enabled, sync.went_live_at, sync.next_run_at) == (False, None, None)
    preview = Run.objects.get(sync=sync)
    assert (preview.trigger, preview.dry_run, preview.checkpoint) == (RunTrigger.PREVIEW, True, {"sample": 100})


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"poll_interval_seconds": "5"}, "poll_interval_seconds"),
        ({"options": "[1, 2]"}, "options"),
        ({"options": "{oops"}, "options"),
        ({"name": ""}, "name"),
    ],
)
def test_an_invalid_create_rerenders_with_errors_and_creates_nothing(
    login: Any, editor: Any, connections: Any, bad: dict[str, str], field: str
) -> None:
    hub, ghl = connections
    response = login(editor).post(reverse("dashboard:sync_create"), create_payload(hub, ghl, **bad))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="errorlist' in response.content.decode()
    assert not Sync.objects.exists()


def test_an_invalid_htmx_create_rerenders_only_the_form(login: Any, editor: Any, connections: Any) -> None:
    hub, ghl = connections
    response = login(editor).post(
        reverse("dashboard:sync_create"), create_payload(hub, ghl, name=""), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="sync-create-form"')
    assert "<html" not in html


def test_a_connection_of_the_wrong_app_is_refused(login: Any, editor: Any, connections: Any) -> None:
    hub, ghl = connections
    response = login(editor).post(reverse("dashboard:sync_create"), create_payload(hub, ghl, target_connection=hub.pk))
    assert response.status_code == 200
    assert not Sync.objects.exists()


def test_a_viewer_cannot_create_a_sync(login: Any, viewer: Any, connections: Any) -> None:
    hub, ghl = connections
    client = login(viewer)
    assert client.get(reverse("dashboard:sync_create")).status_code == 403
    assert client.post(reverse("dashboard:sync_create"), create_payload(hub, ghl)).status_code == 403
    assert not Sync.objects.exists()


# --- detail, settings, run now -------------------------------------------------------------------------------


def test_the_detail_page_links_to_run_history_and_shows_the_webhook_inbox(login: Any, viewer: Any) -> None:
    sync = SyncFactory(name="Tasks sync")
    html = login(viewer).get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    assert f"{reverse('dashboard:run_list')}?sync={sync.pk}" in html
    assert f"/webhooks/{sync.source_connection.webhook_token}/" in html
    assert f"/webhooks/{sync.source_connection.pk}/" not in html  # never the guessable id
    assert "Read-only" in html
    assert "Run now</button>" not in html


def test_an_unknown_sync_is_404(login: Any, viewer: Any) -> None:
    assert login(viewer).get(reverse("dashboard:sync_detail", args=[999999])).status_code == 404


def test_an_editor_changes_the_triggers_and_mode_and_a_posted_dry_run_is_no_setting(login: Any, editor: Any) -> None:
    sync = SyncFactory(webhook_trigger=False, poll_interval_seconds=900)
    payload = settings_payload(
        sync,
        webhook_trigger="on",
        poll_interval_seconds="",
        mode="backfill",
        backfill_from="2026-01-02T03:04",
        dry_run="on",
        options='{"tag": "vip"}',
    )
    response = login(editor).post(reverse("dashboard:sync_detail", args=[sync.pk]), payload)
    assert response.status_code == 302
    sync.refresh_from_db()
    assert sync.webhook_trigger is True
    assert sync.poll_interval_seconds is None
    assert sync.mode == "backfill"
    assert sync.backfill_from is not None and sync.backfill_from.year == 2026
    assert sync.options == {"tag": "vip"}
    assert not hasattr(sync, "dry_run")  # a one-off action now ("Preview a run"), not a stored setting
    assert not Run.objects.filter(sync=sync).exists()


def test_unticking_enabled_pauses_the_sync_through_the_status_service(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    payload = settings_payload(sync)
    del payload["enabled"]
    login(editor).post(reverse("dashboard:sync_detail", args=[sync.pk]), payload)
    sync.refresh_from_db()
    assert sync.enabled is False
    assert sync.health == "paused"


def test_backfill_without_a_date_rerenders_with_the_error(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    response = login(editor).post(
        reverse("dashboard:sync_detail", args=[sync.pk]),
        settings_payload(sync, mode="backfill"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Pick the date to backfill from." in response.content.decode()
    assert response.content.decode().lstrip().startswith('<form id="sync-settings"')
    sync.refresh_from_db()
    assert sync.mode == "incremental"


def test_a_viewer_cannot_change_settings(login: Any, viewer: Any) -> None:
    sync = SyncFactory(name="Keep me")
    response = login(viewer).post(
        reverse("dashboard:sync_detail", args=[sync.pk]), settings_payload(sync, name="Changed")
    )
    assert response.status_code == 403
    sync.refresh_from_db()
    assert sync.name == "Keep me"


def test_run_now_queues_a_manual_run(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    response = login(editor).post(reverse("dashboard:sync_run_now", args=[sync.pk]), headers={"HX-Request": "true"})
    run = Run.objects.get(sync=sync)
    assert response.status_code == 200
    assert (run.trigger, run.status) == (RunTrigger.MANUAL, RunStatus.QUEUED)
    html = response.content.decode()
    assert f"#{run.pk}</a> queued" in html
    assert 'id="recent-runs" class="card table-wrap section" hx-swap-oob="true"' in html  # the table follows
    assert f'href="{reverse("dashboard:run_detail", args=[run.pk])}"' in html.split('id="recent-runs"')[1]


def test_run_now_while_a_run_is_active_says_so_and_starts_nothing(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    active = RunFactory(sync=sync, status=RunStatus.RUNNING, finished_at=None)
    response = login(editor).post(reverse("dashboard:sync_run_now", args=[sync.pk]), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "already active" in html
    assert f"#{active.pk}" in html
    assert Run.objects.filter(sync=sync).count() == 1


def test_a_viewer_cannot_press_run_now(login: Any, viewer: Any) -> None:
    sync = SyncFactory()
    assert login(viewer).post(reverse("dashboard:sync_run_now", args=[sync.pk])).status_code == 403
    assert not Run.objects.exists()


def test_run_now_is_post_only(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    assert login(editor).get(reverse("dashboard:sync_run_now", args=[sync.pk])).status_code == 405


def test_a_new_polling_interval_starts_from_now(login: Any, editor: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    sync = SyncFactory(poll_interval_seconds=86400, next_run_at=timezone.now() + timedelta(hours=20))
    login(editor).post(
        reverse("dashboard:sync_detail", args=[sync.pk]), settings_payload(sync, poll_interval_seconds="600")
    )
    sync.refresh_from_db()
    assert sync.poll_interval_seconds == 600
    assert sync.next_run_at is not None
    assert sync.next_run_at <= timezone.now() + timedelta(seconds=600)


def test_an_editor_starts_the_hubstaff_webhook_registration(
    login: Any, editor: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SITE_URL = "https://sync.example.com/"
    sync = SyncFactory()  # Hubstaff source
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(editor).post(reverse("dashboard:sync_webhook_register", args=[sync.pk]), follow=True)
    conn = Connection.objects.get(pk=sync.source_connection_id)
    url = f"https://sync.example.com/webhooks/{conn.webhook_token}/"
    assert conn.config["webhook"]["status"] == "registering"
    assert conn.config["webhook"]["url"] == url
    assert len(callbacks) == 1  # the worker task, after the commit
    assert f"Registering {url}" in response.content.decode()


def test_a_ghl_source_has_no_register_button_and_refuses_registration(login: Any, editor: Any) -> None:
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind=AuthKind.API_KEY)
    sync = SyncFactory(source_connection=ConnectionFactory(), target_connection=hub, target_object="task")
    client = login(editor)
    assert "Register webhook" not in client.get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    response = client.post(reverse("dashboard:sync_webhook_register", args=[sync.pk]), follow=True)
    assert "webhooks are set up in the app" in response.content.decode()
    assert "webhook" not in Connection.objects.get(pk=sync.source_connection_id).config


def test_a_viewer_cannot_register_a_webhook(login: Any, viewer: Any) -> None:
    sync = SyncFactory()
    assert login(viewer).post(reverse("dashboard:sync_webhook_register", args=[sync.pk])).status_code == 403
    assert "webhook" not in Connection.objects.get(pk=sync.source_connection_id).config


def test_the_list_and_detail_cost_the_same_queries_for_many_syncs(login: Any, viewer: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(viewer)
    first = SyncFactory()
    RunFactory(sync=first)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    list_one, detail_one = (
        queries(reverse("dashboard:sync_list")),
        queries(reverse("dashboard:sync_detail", args=[first.pk])),
    )
    for _ in range(10):
        RunFactory(sync=SyncFactory())
        RunFactory(sync=first)
    assert queries(reverse("dashboard:sync_list")) == list_one
    assert queries(reverse("dashboard:sync_detail", args=[first.pk])) == detail_one


def test_an_admin_may_do_what_an_editor_does(login: Any, admin_user: Any, connections: Any) -> None:
    hub, ghl = connections
    client = login(admin_user)
    assert client.post(reverse("dashboard:sync_create"), create_payload(hub, ghl)).status_code == 302
    sync = Sync.objects.get()
    Run.objects.filter(sync=sync, trigger=RunTrigger.PREVIEW).update(status=RunStatus.SUCCEEDED)  # looked at it
    assert client.post(reverse("dashboard:sync_go_live", args=[sync.pk])).status_code == 302
    assert Run.objects.filter(sync=sync, trigger=RunTrigger.MANUAL).count() == 1
    Run.objects.filter(sync=sync, trigger=RunTrigger.MANUAL).update(status=RunStatus.SUCCEEDED)
    assert client.post(reverse("dashboard:sync_run_now", args=[sync.pk])).status_code == 302
    assert Run.objects.filter(sync=sync, trigger=RunTrigger.MANUAL).count() == 2
