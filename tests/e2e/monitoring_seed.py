"""A realistic monitoring picture built with factories (no engine): used by the overview browser tests and
the screenshots in docs/screenshots/."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import alerts, status
from tests.factories import ConnectionFactory, RunFactory, SyncFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "")


def shot(page: Any, name: str, tmp_path: Path) -> Path:
    """Save a screenshot in tmp_path, and in $SCREENSHOTS_DIR when set (how docs/screenshots is refreshed)."""
    path = Path(SHOTS) / name if SHOTS else tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    return path


def browser_login(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])


def _history(sync: m.Sync, *, hours: int = 24, fail_every: int = 0, moved: int = 12, rng: random.Random) -> None:
    now = timezone.now()
    for h in range(hours, 0, -1):
        failed = bool(fail_every) and h % fail_every == 0
        r = RunFactory(
            sync=sync,
            status=m.RunStatus.FAILED if failed else m.RunStatus.SUCCEEDED,
            read_count=moved + 5,
            created_count=0 if failed else rng.randint(0, moved // 3),
            updated_count=0 if failed else rng.randint(moved // 3, moved),
            unchanged_count=5,
            api_calls=moved + 2,
        )
        at = now - timedelta(hours=h, minutes=rng.randint(0, 40))
        m.Run.objects.filter(pk=r.pk).update(created_at=at, started_at=at, finished_at=at + timedelta(seconds=20))


def seed() -> dict[str, Any]:
    rng = random.Random(7)
    now = timezone.now()
    m.AlertChannel.objects.create(name="Ops mail", kind=m.ChannelKind.EMAIL, target="ops@example.com")
    # a Slack hook that cannot be reached: its first send fails permanently and disables it (shown on the pages)
    m.AlertChannel.objects.create(
        name="#sync-alerts",
        kind=m.ChannelKind.SLACK,
        target="https://hooks.slack.com/…",
        secrets={"url": "http://127.0.0.1:9/services/T000/B000/XXXX"},
    )
    ghl = ConnectionFactory(
        name="Acme GHL location", provider=m.Provider.GHL, token_expires_at=now + timedelta(hours=20)
    )
    hub = ConnectionFactory(name="Acme Hubstaff", provider=m.Provider.HUBSTAFF, auth_kind=m.AuthKind.API_KEY)
    upg = ConnectionFactory(name="UpGuard vendors", provider=m.Provider.UPGUARD, auth_kind=m.AuthKind.API_KEY)
    star = ConnectionFactory(name="starbuero.de calls", provider=m.Provider.STARBUERO, auth_kind=m.AuthKind.API_KEY)
    mk = {"target_connection": ghl, "poll_interval_seconds": 900}
    healthy = SyncFactory(
        name="Hubstaff clients → GHL contacts", source_connection=hub, **mk, next_run_at=now + timedelta(minutes=9)
    )
    _history(healthy, rng=rng)
    status.run_finished(
        run=RunFactory(
            sync=healthy,
            status=m.RunStatus.SUCCEEDED,
            created_count=4,
            updated_count=9,
            read_count=20,
            unchanged_count=7,
        )
    )
    tasks_sync = SyncFactory(
        name="Hubstaff tasks → GHL tasks",
        source_connection=hub,
        source_object="task",
        target_object="task",
        **mk,
        next_run_at=now + timedelta(minutes=3),
    )
    _history(tasks_sync, rng=rng, moved=30)
    status.run_finished(run=RunFactory(sync=tasks_sync, status=m.RunStatus.SUCCEEDED, created_count=2))
    running = RunFactory(
        sync=tasks_sync,
        status=m.RunStatus.RUNNING,
        finished_at=None,
        expected_total=250,
        read_count=110,
        created_count=40,
        updated_count=52,
        unchanged_count=10,
    )
    degraded = SyncFactory(
        name="starbuero.de calls → GHL notes",
        source_connection=star,
        source_object="note",
        target_object="note",
        **mk,
        next_run_at=now + timedelta(minutes=12),
    )
    _history(degraded, rng=rng, fail_every=9)
    status.run_finished(
        run=RunFactory(sync=degraded, status=m.RunStatus.SUCCEEDED, created_count=0, updated_count=0, read_count=0)
    )
    status.run_finished(
        run=RunFactory(
            sync=degraded, status=m.RunStatus.PARTIAL, created_count=40, updated_count=4, failed_count=6, read_count=50
        )
    )
    failing = SyncFactory(
        name="UpGuard vendors → GHL contacts", source_connection=upg, **mk, next_run_at=now + timedelta(minutes=1)
    )
    _history(failing, rng=rng, fail_every=5)
    earlier = RunFactory(sync=failing, status=m.RunStatus.SUCCEEDED, created_count=3)
    m.Run.objects.filter(pk=earlier.pk).update(created_at=now - timedelta(minutes=20))
    status.run_finished(run=earlier)
    failed_run = RunFactory(
        sync=failing,
        status=m.RunStatus.FAILED,
        read_count=25,
        created_count=5,
        updated_count=2,
        unchanged_count=8,
        failed_count=10,
        api_calls=31,
        http_429s=2,
        error_summary="ServerError: HighLevel answered 503 Service Unavailable on "
        "POST /contacts/upsert after 4 attempts",
        started_at=now - timedelta(minutes=4),
        finished_at=now - timedelta(minutes=3),
    )
    m.Run.objects.filter(pk=failed_run.pk).update(created_at=now - timedelta(minutes=5))
    failed_run.refresh_from_db()
    _items(failed_run, rng)
    failed_run.refresh_from_db()
    status.run_finished(run=failed_run)
    paused = SyncFactory(name="HotspotSystem customers → GHL", source_connection=star, **mk, enabled=True)
    status.run_finished(run=RunFactory(sync=paused, status=m.RunStatus.SUCCEEDED, created_count=1))
    status.sync_paused_set(sync=paused, paused=True)
    alerts.status_changes_send_pending()
    # history for the alert list: a connection that lost and regained its token, a resolved sync failure
    status.connection_status_set(
        connection=upg, status=m.ConnectionStatus.NEEDS_REAUTH, reason="invalid_grant: refresh token revoked"
    )
    alerts.status_changes_send_pending()
    status.connection_status_set(connection=upg, status=m.ConnectionStatus.CONNECTED)
    alerts.status_changes_send_pending()
    old = m.StatusChange.objects.create(
        sync=healthy,
        old_status="healthy",
        new_status="failing",
        reason="RateLimitedError: 429 storm from HighLevel",
        processed=now,
    )
    past = m.Alert.objects.create(
        sync=healthy,
        opened_by=old,
        state=m.AlertState.RESOLVED,
        title=f"{healthy.name} is failing: HighLevel is rate-limiting the requests",
        detail=old.reason,
        resolved_at=now - timedelta(hours=20),
        last_notified_at=now - timedelta(hours=22),
    )
    m.Notification.objects.create(
        channel=m.AlertChannel.objects.get(name="Ops mail"), status_change=old, alert=past, ok=True
    )
    m.Alert.objects.filter(pk=m.Alert.objects.filter(sync=healthy).get().pk).update(opened_at=now - timedelta(hours=22))
    return {
        "healthy": healthy,
        "running": running,
        "degraded": degraded,
        "failing": failing,
        "failed_run": failed_run,
        "paused": paused,
        "ghl": ghl,
    }


def _items(run: m.Run, rng: random.Random) -> None:
    items = []
    for i in range(25):
        action = (
            m.ItemAction.FAILED
            if i % 5 in (1, 3)
            else rng.choice([m.ItemAction.CREATED, m.ItemAction.UPDATED, m.ItemAction.UNCHANGED])
        )
        err = (
            ("ServerError", "HTTP 503 from POST /contacts/upsert (request id 7f3a…)")
            if i % 5 == 1
            else ("ValidationError", "phone: '+49 30 1234' is not a valid E.164 number")
        )
        items.append(
            m.RunItem(
                run=run,
                source_id=f"vendor-{1000 + i}",
                target_id="" if action == "failed" else f"ghl_{rng.randint(10**9, 10**10)}",
                action=action,
                attempts=4 if err[0] == "ServerError" and action == "failed" else 1,
                error_class=err[0] if action == "failed" else "",
                error_message=err[1] if action == "failed" else "",
                payload={"firstName": f"Vendor {i}", "email": "[redacted]", "phone": "+49 30 1234", "tags": ["upguard"]}
                if action == "failed"
                else {},
            )
        )
    m.RunItem.objects.bulk_create(items)
    by_action = {a: sum(1 for it in items if it.action == a) for a in ("created", "updated", "unchanged", "failed")}
    m.Run.objects.filter(pk=run.pk).update(
        read_count=len(items),
        created_count=by_action["created"],
        updated_count=by_action["updated"],
        unchanged_count=by_action["unchanged"],
        failed_count=by_action["failed"],
    )
    for status_code, ms, n, attempts in (
        (200, 180, 12, 1),
        (201, 220, 5, 1),
        (503, 1400, 10, 4),
        (429, 30, 2, 2),
        (200, 90, 2, 1),
    ):
        for _ in range(n):
            m.ApiCall.objects.create(
                run=run,
                provider="ghl",
                method="POST" if status_code != 200 or ms > 100 else "GET",
                path_template="/contacts/upsert" if ms > 100 else "/contacts/search",
                status=status_code,
                duration_ms=ms + rng.randint(-20, 40),
                attempts=attempts,
            )
