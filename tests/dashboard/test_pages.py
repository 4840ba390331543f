from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_the_overview_shows_a_tile_per_sync_with_its_status_and_progress(login: Any, viewer: Any, monitored: dict):
    resp = login(viewer).get("/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-status="running"' in html and 'data-status="failing"' in html
    assert "GHL answered 503" in html
    assert 'aria-valuenow="40"' in html  # 4 of 10 done
    assert 'hx-trigger="every 5s" data-poll-when-visible' in html  # static/js/app.js skips polls while hidden
    assert '<svg class="sparkline"' in html


def test_the_run_detail_shows_counts_failed_items_and_aggregated_calls(login: Any, viewer: Any, monitored: dict):
    run = monitored["failed"]
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert "503 on upsert 0" in html and "Ann0" in html
    assert "/contacts/upsert" in html
    assert "Retry failed items" not in html  # a viewer sees no buttons


def test_the_run_detail_lists_every_call_on_request(login: Any, viewer: Any, monitored: dict):
    run = monitored["failed"]
    html = login(viewer).get(f"/runs/{run.pk}/?calls=all").content.decode()
    assert html.count("<code>/contacts/upsert</code>") == 5


def test_items_filter_by_action_and_error(login: Any, viewer: Any, monitored: dict):
    run = monitored["failed"]
    c = login(viewer)
    html = c.get(f"/runs/{run.pk}/?action=created").content.decode()
    assert "c1" in html and "503 on upsert" not in html
    html = c.get(f"/runs/{run.pk}/?error=ServerError").content.decode()
    assert "503 on upsert 2" in html and "<code>c1</code>" not in html


def test_an_unknown_run_is_a_404_not_a_500(login: Any, viewer: Any, db: None):
    assert login(viewer).get("/runs/999999/").status_code == 404


def test_the_run_list_filters_by_sync_and_status(login: Any, viewer: Any, monitored: dict):
    c = login(viewer)
    html = c.get(f"/runs/?sync={monitored['bad'].pk}&status=failed").content.decode()
    assert f"#{monitored['failed'].pk}<" in html
    assert f"#{monitored['running'].pk}<" not in html
    assert "Last 7 days" in html  # the chart shows when one sync is chosen


@pytest.mark.parametrize(
    "query",
    [
        "sync=abc",
        "sync=999999",
        "status=exploded",
        "trigger=%00",
        "from=2024-13-45",
        "to=yesterday",
        "from=2025-02-01&to=2025-01-01",
        "page=-3",
        "page=99999",
        "page=x",
    ],
)
def test_bad_filter_values_are_ignored_with_a_message_never_a_500(login: Any, viewer: Any, monitored: dict, query: str):
    resp = login(viewer).get(f"/runs/?{query}")
    assert resp.status_code == 200
    html = resp.content.decode()
    if not query.startswith("page"):
        assert "Ignored" in html
    assert f"#{monitored['failed'].pk}<" in html  # nothing was filtered away by the bad value


def test_the_sync_chart_fragment_renders_seven_days_of_bars(login: Any, viewer: Any, monitored: dict):
    resp = login(viewer).get(f"/syncs/{monitored['ok'].pk}/chart")
    assert resp.status_code == 200
    assert "records moved" in resp.content.decode()
    assert login(viewer).get("/syncs/999999/chart").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client: Any, monitored: dict):
    for url in ("/", "/runs/", f"/runs/{monitored['failed'].pk}/", "/alerts/", "/status/poll"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], url


def test_the_run_detail_links_the_mapping_version_it_used(login: Any, viewer: Any, monitored: dict):
    from tests.factories import MappingVersionFactory

    run = monitored["failed"]
    version = MappingVersionFactory(sync=run.sync, number=3)
    run.mapping_version = version
    run.save()
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert f'href="/mappings/versions/{version.pk}/" data-link="mapping-version">v3<' in html


def test_the_run_list_says_more_than_the_cap_instead_of_counting_everything(
    login: Any, viewer: Any, monitored: dict, monkeypatch: Any
):
    from dashboard.views import runs

    monkeypatch.setattr(runs, "RUN_COUNT_CAP", 3)
    monkeypatch.setattr(runs.runs_selectors, "RUNS_PER_PAGE", 2)
    html = login(viewer).get("/runs/").content.decode()
    assert "more than 3 total" in html
