"""The outbox: one delivery per GHL event and endpoint (idempotent), only for the kinds a sync forwards,
unreadable events kept as invalid and never offered, held ones resumed on re-enable, old ones pruned."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import changes_feed, outbox
from tests.e2e.deliveries_seed import delivery_sync

pytestmark = pytest.mark.django_db


def _event(location: str, type_: str, body: dict[str, Any], event_id: str) -> m.InboundEvent:
    payload = {
        "type": type_,
        "locationId": location,
        "webhookId": event_id,
        "timestamp": timezone.now().isoformat(),
        **body,
    }
    return m.InboundEvent.objects.create(
        provider="ghl",
        event_id=event_id,
        event_type=type_,
        account_id=location,
        body=json.dumps(payload),
        status=m.EventStatus.IGNORED,
    )


def test_a_ghl_event_goes_once_into_the_outbox_of_each_sync_that_forwards_its_kind() -> None:
    sync, ep, secrets = delivery_sync()
    tasks_only, ep2, _ = delivery_sync()
    location = sync.source_connection.external_account_id
    tasks_only.source_connection = sync.source_connection
    tasks_only.options = {"kinds": ["task"]}
    tasks_only.save()
    event = _event(location, "ContactCreate", {"id": "c1", "firstName": "Ada", "email": "Ada@Example.com"}, "w1")
    made = outbox.outbox_feed(event_id=event.pk)
    assert outbox.outbox_feed(event_id=event.pk) == []  # a retried task or a re-processed event adds nothing
    (delivery,) = m.WebhookDelivery.objects.filter(pk__in=made)
    assert delivery.endpoint_id == ep.pk and delivery.event_type == "contact.created"
    body = json.loads(delivery.body)
    assert body["id"] == delivery.msg_id and body["data"] == {
        "id": "c1",
        "first_name": "Ada",
        "email": "Ada@Example.com",
    }
    event.refresh_from_db()
    assert event.status == m.EventStatus.PROCESSED and "forwarded to 1" in event.error
    assert not m.WebhookDelivery.objects.filter(endpoint=ep2).exists()
    page = changes_feed.changes_page(token=secrets.feed_token)
    assert page["data"] == [body] and page["has_more"] is False


def test_an_event_without_a_record_is_kept_invalid_never_sent_nor_in_the_feed() -> None:
    sync, _ep, secrets = delivery_sync()
    event = _event(sync.source_connection.external_account_id, "NoteCreate", {"body": "no id"}, "w2")
    (pk,) = outbox.outbox_feed(event_id=event.pk)
    delivery = m.WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == m.DeliveryStatus.INVALID and "no record id" in delivery.last_error
    assert changes_feed.changes_page(token=secrets.feed_token)["data"] == []
    assert outbox.deliveries_due_sweep() == []


def test_events_of_other_locations_and_lifecycle_events_are_not_forwarded() -> None:
    sync, _, _ = delivery_sync()
    other = _event("another-location", "ContactCreate", {"id": "c9"}, "w3")
    install = _event(sync.source_connection.external_account_id, "INSTALL", {"id": "x"}, "w4")
    assert outbox.outbox_feed(event_id=other.pk) == [] and outbox.outbox_feed(event_id=install.pk) == []


def test_a_disabled_endpoint_holds_new_events_and_prune_keeps_what_is_still_owed() -> None:
    sync, ep, _ = delivery_sync(enabled=False)
    (held,) = outbox.outbox_feed(
        event_id=_event(
            sync.source_connection.external_account_id,
            "TaskCreate",
            {"id": "t1", "contactId": "c1", "title": "Call"},
            "w5",
        ).pk
    )
    assert m.WebhookDelivery.objects.get(pk=held).status == m.DeliveryStatus.HELD
    old = m.WebhookDelivery.objects.create(
        endpoint=ep, event_key="old", msg_id="msg_old", event_type="x.y", body="{}", status=m.DeliveryStatus.DELIVERED
    )
    m.WebhookDelivery.objects.filter(pk__in=[old.pk, held]).update(created_at=timezone.now() - timedelta(days=40))
    assert outbox.deliveries_prune() == 1
    assert list(m.WebhookDelivery.objects.values_list("pk", flat=True)) == [held]


def _refuse_deliveries(body: str) -> str:
    """A trigger on the outbox table (real PostgreSQL faults, no mock); returns the table name."""
    from django.db import connection

    table = m.WebhookDelivery._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"CREATE OR REPLACE FUNCTION refuse_delivery() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$")
        cur.execute(f'CREATE TRIGGER refuse BEFORE INSERT ON "{table}" FOR EACH ROW EXECUTE FUNCTION refuse_delivery()')
    return table


def _pending(location: str, type_: str, body: dict[str, Any], event_id: str) -> m.InboundEvent:
    event = _event(location, type_, body, event_id)
    m.InboundEvent.objects.filter(pk=event.pk).update(status=m.EventStatus.PENDING)
    return event


@pytest.mark.django_db(transaction=True)  # the fault ends the test's own database connection
def test_a_drain_that_loses_the_database_while_forwarding_leaves_the_batch_pending_for_the_next() -> None:
    """Routing a batch and forwarding it are one transaction: PostgreSQL ending the connection while the delivery
    rows go in leaves every event of the batch pending, and the next drain routes and forwards it. Before, the
    batch stayed routed (no longer pending) and was never forwarded."""
    from django.db import OperationalError, connection

    from contacts_sync.services import event_runs

    sync, ep, _ = delivery_sync()
    location = sync.source_connection.external_account_id
    events = [
        _pending(location, "ContactCreate", {"id": f"c{n}", "firstName": "Bo", "email": f"bo{n}@example.com"}, f"w{n}")
        for n in range(3)
    ]
    table = _refuse_deliveries("BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END")
    with pytest.raises(OperationalError):
        event_runs.inbound_events_drain()
    connection.close()  # a new connection, as the drain task's retry gets
    with connection.cursor() as cur:
        cur.execute(f'DROP TRIGGER refuse ON "{table}"')
    assert set(m.InboundEvent.objects.values_list("status", flat=True)) == {m.EventStatus.PENDING}
    assert not m.WebhookDelivery.objects.exists()
    assert event_runs.inbound_events_drain() == 3
    assert sorted(m.WebhookDelivery.objects.filter(endpoint=ep).values_list("event_key", flat=True)) == [
        "w0",
        "w1",
        "w2",
    ]
    for event in events:
        event.refresh_from_db()
        assert event.status == m.EventStatus.PROCESSED and "forwarded to 1" in event.error


def test_an_event_the_outbox_refuses_is_failed_with_its_reason_and_the_rest_of_the_batch_is_forwarded() -> None:
    """A row the database refuses (here: a trigger, for one event) is that event's failure, never a batch retried
    forever with every later webhook stuck behind it."""
    from contacts_sync.services import event_runs

    sync, ep, _ = delivery_sync()
    location = sync.source_connection.external_account_id
    good = _pending(location, "ContactCreate", {"id": "c1", "firstName": "Ada", "email": "ada@example.com"}, "w-ok")
    bad = _pending(location, "ContactCreate", {"id": "c2", "firstName": "Bo", "email": "bo@example.com"}, "w-bad")
    _refuse_deliveries(
        "BEGIN IF NEW.event_key = 'w-bad' THEN RAISE EXCEPTION 'deliveries refused (test)'; END IF; RETURN NEW; END"
    )
    assert event_runs.inbound_events_drain() == 2
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == m.EventStatus.PROCESSED and "forwarded to 1" in good.error
    assert bad.status == m.EventStatus.FAILED and "Not forwarded to the webhook endpoints" in bad.error
    assert "deliveries refused (test)" in bad.error
    assert list(m.WebhookDelivery.objects.filter(endpoint=ep).values_list("event_key", flat=True)) == ["w-ok"]


def test_the_mapping_editor_offers_the_fields_a_ghl_change_carries() -> None:
    from contacts_sync.services import mappings

    sync, _, _ = delivery_sync()
    fields = {f.path: f.label for f in mappings.source_fields_for(sync)}
    assert {"firstName", "email", "title", "body", "startTime", "contactId"} <= set(fields)
    assert fields["contactId"] == "Contact id (the parent) (task, note, appointment)"
    assert (
        fields["id"] == "Record id (contact, task, note, appointment)" and fields["firstName"] == "First name (contact)"
    )
    assert len(fields) == len(mappings.source_fields_for(sync))  # each path once
