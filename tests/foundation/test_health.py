from __future__ import annotations

import pytest
from django.test import override_settings

from contacts_sync import health


@pytest.fixture
def background_alive() -> None:
    health.worker_heartbeat_write("celery@test-host")
    health.beat_tick_write()
    yield
    health.worker_heartbeat_clear("celery@test-host")


@pytest.mark.django_db
def test_healthz_answers_200_with_json_when_everything_is_up(client, background_alive):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "workers": "ok", "beat": "ok"}
    assert "celery@test-host" in body["workers_alive"]


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_broker_when_it_is_down(client, background_alive):
    from tests.support import free_port

    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert "Error" in body["checks"]["broker"]
