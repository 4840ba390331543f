from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in metrics:\n{text}")


def test_metrics_report_runs_items_calls_queues_and_token_expiry(
    client: Any, monitored: dict, redis_client: Any, settings: Any
):
    conn = monitored["bad"].target_connection
    conn.token_expires_at = timezone.now() + timedelta(hours=1)
    conn.save()
    from kombu import Queue

    settings.CELERY_TASK_QUEUES = [Queue("metrics-test-queue")]  # not a queue a worker might be consuming
    redis_client.delete("metrics-test-queue")
    redis_client.rpush("metrics-test-queue", "a", "b")
    try:
        text = client.get("/metrics").content.decode()
    finally:
        redis_client.delete("metrics-test-queue")
    assert _value(text, 'contacts_sync_runs{status="failed"}') == 1
    assert _value(text, 'contacts_sync_run_items_total{action="failed"}') == 3
    assert _value(text, 'contacts_sync_api_calls_total{provider="ghl",status_class="5xx"}') == 2
    assert _value(text, 'contacts_sync_api_calls_429_total{provider="ghl"}') == 1
    assert _value(text, 'contacts_sync_queue_depth{queue="metrics-test-queue"}') == 2
    assert 3500 < _value(text, f'contacts_sync_token_expires_in_seconds{{connection_id="{conn.pk}"') <= 3600
    assert _value(text, "contacts_sync_broker_up") == 1


def test_metrics_need_the_bearer_token_when_one_is_set(client: Any, settings: Any, db: None):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
