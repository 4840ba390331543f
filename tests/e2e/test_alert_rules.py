"""Browser + a real Celery worker: an editor sets a sync's alert rule (threshold, routing, reminders), mutes
it, the change to failing is held while muted and delivered by the worker's sweep after the unmute, reminders
repeat until the alert is acknowledged."""

from __future__ import annotations

import email
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.apiclient.signatures import standard_secret_generate
from contacts_sync.services import status
from contacts_sync.tasks import alert_sweep_task
from tests.alerts.receiver import http_receiver
from tests.e2e.monitoring_seed import browser_login
from tests.factories import RunFactory, SyncFactory
from tests.support import start_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _mails(outbox: Path) -> list[str]:
    """The messages the worker's file mail backend wrote completely (each ends with a line of 79 dashes), as
    "subject\n\nbody" with the subject decoded (a name with "→" is MIME-encoded in the header)."""
    files = sorted(outbox.glob("*.log"), key=lambda p: p.stat().st_mtime_ns)
    texts = [p.read_text(errors="replace") for p in files]
    out = []
    for raw in (part for t in texts for part in t.split("-" * 79 + "\n") if part.strip()):
        message = email.message_from_string(raw)
        subject = str(make_header(decode_header(message["Subject"] or "")))
        out.append(f"{subject}\n\n{message.get_payload(decode=True).decode()}")
    return out


def _sweeps_done(worker: Any) -> int:
    return sum(1 for line in worker.output().splitlines() if "alert_sweep_task[" in line and "succeeded" in line)


def _fail(sync: m.Sync) -> None:
    """A failed run finishes: the status service records the change and enqueues the sender on commit."""
    status.run_finished(
        run=RunFactory(
            sync=sync,
            status=m.RunStatus.FAILED,
            error_summary=(
                "ServerError: HighLevel answered 503 Service Unavailable on POST /contacts/upsert after 4 attempts"
            ),
        )
    )


@pytest.mark.timeout(300)
def test_an_editor_routes_mutes_and_gets_reminders_until_acknowledging(
    page: Any, live_server: Any, editor: Any, redis_client: Any, tmp_path: Path
):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    worker = start_worker(
        connection.settings_dict["NAME"], tmp_path, queues="alerts", extra_env={"EMAIL_URL": f"filemail:///{outbox}"}
    )
    try:
        with http_receiver() as rx:
            mail = m.AlertChannel.objects.create(name="Ops mail", kind="email", target="ops@example.com")
            m.AlertChannel.objects.create(
                name="Team webhook", kind="webhook", target=rx.url, secrets={"secret": standard_secret_generate()}
            )
            sync = SyncFactory(name="UpGuard vendors → GHL contacts", health=m.SyncHealth.HEALTHY)
            browser_login(page, live_server, editor)

            # the rule: failing after 2 failed runs, only the mail channel, a reminder every hour
            page.goto(f"{live_server.url}/alerts/rules/{sync.pk}/")
            page.fill("input[name=failing_after_runs]", "2")
            page.fill("input[name=renotify_hours]", "1")
            page.check(f"input[name=channels][value='{mail.pk}']")
            page.click("button:has-text('Save rule')")
            page.wait_for_url(f"{live_server.url}/alerts/rules/")
            row = page.locator(f'tr[data-sync-id="{sync.pk}"]')
            assert "2 runs" in row.inner_text() and "every 1 h" in row.inner_text()
            assert "Ops mail" in row.inner_text() and "Team webhook" not in row.inner_text()

            # mute it for an hour from the list
            row.locator("select[name=hours]").select_option("1")
            row.get_by_role("button", name="Mute").click()
            page.wait_for_selector(f'tr[data-sync-id="{sync.pk}"][data-muted="true"]')

            _fail(sync)
            _fail(sync)  # the second failed run in a row makes it failing
            wait_until(lambda: m.Alert.objects.filter(sync=sync).exists(), timeout=30, what="the alert to open")
            page.goto(f"{live_server.url}/alerts/")
            line = page.locator("[data-delivery]").first.inner_text()
            assert line.startswith("not sent yet: muted until"), line
            title = page.locator("tr[data-alert-id] td").nth(1).inner_text()
            assert "is failing: HighLevel answered with server errors (HTTP 503)" in title
            assert _mails(outbox) == [] and rx.requests == []

            # unmute on the rule page: the worker's sweep delivers the held alert, to the mail channel only
            page.goto(f"{live_server.url}/alerts/rules/{sync.pk}/")
            page.click("button:has-text('Unmute now')")
            page.wait_for_selector(".message-success")
            alert_sweep_task.delay()  # what beat sends every minute
            wait_until(lambda: len(_mails(outbox)) == 1, timeout=30, what="the held alert to be mailed")
            assert "[failing]" in _mails(outbox)[0] and "Held until now: muted until" in _mails(outbox)[0]
            assert rx.requests == []  # routed away from the webhook

            # an hour later it is still failing: a reminder
            alert = m.Alert.objects.get(sync=sync)
            m.Alert.objects.filter(pk=alert.pk).update(last_notified_at=timezone.now() - timedelta(minutes=61))
            alert_sweep_task.delay()
            wait_until(lambda: len(_mails(outbox)) == 2, timeout=30, what="the reminder")
            assert [mail.split("]")[0] + "]" for mail in _mails(outbox)] == ["[failing]", "[still failing]"]
            page.goto(f"{live_server.url}/alerts/")
            assert "sent to 1 channel · 1 reminder" in page.locator("[data-delivery]").first.inner_text()

            # acknowledged: no more reminders
            page.locator("tr[data-alert-id]").first.get_by_role("button", name="Acknowledge").click()
            page.wait_for_selector(".message-success")
            m.Alert.objects.filter(pk=alert.pk).update(last_notified_at=timezone.now() - timedelta(hours=3))
            alert_sweep_task.delay()
            wait_until(lambda: _sweeps_done(worker) >= 3, timeout=30, what="the third sweep to finish")
            assert len(_mails(outbox)) == 2
            assert m.Notification.objects.filter(alert=alert, purpose="reminder").count() == 1
    finally:
        worker.stop()


def test_a_generated_signing_secret_is_shown_once_with_a_copy_button_and_never_stored_in_a_cookie(
    browser: Any, live_server: Any, admin_user: Any, settings: Any, tmp_path: Path
):
    from tests.e2e.shots import both_widths

    settings.DEBUG = True  # the receiver URL is on 127.0.0.1, allowed only in DEBUG
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        browser_login(page, live_server, admin_user)
        page.goto(f"{live_server.url}/alerts/channels/")
        page.click(".kind-tabs a[data-kind=webhook]")
        page.wait_for_selector("#channel-form input[name=secret]")
        page.fill("#channel-form input[name=name]", "Ops receiver")
        page.fill("#channel-form input[name=target]", "http://127.0.0.1:9/hook")
        page.fill("#channel-form input[name=secret]", "whsec_not-base64!")
        page.click("#channel-form button[type=submit]")
        page.wait_for_selector("#channel-form .errorlist")
        assert "not valid base64" in page.locator("#channel-form").inner_text()
        assert m.AlertChannel.objects.count() == 0
        page.fill("#channel-form input[name=secret]", "")  # empty: one is generated
        with page.expect_response(lambda r: r.url.endswith("/alerts/channels/") and r.request.method == "POST") as r:
            page.click("#channel-form button[type=submit]")
        assert r.value.headers["cache-control"] == "no-store"
        page.wait_for_selector("#channel-secret")
        secret = page.input_value("#channel-secret")
        assert secret.startswith("whsec_") and m.AlertChannel.objects.get().secrets == {"secret": secret}
        assert all(secret not in c["value"] for c in context.cookies())  # not in the messages cookie
        page.click("button[data-copy]")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert page.locator("button[data-copy]").inner_text() == "Copied"
        both_widths(page, "channel-secret", tmp_path)
        page.click("text=I have copied it")
        page.wait_for_url(f"{live_server.url}/alerts/channels/")
        assert secret not in page.content()
    finally:
        context.close()
