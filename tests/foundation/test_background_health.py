"""No worker or no beat: /healthz says so, the overview shows a banner, and the alert channels are told once per
flip (beat announces a missing worker itself; a worker announces a silent beat). Real worker and beat processes."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from contacts_sync import health
from contacts_sync import models as m
from contacts_sync.services import alerts, ops
from tests.support import Process, child_env, start_worker, wait_until


def _clear_background() -> None:
    client = health.redis_client()
    for key in client.scan_iter(match="contacts_sync:health:*"):
        client.delete(key)


@pytest.fixture
def nothing_running() -> None:
    _clear_background()


@pytest.fixture
def email_channel(db: None) -> m.AlertChannel:
    return m.AlertChannel.objects.create(name="ops", kind=m.ChannelKind.EMAIL, target="ops@example.com")


@pytest.mark.django_db
def test_healthz_fails_naming_workers_and_beat_when_neither_runs(client: Any, nothing_running: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["failing"] == ["workers", "beat"]
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert "no Celery worker has sent a heartbeat" in body["checks"]["workers"]
    assert "beat has not ticked" in body["checks"]["beat"]
    assert body["workers_alive"] == []


@pytest.mark.django_db
def test_a_beat_that_stopped_ticking_is_reported_with_its_age(client: Any, nothing_running: None) -> None:
    health.worker_heartbeat_write("celery@w1")
    health.redis_client().set(health.BEAT_KEY, f"{time.time() - 600:.3f}")
    body = client.get("/healthz").json()
    assert body["failing"] == ["beat"]
    assert body["checks"]["beat"].startswith("Celery beat last ticked 6")
    health.worker_heartbeat_clear("celery@w1")


@pytest.mark.django_db
def test_the_overview_shows_a_banner_while_no_worker_or_beat_is_alive(
    client: Any, viewer: Any, nothing_running: None
) -> None:
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "No Celery worker is running and Celery beat is not ticking." in html
    assert "docs/operations.md" in html
    token = html.split('data-token="')[1].split('"')[0]
    health.worker_heartbeat_write("celery@w1")
    health.beat_tick_write()
    try:
        # the live part notices: the poll no longer answers 204, and the banner is gone
        poll = client.get(f"/status/poll?token={token}", HTTP_HX_REQUEST="true")
        assert poll.status_code == 200 and "background-banner" not in poll.content.decode()
        assert "background-banner" not in client.get("/").content.decode()
    finally:
        health.worker_heartbeat_clear("celery@w1")


@pytest.mark.django_db
def test_beat_alerts_once_when_no_worker_beats_and_again_when_one_is_back(email_channel: m.AlertChannel) -> None:
    assert ops.workers_check(silent_for=30) is None  # inside the TTL: nothing said yet
    down = ops.workers_check(silent_for=75)
    assert down is not None and down.component == m.Component.WORKER and down.new_status == "down"
    assert ops.workers_check(silent_for=90) is None  # still down: no second alert
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[down] component Celery workers stopped"
    assert "no Celery worker has sent a heartbeat for 75 s" in mail.outbox[0].body
    alert = m.Alert.objects.get(component=m.Component.WORKER)
    assert alert.state == m.AlertState.OPEN and alert.sync_id is None and alert.connection_id is None

    up = ops.workers_check(silent_for=0)
    assert up is not None and up.new_status == "up"
    alert.refresh_from_db()
    assert alert.state == m.AlertState.RESOLVED
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("[resolved]")
    assert m.StatusChange.objects.filter(component=m.Component.WORKER, processed__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_worker_reports_a_beat_that_stopped(email_channel: m.AlertChannel, nothing_running: None) -> None:
    # no tick recorded at all (never started, or Redis lost it): not an alert on the first look
    assert ops.beat_check() is None
    health.redis_client().set(health.BEAT_MISSING_KEY, f"{time.time() - 300:.3f}")
    down = ops.beat_check()
    assert down is not None and down.component == m.Component.BEAT and down.new_status == "down"
    alerts.status_changes_send_pending()  # the worker's own sender task, run here
    assert mail.outbox[0].subject == "[down] component Celery beat stopped"
    assert "has not ticked for 3" in mail.outbox[0].body
    health.beat_tick_write()
    assert ops.beat_check().new_status == "up"
    alerts.status_changes_send_pending()
    assert mail.outbox[-1].subject.startswith("[resolved]")


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_a_real_worker_and_a_real_beat_make_healthz_green_and_a_stopped_worker_turns_it_red(
    client: Any, transactional_db: None, redis_client: Any, tmp_path: Path, nothing_running: None
) -> None:
    db_name = connection.settings_dict["NAME"]
    worker = start_worker(db_name, tmp_path, name="healthy")
    beat = Process(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO", "-s", str(tmp_path / "beat-schedule")],
        child_env(db_name),
        tmp_path / "beat.log",
    )
    try:
        wait_until(
            lambda: client.get("/healthz").status_code == 200, timeout=60, what="healthz ok with a worker and beat"
        )
        body = client.get("/healthz").json()
        assert any(name.startswith("healthy-") for name in body["workers_alive"])
        worker.stop()  # a clean stop removes its heartbeat at once
        body = client.get("/healthz").json()
        assert body["failing"] == ["workers"], body
        assert beat.alive(), beat.output()[-2000:]
    finally:
        worker.stop()
        beat.stop()


@pytest.mark.django_db
def test_the_alerts_page_names_the_component(client: Any, viewer: Any, email_channel: m.AlertChannel) -> None:
    ops.workers_check(silent_for=120)
    client.force_login(viewer)
    html = client.get("/alerts/").content.decode()
    assert "component Celery workers stopped" in html  # the human title, the technical detail underneath
    assert "no Celery worker has sent a heartbeat for 120 s" in html
    assert re.search(r"<td[^>]*>Celery workers</td>", html)
