from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts_sync import models as m
from contacts_sync.selectors.overview import status_token
from tests.factories import RunFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15


def test_the_status_poll_answers_204_when_nothing_changed(login: Any, viewer: Any, monitored: dict):
    c = login(viewer)
    token = c.get("/").content.decode().split('data-token="')[1].split('"')[0]  # the token the page holds
    assert token.startswith(status_token())  # the status token, plus the workers/beat state for the banner
    assert c.get(f"/status/poll?token={token}").status_code == 204


def test_the_status_poll_returns_the_fresh_tiles_after_progress(login: Any, viewer: Any, monitored: dict):
    c = login(viewer)
    token = status_token()
    m.Run.objects.filter(pk=monitored["running"].pk).update(created_count=9)
    resp = c.get(f"/status/poll?token={token}")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="overview-live"' in html and 'aria-valuenow="90"' in html
    assert "<html" not in html  # only the live part


def test_the_fast_poll_is_dropped_when_nothing_runs(login: Any, viewer: Any, monitored: dict):
    run = monitored["running"]
    m.Run.objects.filter(pk=run.pk).update(status=m.RunStatus.SUCCEEDED)
    html = login(viewer).get("/").content.decode()
    assert "every 5s" not in html and 'data-active="0"' in html


@pytest.mark.parametrize("change", ["health", "new_run", "alert"])
def test_the_status_token_changes_with_what_the_overview_shows(monitored: dict, change: str):
    before = status_token()
    if change == "health":
        sync = monitored["ok"]
        sync.health = m.SyncHealth.DEGRADED
        sync.save()
    elif change == "new_run":
        RunFactory(sync=monitored["bad"], status=m.RunStatus.SUCCEEDED)
    else:
        ch = m.StatusChange.objects.create(sync=monitored["bad"], old_status="healthy", new_status="failing")
        m.Alert.objects.create(sync=monitored["bad"], opened_by=ch, title="x")
    assert status_token() != before


def test_the_run_detail_poll_is_204_while_unchanged_and_drops_its_trigger_when_finished(
    login: Any, viewer: Any, monitored: dict
):
    c = login(viewer)
    run = monitored["running"]
    html = c.get(f"/runs/{run.pk}/").content.decode()
    assert f"/runs/{run.pk}/poll?token=" in html
    token = html.split(f"/runs/{run.pk}/poll?token=")[1].split('"')[0]
    assert c.get(f"/runs/{run.pk}/poll?token={token}").status_code == 204
    m.Run.objects.filter(pk=run.pk).update(status=m.RunStatus.SUCCEEDED, created_count=10)
    resp = c.get(f"/runs/{run.pk}/poll?token={token}")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="run-live"' in html and f"/runs/{run.pk}/poll" not in html and "every 5s" not in html


@pytest.mark.parametrize(
    "url", ["/", "/runs/", "/runs/{failed}/", "/runs/{failed}/?calls=all", "/status/poll", "/alerts/"]
)
def test_pages_stay_within_the_query_budget_whatever_the_data(login: Any, viewer: Any, monitored: dict, url: str):
    c = login(viewer)
    url = url.format(failed=monitored["failed"].pk)
    c.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        c.get(url)
    for i in range(5):  # more syncs, runs and items must not add queries
        extra = RunFactory(status=m.RunStatus.FAILED, failed_count=1)
        m.RunItem.objects.create(
            run=monitored["failed"], source_id=f"x{i}", action=m.ItemAction.FAILED, error_class="ValidationError"
        )
        m.ApiCall.objects.create(run=extra, provider="hubstaff", method="GET", path_template="/v2/x", status=200)
    with CaptureQueriesContext(connection) as big:
        c.get(url)
    assert len(big) <= QUERY_BUDGET, "\n".join(q["sql"][:150] for q in big.captured_queries)
    assert len(big) == len(small), (len(small), len(big))
