"""The run page's failed-record workflow through the views: failures first, ignore with a note, replay, CSV,
the payload as a field table, links into HighLevel, verified N of M; Viewers read but never act."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from contacts_sync import models as m
from tests.factories import ConnectionFactory, RunFactory, RunItemFactory, SyncFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run() -> m.Run:
    """A partial run to a GHL location: created items, then failures (one with a formula in a field), a read-back
    that differed; the failures were written last, as a run's later pages would."""
    ghl = ConnectionFactory(provider=m.Provider.GHL, external_account_id="loc-42", base_url="")
    run = RunFactory(
        sync=SyncFactory(target_connection=ghl),
        status=m.RunStatus.PARTIAL,
        read_count=5,
        created_count=2,
        failed_count=2,
        verify_sampled=2,
        verified_count=1,
        verify_failed_count=1,
    )
    RunItemFactory(run=run, source_id="c-1", target_id="ghlA", action=m.ItemAction.CREATED)
    RunItemFactory(run=run, source_id="c-2", target_id="ghlB", action=m.ItemAction.CREATED)
    RunItemFactory(
        run=run,
        source_id="f-1",
        action=m.ItemAction.FAILED,
        error_class="ValidationError",
        error_message="phone: not E.164",
        payload={
            "firstName": '=HYPERLINK("http://evil.example")',
            "email": "[redacted]",
            "address": {"city": "Köln"},
            "tags": ["vip", "b2b"],
        },
    )
    RunItemFactory(run=run, source_id="f-2", action=m.ItemAction.FAILED, error_class="ServerError", error_message="503")
    RunItemFactory(
        run=run,
        source_id="c-2",
        target_id="ghlB",
        action=m.ItemAction.VERIFY_FAILED,
        error_class="VerificationFailed",
        error_message="phone differs",
    )
    return run


def _items(run: m.Run, **kw: Any) -> dict[str, m.RunItem]:
    return {
        i.source_id + ("!" if i.action == m.ItemAction.VERIFY_FAILED else ""): i
        for i in m.RunItem.objects.filter(run=run, **kw)
    }


def test_failures_come_first_then_the_rest(login: Any, viewer: Any, run: m.Run) -> None:
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    order = [sid for sid in ("f-1", "f-2", "c-1") if f"<code>{sid}</code>" in html]
    assert order == ["f-1", "f-2", "c-1"]
    assert html.index("<code>f-2</code>") < html.index('data-status="verify_failed"') < html.index("<code>c-1</code>")
    assert "failures first" in html


def test_the_payload_is_a_field_table_with_secrets_marked_never_python_text(
    login: Any, viewer: Any, run: m.Run
) -> None:
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert '<dl class="payload-fields">' in html
    assert '<code>address.city</code></dt><dd class="payload-text">Köln</dd>' in html
    assert '<code>tags</code></dt><dd class="payload-text">vip, b2b</dd>' in html
    assert 'class="payload-redacted">secret, not stored' in html
    assert "{&#x27;firstName&#x27;" not in html and "{'firstName'" not in html  # no repr of the dict


def test_items_link_to_their_contact_in_highlevel(login: Any, viewer: Any, run: m.Run) -> None:
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert 'href="https://app.gohighlevel.com/v2/location/loc-42/contacts/detail/ghlA"' in html
    assert "open in HighLevel" in html


def test_verified_n_of_m_is_shown(login: Any, viewer: Any, run: m.Run) -> None:
    html = login(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert 'data-verified="1/2"' in html and "1 of 2 written records read back" in html


def test_an_editor_ignores_a_failure_with_a_note_and_it_shows_who_and_why(login: Any, editor: Any, run: m.Run) -> None:
    item = _items(run)["f-1"]
    client = login(editor)
    resp = client.post(
        reverse("dashboard:run_items_acknowledge", args=[run.pk]),
        {"item": [item.pk], "note": "a test vendor"},
        follow=True,
    )
    item.refresh_from_db()
    assert (item.acknowledged_by, item.acknowledge_note) == (editor, "a test vendor")
    html = resp.content.decode()
    assert "Ignored 1 failed item" in html and f"ignored by {editor.email}" in html and "a test vendor" in html


def test_ignoring_a_verification_mismatch_or_an_item_of_another_run_changes_nothing(
    login: Any, editor: Any, run: m.Run
) -> None:
    mismatch = _items(run)["c-2!"]
    stranger = RunItemFactory(action=m.ItemAction.FAILED)
    resp = login(editor).post(
        reverse("dashboard:run_items_acknowledge", args=[run.pk]),
        {"item": [mismatch.pk, stranger.pk, "x"]},
        follow=True,
    )
    assert "not open failures" in resp.content.decode()
    assert not m.RunItem.objects.filter(acknowledged_at__isnull=False).exists()


def test_an_editor_replays_the_selected_failures_in_a_retry_run(login: Any, editor: Any, run: m.Run) -> None:
    items = _items(run)
    resp = login(editor).post(
        reverse("dashboard:run_items_replay", args=[run.pk]),
        {"item": [items["f-2"].pk, items["c-2!"].pk, items["c-1"].pk]},
    )
    retry = m.Run.objects.get(retry_of=run)
    assert resp.status_code == 302 and resp["Location"] == f"/runs/{retry.pk}/"
    assert retry.checkpoint["only_ids"] == ["c-2", "f-2"]  # the created c-1 is not replayed


def test_a_viewer_can_neither_ignore_nor_replay(login: Any, viewer: Any, run: m.Run) -> None:
    item = _items(run)["f-1"]
    client = login(viewer)
    for name in ("dashboard:run_items_acknowledge", "dashboard:run_items_replay"):
        assert client.post(reverse(name, args=[run.pk]), {"item": [item.pk], "note": "x"}).status_code == 403
    item.refresh_from_db()
    assert item.acknowledged_at is None and not m.Run.objects.filter(retry_of=run).exists()
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="items-bulk"' not in html and "Replay now" not in html  # no buttons that would only say 403


def test_the_csv_export_has_every_item_defused_and_a_viewer_may_download_it(
    login: Any, viewer: Any, run: m.Run
) -> None:
    resp = login(viewer).get(reverse("dashboard:run_items_csv", args=[run.pk]))
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert f'filename="run-{run.pk}-items.csv"' in resp["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode())))
    assert sorted(r["source_id"] for r in rows) == ["c-1", "c-2", "c-2", "f-1", "f-2"]
    f1 = next(r for r in rows if r["source_id"] == "f-1")
    assert f1["error_class"] == "ValidationError" and '"city": "Köln"' in f1["payload"]
    ghl_a = next(r for r in rows if r["source_id"] == "c-1")
    assert ghl_a["target_url"].endswith("/location/loc-42/contacts/detail/ghlA")
    failed_only = login(viewer).get(reverse("dashboard:run_items_csv", args=[run.pk]) + "?action=failed")
    lines = b"".join(failed_only.streaming_content).decode().splitlines()
    assert len(lines) == 3  # the header and the two failures


def test_a_formula_in_a_record_cannot_run_in_the_spreadsheet(login: Any, viewer: Any, run: m.Run) -> None:
    m.RunItem.objects.filter(run=run, source_id="f-2").update(error_message="=1+2")
    body = b"".join(login(viewer).get(reverse("dashboard:run_items_csv", args=[run.pk])).streaming_content).decode()
    assert ",=1+2," not in body and "'=1+2" in body  # defusedcsv prefixes a quote


def test_many_failures_page_the_same_way_without_losing_or_repeating_any(login: Any, viewer: Any) -> None:
    run = RunFactory(status=m.RunStatus.PARTIAL, created_count=70, failed_count=40)
    m.RunItem.objects.bulk_create(
        [m.RunItem(run=run, source_id=f"ok-{i:03}", action=m.ItemAction.CREATED) for i in range(70)]
        + [m.RunItem(run=run, source_id=f"bad-{i:03}", action=m.ItemAction.FAILED) for i in range(40)]
    )
    client = login(viewer)
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/runs/{run.pk}/?page={page}").content.decode()
        seen += [part.split("</code>")[0] for part in html.split('<td data-label="Source id"><code>')[1:]]
    assert seen == [f"bad-{i:03}" for i in range(40)] + [f"ok-{i:03}" for i in range(70)]


def test_a_previews_page_offers_no_retry_replay_or_ignore(login: Any, editor: Any) -> None:
    preview = RunFactory(
        status=m.RunStatus.PARTIAL,
        dry_run=True,
        trigger=m.RunTrigger.PREVIEW,
        failed_count=1,
        checkpoint={"sample": 100},
    )
    RunItemFactory(run=preview, action=m.ItemAction.FAILED, error_class="MappingError")
    html = login(editor).get(f"/runs/{preview.pk}/").content.decode()
    assert "first 100 source records" in html and "nothing was written" in html
    assert 'data-action="retry"' not in html and "Replay now" not in html and 'id="items-bulk"' not in html
