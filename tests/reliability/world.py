"""What every fault scenario shares: a few thousand records of every shape in the custom-app emulator, a polling
custom-app -> GHL contact sync, "the next scheduled run", and the outcome measured against the GHL emulator.

The outcome is measured in two halves so that the PostgreSQL scenario, whose database only its subprocesses
reach, measures the same way: `db_facts` (runs, items, links, health, alerts: JSON, from whichever process has the
database) and `ghl_facts` (what the GHL emulator holds and accepted), judged together by `judge`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db.models import Count
from django.utils import timezone

from contacts_sync import models as m
from tests.support import wait_until
from tests.sync.world import NO_LIMIT, ghl_contacts, limits_off

# Records per scenario: a few thousand, sized so a full pass takes well under a minute on the emulators.
SCENARIO_RECORDS = 2000
# Every fifth record has neither email nor phone (GHL's upsert cannot find it again); four of those share a name,
# spread over the middle of the list (where the scenarios strike) so that some are written before a fault and some after.
TWIN_AT = (0.30, 0.35, 0.40, 0.45)
# The polling interval the scenarios' syncs have; the tests bring "the next scheduled run" forward.
POLL_SECONDS = 300
# How a record written before a crash and found again by the next run is reported (sync/engine.py).
ADOPTED_PREFIX = "Found in the target"


# ----- records ---------------------------------------------------------------------------------------------------
def people(n: int, token: str) -> list[dict[str, Any]]:
    """n contacts: 3/5 with an email, 1/5 with a phone only, 1/5 with neither (four of those named "Twin")."""
    out = []
    twins = {int(n * at) // 5 * 5 + 4 for at in TWIN_AT}
    for i in range(n):
        record: dict[str, Any] = {"id": f"{token}-{i:05d}", "first_name": f"P{i}", "last_name": f"T{token}"}
        if i % 5 in (0, 1, 2):
            record["email"] = f"p{i}.{token}@faults.example"
        elif i % 5 == 3:
            record["phone"] = f"+4930{2000000 + i}"  # a Berlin number, unique per record
        else:
            record["first_name"] = "Twin" if i in twins else f"Nameless{i}"
        out.append(record)
    return out


def key_of(contact: dict[str, Any]) -> str:
    """What makes a contact this record and no other: its email, else its phone, else its first name."""
    email = str(contact.get("email") or "").strip().lower()
    if email:
        return f"email:{email}"
    phone = str(contact.get("phone") or "").strip()
    if phone:
        return f"phone:{phone}"
    return f"name:{str(contact.get('first_name') or contact.get('firstName') or '').strip()}"


def put_records(sandbox: Any, records: list[dict[str, Any]]) -> None:
    """Replace every record of the custom-app emulator with these (one keep-alive session: 2,000 posts in seconds)."""
    import requests

    http = requests.Session()
    http.post(f"{sandbox.url}/custom/_admin/clear", timeout=10).raise_for_status()
    for record in records:
        http.post(f"{sandbox.url}/custom/_admin/records", json=record, timeout=10).raise_for_status()
    http.close()


def touch_records(sandbox: Any, records: list[dict[str, Any]], **change: Any) -> None:
    import requests

    http = requests.Session()
    for record in records:
        record.update(change)
        http.post(
            f"{sandbox.url}/custom/_admin/records", json={"id": record["id"], **change}, timeout=10
        ).raise_for_status()
    http.close()


# ----- the sync ----------------------------------------------------------------------------------------------------
def fault_sync(sandbox: Any, *, page_limit: int = 200, budget_per_10s: int = 0, name: str = "faults") -> m.Sync:
    """A polling custom-app -> GHL contact sync, not due until a test says so, and an e-mail alert channel.

    `budget_per_10s` > 0 spends the shared Redis rate budget before every GHL call, as production does (0: none).
    The GHL client keeps the product's timeouts and retries (apiclient/client.py).
    """
    from contacts_sync.services.syncs import sync_create_from_recipe
    from tests.factories import ConnectionFactory

    limits_off(sandbox)
    app = ConnectionFactory(
        name="Your app",
        provider=m.Provider.CUSTOM,
        auth_kind=m.AuthKind.WEBHOOK_SECRET,
        base_url=f"{sandbox.url}/custom",
        secrets={"api_token": "custom-sandbox-token"},
    )
    ghl = ConnectionFactory(
        name="GHL sandbox",
        provider=m.Provider.GHL,
        auth_kind=m.AuthKind.PRIVATE_TOKEN,
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
        config={"rate_limit_per_10s": budget_per_10s},
    )
    sync = sync_create_from_recipe(
        recipe="custom_contact_to_ghl_contact",
        name=name,
        source_connection=app,
        target_connection=ghl,
        options={"page_limit": page_limit},
        poll_interval_seconds=POLL_SECONDS,
        live=True,
    )  # as if gone live
    m.Sync.objects.filter(pk=sync.pk).update(next_run_at=timezone.now() + timedelta(days=1))
    if not m.AlertChannel.objects.filter(name="ops mail").exists():
        m.AlertChannel.objects.create(name="ops mail", kind=m.ChannelKind.EMAIL, target="ops@example.com")
    sync.refresh_from_db()
    return sync


def scheduled_run(sync_id: int) -> int:
    """The next scheduled run, brought forward: the sync is made due and the dispatcher (beat, every 30 s) runs."""
    from contacts_sync.services import scheduling

    m.Sync.objects.filter(pk=sync_id).update(next_run_at=timezone.now())
    result = scheduling.syncs_dispatch_due()
    run = m.Run.objects.filter(sync_id=sync_id, pk__in=result.enqueued).first()
    assert run is not None, f"the dispatcher enqueued no run for sync {sync_id}: {result}"
    m.Sync.objects.filter(pk=sync_id).update(next_run_at=timezone.now() + timedelta(days=1))
    return run.pk


def run_state(run_id: int) -> m.Run:
    return m.Run.objects.get(pk=run_id)


def wait_finished(run_id: int, beat: Beat | None = None, timeout: float = 300) -> m.Run:
    """Wait for a run to end, with beat's periodic tasks ticking meanwhile when `beat` is given."""

    def done() -> bool:
        if beat is not None:
            beat.tick()
        return m.Run.objects.filter(pk=run_id).exclude(status__in=m.ACTIVE_RUN_STATUSES).exists()

    wait_until(done, timeout=timeout, interval=0.5, what=f"run {run_id} to finish")
    return run_state(run_id)


class Beat:
    """Beat's periodic tasks for a scenario, played by the test at a faster pace (config/settings.py has the real
    schedule): the alert sweep (every minute there) is sent to the worker every SWEEP_SECONDS, and the reaper
    (every minute there, for heartbeats older than REAP_AFTER_SECONDS = 120 s) runs on every tick with
    `reap_after` seconds, when given: still several engine heartbeats (5 s), so a live run keeps its worker."""

    SWEEP_SECONDS = 5.0

    def __init__(self, *, reap_after: float | None = None) -> None:
        self.reap_after = reap_after
        self.next_sweep = 0.0

    def tick(self) -> None:
        from celery import current_app

        from contacts_sync.services import runs

        if self.reap_after is not None:
            runs.runs_reap(older_than_seconds=self.reap_after)
        if time.monotonic() >= self.next_sweep:
            self.next_sweep = time.monotonic() + self.SWEEP_SECONDS
            try:
                current_app.send_task("contacts_sync.tasks.status_change_send_task")
            except Exception:  # noqa: BLE001 - beat logs a broker that is away and tries on its next tick
                pass


def wait_recovery_announced(sync_id: int, beat: Beat, timeout: float = 60) -> None:
    """After a good run: give the sync's return to healthy up to `timeout` s to be announced (health can follow
    the run's end through its connection's status, and the sender runs on beat's tick). Returns either way; the
    scenario's assertions say whether it was."""

    def announced() -> bool:
        beat.tick()
        return m.Notification.objects.filter(
            status_change__sync_id=sync_id, status_change__new_status=m.SyncHealth.HEALTHY
        ).exists()

    with contextlib.suppress(AssertionError):  # wait_until's time-out: the scenario asserts what happened
        wait_until(announced, timeout=timeout, interval=0.5, what="the recovery to be announced")


def wait_alerts_sent(sync_id: int, beat: Beat, timeout: float = 60) -> None:
    """Every status change of the sync has been processed by the alert sender (notified, or nothing to send)."""

    def done() -> bool:
        beat.tick()
        return not m.StatusChange.objects.filter(sync_id=sync_id, processed__isnull=True).exists()

    wait_until(done, timeout=timeout, interval=0.5, what="the alert sender to process the sync's status changes")


# ----- measuring --------------------------------------------------------------------------------------------------
def db_facts(sync_id: int) -> dict[str, Any]:
    """Everything the database says about the scenario's sync (JSON-able, so a subprocess can print it)."""
    runs = []
    for run in m.Run.objects.filter(sync_id=sync_id).order_by("pk"):
        by_action = dict(run.items.values_list("action").annotate(n=Count("pk")).values_list("action", "n"))
        runs.append(
            {
                "id": run.pk,
                "status": run.status,
                "trigger": run.trigger,
                "error_summary": run.error_summary,
                "read": run.read_count,
                "created": run.created_count,
                "updated": run.updated_count,
                "unchanged": run.unchanged_count,
                "skipped": run.skipped_count,
                "failed": run.failed_count,
                "deleted": run.deleted_count,
                "http_429s": run.http_429s,
                "items": by_action,
                "adopted": run.items.filter(error_message__startswith=ADOPTED_PREFIX).count(),
                "failed_classes": sorted(
                    set(run.items.filter(action=m.ItemAction.FAILED).values_list("error_class", flat=True))
                ),
                "slowest_call_ms": max(run.calls.values_list("duration_ms", flat=True), default=0),
                "failed_writes": run.calls.filter(provider="ghl")
                .exclude(method="GET")
                .exclude(path_template__endswith="/search")
                .exclude(status__gte=200, status__lt=300)
                .count(),
                "reaps": int(run.checkpoint.get("reaps", 0)),
            }
        )
    links = m.RecordLink.objects.filter(sync_id=sync_id)
    sync = m.Sync.objects.get(pk=sync_id)
    changes = m.StatusChange.objects.filter(sync_id=sync_id).order_by("created_at", "pk")
    return {
        "runs": runs,
        "links": links.count(),
        "link_targets": sorted(t for t in links.values_list("target_id", flat=True) if t),
        "pending_intents": links.filter(pending_since__isnull=False).count(),
        "health": sync.health,
        "health_reason": sync.health_reason,
        "changes": [[c.old_status, c.new_status, c.reason] for c in changes],
        "notified": [
            [n.status_change.new_status, n.ok]
            for n in m.Notification.objects.filter(status_change__sync_id=sync_id)
            .select_related("status_change")
            .order_by("created_at", "pk")
        ],
    }


def record_offset(sandbox: Any) -> int:
    path = Path(sandbox.record_path)
    return path.stat().st_size if path.exists() else 0


def ghl_facts(sandbox: Any, token: str, since: int) -> dict[str, Any]:
    """The GHL emulator: the scenario's contacts, and how many contacts it created for them since byte `since`
    of its exchange record (2xx upserts answered `new: true`, injected faults excluded)."""
    contacts = [c for c in ghl_contacts(sandbox) if c.get("lastName") == f"T{token}"]
    return {
        "contacts": [{"id": c["id"], "key": key_of(c)} for c in contacts],
        "created": ghl_created(sandbox, token, since),
    }


def ghl_created(sandbox: Any, token: str, since: int) -> int:
    """Contacts of this scenario the GHL emulator created since byte `since` of its exchange record."""
    created = 0
    with Path(sandbox.record_path).open("rb") as handle:
        handle.seek(since)
        for line in handle:
            if token.encode() not in line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("kind") != "http" or row.get("fault") or not 200 <= int(row.get("status") or 0) < 300:
                continue
            if row.get("method") == "POST" and row.get("path") == "/contacts/upsert":
                created += bool(json.loads(row.get("response") or "{}").get("new"))
    return created


@dataclass
class Outcome:
    """One row of the table printed at the end of the suite."""

    scenario: str
    records: int
    lost: int
    duplicated: int
    counts_true: bool
    finish: str
    alert: str
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def judge(records: list[dict[str, Any]], db: dict[str, Any], ghl: dict[str, Any]) -> tuple[int, int, list[str]]:
    """(lost, duplicated, problems with the counts): each record must be exactly one GHL contact, each run's
    counters must be its items, and every contact GHL created must be reported once (created, or found again
    after a crash)."""
    expected = Counter(key_of(r) for r in records)
    found = Counter(c["key"] for c in ghl["contacts"])
    lost = sum(max(0, n - found[k]) for k, n in expected.items())
    duplicated = sum(max(0, n - expected[k]) for k, n in found.items())
    problems = []
    for run in db["runs"]:
        items = run["items"]
        for action in ("created", "updated", "unchanged", "skipped", "failed", "deleted"):
            if run[action] != items.get(action, 0):
                problems.append(f"run {run['id']}: {action}_count {run[action]} but {items.get(action, 0)} items")
        if run["read"] != sum(n for a, n in items.items() if not a.startswith("verify")):
            problems.append(f"run {run['id']}: read_count {run['read']} but {sum(items.values())} items")
        # every record here maps and is unique: each failed item is a write GHL refused, and the other way round
        if run["failed"] != run["failed_writes"]:
            problems.append(f"run {run['id']}: {run['failed_writes']} GHL writes failed; {run['failed']} failed items")
    reported = sum(r["created"] + r["adopted"] for r in db["runs"])
    if reported != ghl["created"]:
        problems.append(f"GHL created {ghl['created']} contacts; the runs report {reported} (created + found)")
    ids = {c["id"] for c in ghl["contacts"]}
    if set(db["link_targets"]) != ids or len(db["link_targets"]) != len(ids):
        problems.append(f"{len(db['link_targets'])} linked targets vs {len(ids)} GHL contacts (or they differ)")
    if db["pending_intents"]:
        problems.append(f"{db['pending_intents']} write-ahead intents left pending")
    return lost, duplicated, problems


def alerts_text(db: dict[str, Any]) -> str:
    """The alert column: which status changes reached the e-mail channel."""
    sent = [f"{status} e-mailed" for status, ok in db["notified"] if ok]
    return "; ".join(sent) if sent else "none (no one needs to act)"


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


__all__ = [
    "NO_LIMIT",
    "SCENARIO_RECORDS",
    "Beat",
    "Clock",
    "Outcome",
    "alerts_text",
    "db_facts",
    "fault_sync",
    "ghl_facts",
    "judge",
    "limits_off",
    "people",
    "put_records",
    "record_offset",
    "scheduled_run",
    "wait_finished",
]
