"""services.syncs: a new sync waits for "Go live"; archive, clone and delete (typed confirmation)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.selectors import overview as overview_selectors
from contacts_sync.selectors import syncs as syncs_selectors
from contacts_sync.services import scheduling, syncs
from contacts_sync.services.event_runs import event_syncs
from tests.factories import ApiCallFactory, ConnectionFactory, RunFactory, RunItemFactory, SyncFactory

pytestmark = pytest.mark.django_db

RECIPE = "hubstaff_client_to_ghl_contact"


@pytest.fixture
def pair() -> tuple[m.Connection, m.Connection]:
    hub = ConnectionFactory(provider=m.Provider.HUBSTAFF, auth_kind=m.AuthKind.API_KEY, external_account_id="77")
    ghl = ConnectionFactory(provider=m.Provider.GHL, external_account_id="loc-77")
    return hub, ghl


def new_sync(pair: tuple[m.Connection, m.Connection], **kw: Any) -> m.Sync:
    hub, ghl = pair
    return syncs.sync_create_from_recipe(
        recipe=RECIPE, name="clients", source_connection=hub, target_connection=ghl, webhook_trigger=True, **kw
    )


def test_a_new_sync_is_paused_and_neither_the_schedule_nor_a_webhook_runs_it(pair: Any) -> None:
    sync = new_sync(pair)
    assert (sync.enabled, sync.is_live, sync.next_run_at) == (False, False, None)
    assert scheduling.syncs_dispatch_due().enqueued == []
    event = m.InboundEvent.objects.create(
        provider=m.Provider.HUBSTAFF,
        connection=pair[0],
        event_id="e1",
        event_type="client.created",
        account_id="77",
        body="{}",
    )
    assert event_syncs(event, "contact") == []
    syncs.sync_go_live(sync=sync, user=None)
    assert event_syncs(event, "contact") == [sync]  # the same event, once the sync is live
    assert m.Run.objects.filter(sync=sync).count() == 1  # the first run of "Go live", nothing before it


def test_going_live_resumes_the_sync_and_starts_its_first_real_run(pair: Any, editor: Any) -> None:
    sync = new_sync(pair)
    run = syncs.sync_go_live(sync=sync, user=editor)
    assert run is not None and (run.trigger, run.dry_run) == (m.RunTrigger.MANUAL, False)
    assert sync.enabled and sync.is_live
    assert sync.next_run_at is not None and sync.next_run_at > timezone.now()  # the first run is already going
    assert m.AuditEntry.objects.filter(action="sync.go_live", actor=editor, object_id=str(sync.pk)).exists()


def test_going_live_while_the_preview_still_runs_leaves_the_first_run_to_the_dispatcher(pair: Any) -> None:
    sync = new_sync(pair)
    RunFactory(sync=sync, status=m.RunStatus.RUNNING, dry_run=True, trigger=m.RunTrigger.PREVIEW, finished_at=None)
    assert syncs.sync_go_live(sync=sync, user=None) is None
    sync.refresh_from_db()
    assert sync.enabled and sync.is_live and sync.next_run_at is None  # due at the dispatcher's next tick


def test_an_archived_sync_is_paused_hidden_and_cannot_go_live_until_restored(pair: Any, editor: Any) -> None:
    sync = SyncFactory(name="old one")
    kept = SyncFactory(name="kept")
    syncs.sync_archive(sync=sync, user=editor)
    assert (sync.enabled, sync.health) == (False, m.SyncHealth.PAUSED) and sync.archived_at is not None
    assert [t.sync for t in overview_selectors.overview_get().tiles] == [kept]
    assert [r.sync for r in syncs_selectors.sync_list_rows()] == [kept]
    assert [r.sync for r in syncs_selectors.sync_list_rows(archived=True)] == [sync]
    with pytest.raises(syncs.SyncActionError):
        syncs.sync_go_live(sync=sync, user=editor)
    syncs.sync_archive(sync=sync, user=editor, archived=False)
    assert sync.archived_at is None and sync.enabled is False  # restored, still paused
    assert {t.sync for t in overview_selectors.overview_get().tiles} == {sync, kept}


def test_a_clone_copies_the_settings_and_the_current_mapping_and_starts_not_live(pair: Any, editor: Any) -> None:
    hub, ghl = pair
    sync = syncs.sync_create_from_recipe(
        recipe=RECIPE,
        name="clients",
        source_connection=hub,
        target_connection=ghl,
        options={"page_limit": 7},
        poll_interval_seconds=600,
        live=True,
    )
    rules = [{"source": "name", "target": "firstName", "transforms": [], "required": True}]
    version = m.MappingVersion.objects.create(sync=sync, number=2, rules=rules, note="names only")
    m.Sync.objects.filter(pk=sync.pk).update(mapping_version=version, delete_policy=m.DeletePolicy.TAG)
    sync.refresh_from_db()
    m.RecordLink.objects.create(sync=sync, source_id="1", target_id="c1", content_hash="h")
    other_ghl = ConnectionFactory(provider=m.Provider.GHL, external_account_id="loc-other")
    clone = syncs.sync_clone(
        sync=sync, name="clients, second location", source_connection=hub, target_connection=other_ghl, user=editor
    )
    assert (clone.name, clone.target_connection, clone.recipe) == ("clients, second location", other_ghl, RECIPE)
    assert (clone.options, clone.poll_interval_seconds, clone.delete_policy) == ({**sync.options}, 600, "tag")
    assert (clone.enabled, clone.is_live, clone.health) == (False, False, m.SyncHealth.NEW)
    assert clone.mapping_version is not None and clone.mapping_version.number == 1
    assert clone.mapping_version.rules == rules and "mapping v2" in clone.mapping_version.note
    assert not m.RecordLink.objects.filter(sync=clone).exists()  # identity stays with the original
    with pytest.raises(ConfigurationError):  # a clone keeps the apps of its recipe
        syncs.sync_clone(sync=sync, name="x", source_connection=other_ghl, target_connection=other_ghl)


def test_deleting_needs_the_typed_name_and_removes_runs_items_calls_links_and_versions(editor: Any) -> None:
    sync = SyncFactory(name="Vendors → GHL")
    other = SyncFactory()
    run = RunFactory(sync=sync, status=m.RunStatus.PARTIAL)
    for action in (m.ItemAction.CREATED, m.ItemAction.FAILED):
        RunItemFactory(run=run, action=action)
    ApiCallFactory(run=run)
    m.RecordLink.objects.create(sync=sync, source_id="1", target_id="c1", content_hash="h")
    m.MappingVersion.objects.create(sync=sync, number=1, rules=[])
    kept_item = RunItemFactory(run=RunFactory(sync=other))
    with pytest.raises(syncs.SyncActionError):
        syncs.sync_delete(sync=sync, confirm="vendors", user=editor)
    assert m.Sync.objects.filter(pk=sync.pk).exists()

    impact = syncs.sync_delete(sync=sync, confirm="  Vendors → GHL ", user=editor)
    assert impact == {"runs": 1, "items": 2, "api_calls": 1, "links": 1, "mapping_versions": 1}
    assert not m.Sync.objects.filter(pk=sync.pk).exists()
    assert not m.Run.objects.filter(sync_id=sync.pk).exists() and not m.RunItem.objects.filter(run_id=run.pk).exists()
    assert not m.RecordLink.objects.filter(sync_id=sync.pk).exists()
    assert m.RunItem.objects.filter(pk=kept_item.pk).exists()  # the other sync keeps everything
    entry = m.AuditEntry.objects.get(action="sync.delete")
    assert (entry.actor, entry.object_repr, entry.changes["items"]) == (editor, "Vendors → GHL", 2)


def test_a_sync_with_an_active_run_is_not_deleted(editor: Any) -> None:
    run = RunFactory(status=m.RunStatus.RUNNING, finished_at=None)
    with pytest.raises(syncs.SyncActionError, match="queued or running"):
        syncs.sync_delete(sync=run.sync, confirm=run.sync.name, user=editor)
    assert m.Run.objects.filter(pk=run.pk).exists()
