from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from contacts_sync import models as m
from contacts_sync.apiclient.signatures import standard_verify as verify
from tests.alerts.receiver import http_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(monitored: dict) -> m.Alert:
    ch = m.StatusChange.objects.create(
        sync=monitored["bad"], old_status="healthy", new_status="failing", run=monitored["failed"]
    )
    return m.Alert.objects.create(sync=monitored["bad"], opened_by=ch, title="UpGuard vendors → GHL is failing")


def test_a_viewer_cannot_acknowledge_resolve_retry_cancel_or_manage_channels(
    login: Any, viewer: Any, monitored: dict, alert: m.Alert
):
    c = login(viewer)
    channel = m.AlertChannel.objects.create(name="mail", kind="email", target="a@example.com")
    for url in (
        f"/alerts/{alert.pk}/acknowledge",
        f"/alerts/{alert.pk}/resolve",
        f"/runs/{monitored['failed'].pk}/retry",
        f"/runs/{monitored['running'].pk}/cancel",
        f"/alerts/channels/{channel.pk}/test",
        f"/alerts/channels/{channel.pk}/delete",
    ):
        assert c.post(url).status_code == 403, url
    assert c.get("/alerts/channels/").status_code == 403
    alert.refresh_from_db()
    assert alert.state == m.AlertState.OPEN
    assert m.Run.objects.filter(retry_of=monitored["failed"]).count() == 0
    assert m.AlertChannel.objects.filter(pk=channel.pk).exists() and mail.outbox == []


def test_an_editor_acknowledges_then_resolves_an_alert(login: Any, editor: Any, alert: m.Alert):
    c = login(editor)
    assert c.post(f"/alerts/{alert.pk}/acknowledge").status_code == 302
    alert.refresh_from_db()
    assert alert.state == m.AlertState.ACKNOWLEDGED and alert.acknowledged_by == editor
    resp = c.post(f"/alerts/{alert.pk}/acknowledge", follow=True)
    assert "Only an open alert" in resp.content.decode()
    c.post(f"/alerts/{alert.pk}/resolve")
    alert.refresh_from_db()
    assert alert.state == m.AlertState.RESOLVED
    assert m.AuditEntry.objects.filter(action="alert.resolve", actor=editor).exists()


def test_the_alert_list_filters_by_state_and_ignores_a_bad_one(login: Any, viewer: Any, alert: m.Alert):
    channel = m.AlertChannel.objects.create(name="mail", kind="email", target="a@example.com")
    m.Notification.objects.create(channel=channel, status_change=alert.opened_by, alert=alert, ok=True)
    m.Notification.objects.create(channel=channel, status_change=alert.opened_by, alert=alert, ok=False, error="x")
    c = login(viewer)
    assert 'sent to 1 channel · <span class="bad-text">1 failed</span>' in c.get("/alerts/").content.decode()
    assert alert.title in c.get("/alerts/?state=open").content.decode()
    assert alert.title not in c.get("/alerts/?state=resolved").content.decode()
    resp = c.get("/alerts/?state=<script>")
    assert resp.status_code == 200 and "Ignored the state filter" in resp.content.decode()


def test_an_editor_retries_the_failed_items_of_a_run(login: Any, editor: Any, monitored: dict):
    run = monitored["failed"]
    resp = login(editor).post(f"/runs/{run.pk}/retry")
    retry = m.Run.objects.get(retry_of=run)
    assert resp.status_code == 302 and resp["Location"].endswith(f"/runs/{retry.pk}/")
    assert retry.trigger == m.RunTrigger.RETRY


def test_an_editor_cancels_a_running_run(login: Any, editor: Any, monitored: dict):
    run = monitored["running"]
    login(editor).post(f"/runs/{run.pk}/cancel")
    run.refresh_from_db()
    assert run.cancel_requested


def test_an_admin_adds_a_webhook_channel_and_its_test_arrives_signed(login: Any, admin_user: Any, settings: Any):
    c = login(admin_user)
    with http_receiver() as rx:
        resp = c.post("/alerts/channels/", {"name": "ops hook", "kind": "webhook", "target": rx.url})
        html = resp.content.decode()
        assert resp.status_code == 200 and "will not be shown again" in html
        assert resp["Cache-Control"] == "no-store"  # no browser or proxy keeps the page with the secret
        assert not resp.cookies.get("messages")  # and it does not travel in the messages cookie either
        secret = html.split('id="channel-secret" readonly value="')[1].split('"')[0]
        assert secret.startswith("whsec_")
        channel = m.AlertChannel.objects.get(name="ops hook")
        resp = c.post(f"/alerts/channels/{channel.pk}/test", follow=True)
    assert "Test sent" in resp.content.decode()
    assert verify(secret=secret, headers=rx.requests[0].headers, body=rx.requests[0].body)
    assert secret not in c.get("/alerts/channels/").content.decode()  # never rendered back


def test_a_failing_test_disables_the_channel_and_shows_its_error(login: Any, admin_user: Any, settings: Any):
    c = login(admin_user)
    with http_receiver(status=410) as rx:
        channel = m.AlertChannel.objects.create(name="gone", kind="slack", target="#ops", secrets={"url": rx.url})
        html = c.post(f"/alerts/channels/{channel.pk}/test", follow=True).content.decode()
    assert "HTTP 410" in html and "disabled" in html
    channel.refresh_from_db()
    assert not channel.enabled


@pytest.mark.parametrize(
    "target,error",
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http://127.0.0.1:8000/hook", "private or loopback"),
        ("http://10.1.2.3/hook", "private or loopback"),
        ("http://[::1]/hook", "private or loopback"),
        ("http://localhost/hook", "private or loopback"),
    ],
)
def test_the_form_refuses_bad_webhook_urls_unless_allowlisted(
    login: Any, admin_user: Any, settings: Any, target: str, error: str
):
    settings.PRIVATE_URL_ALLOWLIST = []  # production: no local host allowed, whatever DEBUG says
    settings.DEBUG = True
    resp = login(admin_user).post("/alerts/channels/", {"name": "x", "kind": "webhook", "target": target})
    assert resp.status_code == 200 and error in resp.content.decode()
    assert not m.AlertChannel.objects.exists()


def test_an_invalid_htmx_post_rerenders_the_form_with_200(login: Any, admin_user: Any):
    resp = login(admin_user).post(
        "/alerts/channels/", {"name": "", "kind": "email", "target": "not-an-address"}, HTTP_HX_REQUEST="true"
    )
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="channel-form"' in html and "<html" not in html
    assert "is not an email address" in html
