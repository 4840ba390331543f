from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from contacts_sync import models as m
from tests.factories import RunFactory, RunItemFactory, SyncFactory


@pytest.fixture
def login(client: Client) -> Any:
    def as_(user: Any) -> Client:
        client.force_login(user)
        return client

    return as_


@pytest.fixture
def monitored(db: None) -> dict[str, Any]:
    """Two syncs: one healthy with history, one failing with a failed run that has items and API calls."""
    now = timezone.now()
    ok = SyncFactory(name="Hubstaff clients → GHL", health=m.SyncHealth.HEALTHY, last_success_at=now)
    bad = SyncFactory(name="UpGuard vendors → GHL", health=m.SyncHealth.FAILING, health_reason="GHL answered 503")
    for h in range(5):
        r = RunFactory(sync=ok, status=m.RunStatus.SUCCEEDED, created_count=3, updated_count=2)
        m.Run.objects.filter(pk=r.pk).update(created_at=now - timedelta(hours=h))
    failed = RunFactory(
        sync=bad,
        status=m.RunStatus.FAILED,
        read_count=4,
        created_count=1,
        failed_count=3,
        error_summary="ServerError: GHL answered 503",
        api_calls=5,
        http_429s=1,
    )
    RunItemFactory(run=failed, action=m.ItemAction.CREATED, target_id="c1")
    for i in range(3):
        RunItemFactory(
            run=failed,
            action=m.ItemAction.FAILED,
            error_class="ServerError",
            error_message=f"503 on upsert {i}",
            payload={"email": "[redacted]", "firstName": f"Ann{i}"},
        )
    for status, ms in ((200, 40), (503, 900), (503, 1200), (429, 10), (200, 60)):
        m.ApiCall.objects.create(
            run=failed,
            provider="ghl",
            method="POST",
            path_template="/contacts/upsert",
            status=status,
            duration_ms=ms,
            attempts=2 if status != 200 else 1,
        )
    running = RunFactory(sync=ok, status=m.RunStatus.RUNNING, finished_at=None, expected_total=10, created_count=4)
    return {"ok": ok, "bad": bad, "failed": failed, "running": running}
