"""The monitoring picture (monitoring_seed.seed) plus what the run and sync pages of the operator's day show: a
failed run with an ignored failure, a failure fixed by a retry and a read-back that differed; a stalled run; a new
sync that is not live yet, with the preview of its first run; an archived sync. Factories only (no engine)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from contacts_sync import models as m
from tests.e2e.monitoring_seed import seed
from tests.factories import RunFactory, SyncFactory


def runs_seed(editor: Any) -> dict[str, Any]:
    data = seed()
    now = timezone.now()
    failed_run = data["failed_run"]
    failed = list(failed_run.items.filter(action=m.ItemAction.FAILED).order_by("pk"))
    m.RunItem.objects.filter(pk=failed[0].pk).update(  # as run_items_acknowledge leaves it
        acknowledged_at=now - timedelta(minutes=1),
        acknowledged_by=editor,
        acknowledge_note="vendor without a phone: fixed in UpGuard next week",
    )
    retry = RunFactory(
        sync=failed_run.sync,
        status=m.RunStatus.SUCCEEDED,
        trigger=m.RunTrigger.RETRY,
        retry_of=failed_run,
        created_count=1,
    )
    m.RunItem.objects.filter(pk=failed[1].pk).update(resolved_by=retry)
    m.RunItem.objects.filter(pk=failed[2].pk).update(
        payload={
            "firstName": '=HYPERLINK("http://evil.example")',
            "email": "[redacted]",
            "phone": "+49 30 1234",
            "customFields": [{"key": "contract_value", "field_value": 1200}],
            "address": {"city": "Köln", "country": "DE"},
            "tags": ["upguard", "vendor"],
            "note": "",
        }
    )
    checked = failed_run.items.filter(action=m.ItemAction.CREATED).first()
    m.RunItem.objects.create(
        run=failed_run,
        source_id=checked.source_id,
        target_id=checked.target_id,
        action=m.ItemAction.VERIFY_FAILED,
        error_class="VerificationFailed",
        error_message="Verification failed: phone sent '+4930123456' but read back ''",
        payload={"firstName": "Vendor 7", "phone": "+4930123456"},
    )
    m.Run.objects.filter(pk=failed_run.pk).update(verify_sampled=5, verified_count=4, verify_failed_count=1)
    m.Run.objects.filter(pk=data["running"].pk).update(heartbeat_at=now - timedelta(minutes=2, seconds=10))

    ghl, hub = data["ghl"], data["healthy"].source_connection
    new = SyncFactory(
        name="Hubstaff members → GHL contacts (new)",
        source_connection=hub,
        target_connection=ghl,
        enabled=False,
        went_live_at=None,
        next_run_at=None,
    )
    preview = RunFactory(
        sync=new,
        status=m.RunStatus.PARTIAL,
        trigger=m.RunTrigger.PREVIEW,
        dry_run=True,
        checkpoint={"sample": 100},
        read_count=100,
        would_create_count=91,
        would_update_count=0,
        skipped_count=2,
        failed_count=7,
        started_at=now - timedelta(seconds=40),
        finished_at=now - timedelta(seconds=31),
    )
    reasons = [
        "email: 'n/a' is not an email address",
        "firstName: required, missing",
        "phone: '0049 (0)30 12' is not a valid phone number for the region DE",
    ]
    for i in range(7):
        m.RunItem.objects.create(
            run=preview,
            source_id=f"member-{4100 + i}",
            action=m.ItemAction.FAILED,
            error_class="MappingError",
            error_message="; ".join(reasons[: 1 + i % 3]),
            payload={"source": {"name": "", "email": "n/a", "phone": "0049 (0)30 12", "pay_rate": "[redacted]"}},
        )
    archived = SyncFactory(
        name="Old starbuero.de test sync",
        source_connection=data["degraded"].source_connection,
        target_connection=ghl,
        enabled=False,
        archived_at=now - timedelta(days=3),
    )
    return {**data, "new": new, "preview": preview, "archived": archived, "retry": retry}
