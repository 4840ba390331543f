from __future__ import annotations

import uuid

import pytest

from contacts_sync.models import WorkerPing
from contacts_sync.tasks import ping_task
from tests.support import wait_until


@pytest.mark.worker
def test_a_real_worker_consumes_ping_from_redis_and_writes_to_the_database(celery_worker):
    token = uuid.uuid4().hex
    ping_task.delay(token)
    ping = wait_until(lambda: WorkerPing.objects.filter(token=token).first(), timeout=30, what="ping row")
    assert ping.worker.startswith("worker-")
    assert celery_worker.alive()


def test_celery_is_configured_for_json_late_acks_and_the_four_queues():
    from config.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_always_eager is False
    assert {q.name for q in app.conf.task_queues} == {"default", "sync", "webhooks", "alerts"}
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit > 0
    from django.conf import settings

    assert 0 < settings.RUN_SLICE_SECONDS < app.conf.task_soft_time_limit  # a run yields before any limit
    assert app.amqp.router.route({}, "contacts_sync.tasks.run_execute_task")["queue"].name == "sync"
    assert app.amqp.router.route({}, "contacts_sync.tasks.ping_task")["queue"].name == "default"


def test_a_worker_freezes_what_it_loaded_at_start_up_so_full_collections_skip_it():
    """Full collections walked Django, Celery and the app every few seconds under load (bench.fleet: 100-280 ms
    pauses of every thread of the sync worker); frozen at worker_init, they are never scanned again."""
    import gc

    from celery.signals import worker_init

    from config.celery import _gc_for_workers

    assert _gc_for_workers in worker_init._live_receivers(None)
    gc.unfreeze()
    try:
        walked = len(gc.get_objects())  # what a full collection walks
        _gc_for_workers()
        assert gc.get_freeze_count() > 10_000  # the modules, classes and functions loaded so far
        assert len(gc.get_objects()) < walked / 10
    finally:
        gc.unfreeze()
