"""The sync page's webhook inbox: a failed webhook can be routed again by an editor (audited), never by a viewer,
and only from the inbox of a sync that reads its account."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.models import AuditEntry, EventStatus, InboundEvent, SyncEvent
from contacts_sync.services import event_runs
from tests.services.test_event_runs import ghl_event, ghl_source_sync

pytestmark = pytest.mark.django_db


def _failed(location: str = "loc-1") -> InboundEvent:
    event = ghl_event(location=location)
    InboundEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED, error="KeyError: 'contact' (a bug)")
    event.refresh_from_db()
    return event


def test_an_editor_routes_a_failed_webhook_again_and_the_drain_takes_it(login: Any, editor: Any) -> None:
    sync = ghl_source_sync()
    event = _failed()
    page = login(editor).get(reverse("dashboard:sync_detail", args=[sync.pk]))
    retry = reverse("dashboard:sync_event_retry", args=[sync.pk, event.pk])
    assert page.status_code == 200 and retry in page.content.decode()
    answer = login(editor).post(retry, follow=True)
    assert answer.status_code == 200 and "routed again" in answer.content.decode()
    event.refresh_from_db()
    assert (event.status, event.error, event.processed_at) == (EventStatus.PENDING, "", None)
    entry = AuditEntry.objects.get(action="webhook_event.retry")
    assert entry.object_id == str(event.pk) and entry.actor_id == editor.pk and "KeyError" in str(entry.changes)
    assert event_runs.inbound_events_drain() == 1
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED and SyncEvent.objects.filter(sync=sync).count() == 1
    again = login(editor).post(retry, follow=True)  # not failed anymore: nothing happens, the page says so
    assert "nothing to retry" in again.content.decode()
    assert AuditEntry.objects.filter(action="webhook_event.retry").count() == 1


def test_a_viewer_sees_no_button_and_cannot_post(login: Any, viewer: Any) -> None:
    sync = ghl_source_sync()
    event = _failed()
    retry = reverse("dashboard:sync_event_retry", args=[sync.pk, event.pk])
    assert retry not in login(viewer).get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    assert login(viewer).post(retry).status_code == 403
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED


def test_a_webhook_of_another_account_is_not_in_this_syncs_inbox(login: Any, editor: Any) -> None:
    sync = ghl_source_sync()
    elsewhere = _failed(location="loc-other")
    answer = login(editor).post(reverse("dashboard:sync_event_retry", args=[sync.pk, elsewhere.pk]))
    assert answer.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.status == EventStatus.FAILED
