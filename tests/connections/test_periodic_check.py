"""The periodic check runs in a real Celery worker: it refreshes GHL tokens ahead of expiry and tests the rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as db
from django.utils import timezone

from contacts_sync.models import Connection
from contacts_sync.services import connections as svc
from contacts_sync.tasks import connection_check_all_task
from tests.services.test_connections import CLIENT_ID, CLIENT_SECRET, oauth_connection
from tests.support import start_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_periodic_task_refreshes_a_token_expiring_soon_and_flags_a_broken_key(
    clean_sandbox: Any, admin_user: Any, settings: Any, redis_client: Any, tmp_path: Path
) -> None:
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    ghl = oauth_connection(clean_sandbox, admin_user)
    soon = timezone.now() + timedelta(minutes=20)
    Connection.objects.filter(pk=ghl.pk).update(token_expires_at=soon)
    broken = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": "hotspot-sandbox-key"},
        base_url=f"{clean_sandbox.url}/hotspotsystem",
    )
    Connection.objects.filter(pk=broken.pk).update(secrets={"api_key": "revoked-key"})
    worker = start_worker(
        db.settings_dict["NAME"],
        tmp_path,
        queues="default",
        extra_env={"GHL_CLIENT_ID": CLIENT_ID, "GHL_CLIENT_SECRET": CLIENT_SECRET},
    )
    try:
        connection_check_all_task.delay()
        wait_until(
            lambda: Connection.objects.get(pk=ghl.pk).token_expires_at > soon + timedelta(hours=1),
            timeout=60,
            what="the worker refreshed the GHL token",
        )
        wait_until(
            lambda: Connection.objects.get(pk=broken.pk).status == "error",
            timeout=60,
            what="the worker flagged the revoked key",
        )
    finally:
        worker.stop()
    assert Connection.objects.get(pk=ghl.pk).status == "connected"
    assert Connection.objects.get(pk=broken.pk).last_error
