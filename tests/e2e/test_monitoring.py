"""Done-when of the monitoring issue, with every part real: the engine in a Celery worker, the emulators over
HTTP, alerts delivered by the worker to a local signed-webhook receiver and to a file-based mail outbox, and a
browser watching the overview poll."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from contacts_sync import models as m
from contacts_sync.apiclient.signatures import standard_secret_generate as secret_generate
from contacts_sync.apiclient.signatures import standard_verify as verify
from contacts_sync.services import runs
from tests.alerts.receiver import http_receiver
from tests.e2e.monitoring_seed import browser_login, shot
from tests.support import start_worker, wait_until
from tests.sync.world import NO_LIMIT, HubstaffOrg, client_sync, wait_finished

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLIENTS = 240
PAGE = 12


def _events(rx: Any, secret: str) -> list[dict[str, Any]]:
    out = []
    for req in rx.requests:
        assert verify(secret=secret, headers=req.headers, body=req.body), "unsigned or badly signed webhook"
        out.append(json.loads(req.body))
    return out


def _mails(outbox: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in sorted(outbox.glob("*.log"))]


def _tile(page: Any, sync: m.Sync) -> Any:
    return page.locator(f'[data-sync-id="{sync.pk}"]')


@pytest.mark.timeout(600)
def test_a_tile_goes_running_then_failing_alerts_once_and_recovers(
    clean_sandbox: Any, page: Any, live_server: Any, viewer: Any, redis_client: Any, tmp_path: Path
):
    box = clean_sandbox
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    worker = start_worker(
        connection.settings_dict["NAME"],
        tmp_path,
        extra_env={"EMAIL_URL": f"filemail:///{outbox}", "ALERT_FLAP_WINDOW_SECONDS": "900"},
    )
    secret = secret_generate()
    try:
        with http_receiver() as rx:
            m.AlertChannel.objects.create(name="ops webhook", kind="webhook", target=rx.url, secrets={"secret": secret})
            m.AlertChannel.objects.create(name="ops mail", kind="email", target="ops@example.com")
            org = HubstaffOrg(box, clients=CLIENTS)
            sync = client_sync(box, org, page_limit=PAGE)

            first = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
            assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
            # the health is computed right after the run's final status is committed
            wait_until(
                lambda: m.Sync.objects.get(pk=sync.pk).health == m.SyncHealth.HEALTHY,
                timeout=20,
                what="the sync to be healthy",
            )
            assert rx.requests == []  # new -> healthy is no news

            browser_login(page, live_server, viewer)
            # slow pages from Hubstaff so the run is watchable; a full re-read, so it has CLIENTS to go through
            box.set_faults("hubstaff", "*", latency_ms=1500, rate_limit=NO_LIMIT)
            run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL, mode="full")
            wait_until(
                lambda: m.Run.objects.get(pk=run.pk).status == m.RunStatus.RUNNING,
                timeout=30,
                what="the worker to start the run",
            )
            page.goto(f"{live_server.url}/")
            page.wait_for_selector(f'[data-sync-id="{sync.pk}"][data-status="running"]', timeout=30000)
            bar = _tile(page, sync).locator(".progress > span")
            width = bar.get_attribute("style")
            page.wait_for_function(
                "([sel, w]) => { const e = document.querySelector(sel); return e && e.getAttribute('style') !== w }",
                arg=[f'[data-sync-id="{sync.pk}"] .progress > span', width],
                timeout=30000,
            )  # the bar moved
            shot(page, "overview-running.png", tmp_path)

            box.set_faults("hubstaff", "*", error_rate=1.0, rate_limit=NO_LIMIT)  # Hubstaff starts answering 5xx
            page.wait_for_selector(f'[data-sync-id="{sync.pk}"][data-status="failing"]', timeout=240000)
            run.refresh_from_db()
            assert run.status == m.RunStatus.FAILED
            wait_until(lambda: rx.requests and _mails(outbox), timeout=60, what="the failing alert to arrive")
            shot(page, "overview-failing.png", tmp_path)

            # two more failed runs: still failing, and nobody is paged again
            for _ in range(2):
                again = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
                assert again.status == m.RunStatus.FAILED
            [failing] = _events(rx, secret)
            assert failing["type"] == "sync.status_changed" and failing["data"]["new_status"] == "failing"
            assert failing["data"]["name"] == sync.name
            mails = _mails(outbox)
            assert len(mails) == 1 and "[failing]" in mails[0] and "ops@example.com" in mails[0]
            assert m.Alert.objects.filter(sync=sync).count() == 1

            box.clear_faults()
            box.set_faults("hubstaff", "*", rate_limit=NO_LIMIT)
            box.set_faults("ghl", box.location_id, rate_limit=NO_LIMIT)
            ok = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL, mode="full"), timeout=240)
            assert ok.status == m.RunStatus.SUCCEEDED, ok.error_summary
            page.wait_for_selector(f'[data-sync-id="{sync.pk}"][data-status="healthy"]', timeout=30000)
            wait_until(
                lambda: len(rx.requests) == 2 and len(_mails(outbox)) == 2, timeout=60, what="the recovery alert"
            )
            recovered = _events(rx, secret)[1]
            assert recovered["type"] == "sync.recovered" and recovered["data"]["new_status"] == "healthy"
            assert "[resolved]" in _mails(outbox)[1]
            assert m.Alert.objects.get(sync=sync).state == m.AlertState.RESOLVED
            assert m.Notification.objects.filter(ok=True).count() == 4  # 2 channels x (failing, recovered)
    finally:
        worker.stop()
