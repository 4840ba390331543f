"""The delivery log page: who may see it and act on it, secrets shown once and never again, live refresh (204
while nothing changed), replay audited, re-enable by an editor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from contacts_sync import models as m
from tests.e2e.deliveries_seed import delivery_sync, seed_deliveries
from tests.factories import SyncFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_viewer_sees_every_delivery_with_its_attempts_but_no_buttons(viewer: Any) -> None:
    sync, ep, secrets = delivery_sync()
    seed_deliveries(ep)
    page = _client(viewer).get(reverse("dashboard:sync_deliveries", args=[sync.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("data-delivery=") == 6
    assert "HTTP 500: upstream busy" in html and "ReadTimeout: read timed out" in html
    assert re.search(r"1\D?203 ms", html)  # the slow attempt's latency
    assert 'data-action="replay"' not in html and 'data-action="rotate"' not in html
    assert secrets.signing_secret not in html and secrets.feed_token not in html


def test_the_live_part_answers_204_until_an_attempt_is_logged(viewer: Any) -> None:
    sync, ep, _ = delivery_sync()
    (d,) = seed_deliveries(ep, rows=[("contact.created", "retrying", [(500, 10, "HTTP 500")], 5)])
    client = _client(viewer)
    url = reverse("dashboard:sync_deliveries", args=[sync.pk])
    first = client.get(url, HTTP_HX_REQUEST="true")
    token = first.content.decode().split('data-token="', 1)[1].split('"', 1)[0]
    assert client.get(url, {"token": token}, HTTP_HX_REQUEST="true").status_code == 204
    m.WebhookAttempt.objects.create(delivery=d, number=2, status_code=200, latency_ms=12)
    again = client.get(url, {"token": token}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and "HTTP 200" in again.content.decode()


def test_an_admin_creates_the_endpoint_and_sees_the_secrets_once_stored_encrypted(admin_user: Any) -> None:
    sync, ep, _ = delivery_sync()
    ep.delete()
    client = _client(admin_user)
    refused = client.post(reverse("dashboard:sync_endpoint_setup", args=[sync.pk]), {"url": "ftp://example.com/x"})
    assert refused.status_code == 200 and "must start with https://" in refused.content.decode()
    made = client.post(reverse("dashboard:sync_endpoint_setup", args=[sync.pk]), {"url": "http://127.0.0.1:9/in"})
    endpoint = m.WebhookEndpoint.objects.get(sync=sync)
    secret, token = endpoint.secrets["signing_secret"], endpoint.secrets["feed_token"]
    assert secret.startswith("whsec_") and secret in made.content.decode() and token in made.content.decode()
    assert made["Cache-Control"] == "no-store"
    later = client.get(reverse("dashboard:sync_deliveries", args=[sync.pk])).content.decode()
    assert secret not in later and token not in later
    with connection.cursor() as cur:
        cur.execute("SELECT secrets FROM contacts_sync_webhookendpoint WHERE id = %s", [endpoint.pk])
        raw = cur.fetchone()[0]
    assert secret not in raw and token not in raw
    assert m.AuditEntry.objects.filter(action="webhook_endpoint.create", actor=admin_user).exists()
    assert secret not in str(list(m.AuditEntry.objects.values_list("changes", flat=True)))


def test_only_an_admin_replays_and_the_replay_is_audited(viewer: Any, editor: Any, admin_user: Any) -> None:
    sync, ep, _ = delivery_sync()
    d = seed_deliveries(ep)[0]
    url = reverse("dashboard:sync_delivery_replay", args=[sync.pk, d.pk])
    assert _client(viewer).post(url).status_code == 403
    assert _client(editor).post(url).status_code == 403
    assert not m.AuditEntry.objects.filter(action="webhook_delivery.replay").exists()
    assert _client(admin_user).post(url).status_code == 302
    entry = m.AuditEntry.objects.get(action="webhook_delivery.replay")
    assert entry.actor == admin_user and entry.changes["msg_id"] == d.msg_id


def test_an_editor_re_enables_a_disabled_endpoint_and_held_events_are_resumed(viewer: Any, editor: Any) -> None:
    sync, ep, _ = delivery_sync(enabled=False, disabled_reason="Webhooks to your app are disabled: 410")
    seed_deliveries(ep)
    url = reverse("dashboard:sync_endpoint_enable", args=[sync.pk])
    assert _client(viewer).post(url).status_code == 403
    assert _client(editor).post(url).status_code == 302
    ep.refresh_from_db()
    assert ep.enabled and ep.disabled_reason == ""
    assert m.WebhookDelivery.objects.get(endpoint=ep, event_type="appointment.created").status == "pending"


def test_a_sync_of_another_recipe_has_no_delivery_log(viewer: Any) -> None:
    other = SyncFactory()
    assert _client(viewer).get(reverse("dashboard:sync_deliveries", args=[other.pk])).status_code == 404


def test_the_sync_page_links_the_delivery_log_and_offers_no_run_for_this_flow(editor: Any) -> None:
    sync, _, _ = delivery_sync()
    html = _client(editor).get(reverse("dashboard:sync_detail", args=[sync.pk])).content.decode()
    assert reverse("dashboard:sync_deliveries", args=[sync.pk]) in html
    assert 'data-action="run-now"' not in html and "has no runs" in html
    assert _client(editor).post(reverse("dashboard:sync_run_now", args=[sync.pk])).status_code == 302
    assert not m.Run.objects.filter(sync=sync).exists()  # run_enqueue refuses this flow
