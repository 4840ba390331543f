"""The sync pages' lifecycle through the views (preview, go live, archive, clone, delete) and the live polls of
the sync detail and the run history; Viewers read but never act."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.selectors.runs import run_list_token
from contacts_sync.selectors.syncs import sync_token
from tests.factories import RunFactory, RunItemFactory, SyncFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_live() -> m.Sync:
    sync = SyncFactory(name="New clients", enabled=False, went_live_at=None, next_run_at=None)
    preview = RunFactory(
        sync=sync,
        trigger=m.RunTrigger.PREVIEW,
        dry_run=True,
        status=m.RunStatus.PARTIAL,
        checkpoint={"sample": 100},
        read_count=12,
        would_create_count=10,
        failed_count=2,
    )
    for i in range(2):
        RunItemFactory(
            run=preview,
            source_id=f"m-{i}",
            action=m.ItemAction.FAILED,
            error_class="MappingError",
            error_message="email: 'n/a' is not an email address",
        )
    return sync


def test_a_sync_that_is_not_live_shows_its_preview_and_go_live_instead_of_run_now(
    login: Any, editor: Any, not_live: m.Sync
) -> None:
    html = login(editor).get(f"/syncs/{not_live.pk}/").content.decode()
    assert "Not live yet" in html and 'data-action="go-live"' in html and 'data-action="run-now"' not in html
    assert 'data-count="would_create">10<' in html and 'data-count="failed">2<' in html
    assert "email: &#x27;n/a&#x27; is not an email address" in html
    assert 'name="enabled"' not in html  # going live is a decision with its own button, not a checkbox
    assert 'name="dry_run"' not in html


def test_run_now_is_refused_before_go_live(login: Any, editor: Any, not_live: m.Sync) -> None:
    resp = login(editor).post(reverse("dashboard:sync_run_now", args=[not_live.pk]), follow=True)
    assert "not live yet" in resp.content.decode()
    assert not m.Run.objects.filter(sync=not_live, dry_run=False).exists()


def test_go_live_starts_the_first_run_and_the_page_shows_run_now_again(
    login: Any, editor: Any, not_live: m.Sync
) -> None:
    client = login(editor)
    resp = client.post(reverse("dashboard:sync_go_live", args=[not_live.pk]), follow=True)
    first = m.Run.objects.get(sync=not_live, dry_run=False)
    html = resp.content.decode()
    assert f"first run #{first.pk} has started" in html and 'data-action="run-now"' in html
    not_live.refresh_from_db()
    assert not_live.enabled and not_live.is_live


def test_preview_a_run_is_a_one_off_dry_run_of_the_whole_source_for_a_live_sync(login: Any, editor: Any) -> None:
    sync = SyncFactory()
    resp = login(editor).post(reverse("dashboard:sync_preview", args=[sync.pk]), HTTP_HX_REQUEST="true")
    preview = m.Run.objects.get(sync=sync)
    assert (preview.dry_run, preview.trigger, preview.checkpoint) == (True, m.RunTrigger.PREVIEW, {})
    assert 'id="sync-live"' in resp.content.decode() and f"#{preview.pk}</a> queued" in resp.content.decode()


def test_a_viewer_cannot_preview_go_live_archive_clone_or_delete(login: Any, viewer: Any, not_live: m.Sync) -> None:
    client = login(viewer)
    for name in ("sync_preview", "sync_go_live", "sync_archive", "sync_clone", "sync_delete"):
        assert (
            client.post(
                reverse(f"dashboard:{name}", args=[not_live.pk]), {"confirm": not_live.name, "name": "x"}
            ).status_code
            == 403
        ), name
    for name in ("sync_clone", "sync_delete"):
        assert client.get(reverse(f"dashboard:{name}", args=[not_live.pk])).status_code == 403, name
    not_live.refresh_from_db()
    assert (not_live.enabled, not_live.archived_at, m.Sync.objects.count()) == (False, None, 1)
    assert m.Run.objects.filter(sync=not_live).count() == 1
    html = client.get(f"/syncs/{not_live.pk}/").content.decode()
    assert 'data-action="go-live"' not in html and 'data-action="delete"' not in html


def test_archive_hides_the_sync_and_restore_brings_it_back_paused(login: Any, editor: Any) -> None:
    sync = SyncFactory(name="Seasonal vendors")
    client = login(editor)
    done = client.post(reverse("dashboard:sync_archive", args=[sync.pk]), {"archived": "1"}, follow=True)
    assert "is archived" in done.content.decode()
    assert "Seasonal vendors" not in client.get("/syncs/").content.decode()
    assert "Seasonal vendors" not in client.get("/").content.decode()
    assert "Seasonal vendors" in client.get("/syncs/?archived=1").content.decode()
    client.post(reverse("dashboard:sync_archive", args=[sync.pk]), {"archived": "0"})
    sync.refresh_from_db()
    assert sync.archived_at is None and not sync.enabled
    assert "Seasonal vendors" in client.get("/syncs/").content.decode()


def test_clone_creates_a_paused_copy_with_a_preview(login: Any, editor: Any) -> None:
    sync = SyncFactory(name="Clients")
    resp = login(editor).post(
        reverse("dashboard:sync_clone", args=[sync.pk]),
        {
            "name": "Clients (copy)",
            "source_connection": sync.source_connection_id,
            "target_connection": sync.target_connection_id,
        },
    )
    clone = m.Sync.objects.get(name="Clients (copy)")
    assert resp.status_code == 302 and resp["Location"] == f"/syncs/{clone.pk}/"
    assert not clone.is_live and m.Run.objects.get(sync=clone).dry_run


def test_delete_lists_what_goes_and_needs_the_name_typed(login: Any, editor: Any) -> None:
    sync = SyncFactory(name="Vendors")
    run = RunFactory(sync=sync)
    RunItemFactory(run=run)
    client = login(editor)
    html = client.get(reverse("dashboard:sync_delete", args=[sync.pk])).content.decode()
    assert 'data-impact="runs">1<' in html and 'data-impact="items">1<' in html
    wrong = client.post(reverse("dashboard:sync_delete", args=[sync.pk]), {"confirm": "vendors"})
    assert wrong.status_code == 200 and "not the sync&#x27;s name" in wrong.content.decode()
    assert m.Sync.objects.filter(pk=sync.pk).exists()
    right = client.post(reverse("dashboard:sync_delete", args=[sync.pk]), {"confirm": "Vendors"}, follow=True)
    assert not m.Sync.objects.filter(pk=sync.pk).exists()
    assert "Deleted “Vendors” with 1 runs, 1 items" in right.content.decode()


def test_the_sync_poll_is_204_until_a_run_moves_then_the_live_part_comes_back(login: Any, viewer: Any) -> None:
    sync = SyncFactory()
    run = RunFactory(sync=sync, status=m.RunStatus.RUNNING, finished_at=None, heartbeat_at=timezone.now())
    client = login(viewer)
    token = sync_token(sync_id=sync.pk)
    assert token is not None and token[1] is True
    assert client.get(f"/syncs/{sync.pk}/poll?token={token[0]}").status_code == 204
    m.Run.objects.filter(pk=run.pk).update(status=m.RunStatus.SUCCEEDED, created_count=4)
    resp = client.get(f"/syncs/{sync.pk}/poll?token={token[0]}")
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="sync-live"' in html and "every 30s" in html  # idle again
    assert 'id="recent-runs" class="card table-wrap section" hx-swap-oob="true"' in html
    assert 'id="sync-settings"' not in html  # the form someone may be typing in is never replaced
    assert client.get("/syncs/999999/poll?token=x").status_code == 404


def test_the_run_history_poll_notices_a_run_ending_and_a_stall(login: Any, viewer: Any) -> None:
    run = RunFactory(status=m.RunStatus.RUNNING, finished_at=None, heartbeat_at=timezone.now())
    client = login(viewer)
    token, active = run_list_token()
    assert active and client.get(f"/runs/poll?token={token}").status_code == 204
    m.Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=3))
    stalled = client.get(f"/runs/poll?token={token}")
    assert stalled.status_code == 200 and "stalled for 3 min" in stalled.content.decode()
    token = run_list_token()[0]
    m.Run.objects.filter(pk=run.pk).update(status=m.RunStatus.SUCCEEDED)
    html = client.get(f"/runs/poll?token={token}").content.decode()
    assert f'data-run="{run.pk}" data-status="succeeded"' in html and "every 30s" in html


def test_a_stalled_run_says_so_with_its_age_on_the_run_page_the_sync_page_and_the_overview(
    login: Any, viewer: Any
) -> None:
    run = RunFactory(status=m.RunStatus.RUNNING, finished_at=None, heartbeat_at=timezone.now())
    client = login(viewer)
    pages = (f"/runs/{run.pk}/", f"/syncs/{run.sync_id}/", "/")
    assert not any("stalled for" in client.get(url).content.decode() for url in pages)  # a fresh heartbeat
    m.Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=4))
    for url in pages:
        html = client.get(url).content.decode()
        assert "stalled for 4 min" in html and 'data-stalled="24' in html, url  # 240-249 s without a heartbeat
    assert "no heartbeat from its worker" in client.get("/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/syncs/{sync}/",
        "/syncs/{sync}/poll?token=stale",
        "/runs/poll?token=stale",
        "/runs/{run}/poll?token=stale",
        "/syncs/{new}/",
    ],
)
def test_the_live_pages_stay_within_the_query_budget_whatever_the_data(
    login: Any, viewer: Any, not_live: m.Sync, url: str
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sync = SyncFactory()
    run = RunFactory(sync=sync, status=m.RunStatus.RUNNING, finished_at=None, heartbeat_at=timezone.now())
    client = login(viewer)
    url = url.format(sync=sync.pk, run=run.pk, new=not_live.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    preview = m.Run.objects.get(sync=not_live)
    for i in range(5):  # more runs, items and failures must not add queries
        RunFactory(sync=sync, status=m.RunStatus.PARTIAL, failed_count=1)
        RunItemFactory(run=preview, action=m.ItemAction.FAILED, error_class=f"E{i}")
        RunItemFactory(run=run, action=m.ItemAction.FAILED)
    with CaptureQueriesContext(connection) as big:
        client.get(url)
    assert len(big) <= 15, "\n".join(q["sql"][:150] for q in big.captured_queries)
    assert len(big) == len(small)
