"""Runs: enqueue (one active run per sync), execute (claim, heartbeat, engine, finish), cancel, retry, reap.

Every state change of a Run is a conditional UPDATE so that two workers, a reaper and a redelivered Celery
message can race without doing the work twice: whoever's UPDATE matches owns the run.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts_sync.logging import log_context
from contacts_sync.models import (
    Connection,
    ConnectionStatus,
    ItemAction,
    RecordLink,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
    Sync,
    SyncEvent,
)
from contacts_sync.services import status
from contacts_sync.services.audit import audit_record
from contacts_sync.services.credentials import connector_for
from contacts_sync.sync.plan import SyncPlan
from contacts_sync.sync.recipes import Writer, recipe_for

log = logging.getLogger(__name__)

# A running run whose heartbeat is older than this lost its worker (the engine beats at least every few
# seconds, and a single API call is capped well below this by the client's total-time cap).
REAP_AFTER_SECONDS = 120
# A queued run whose message was not consumed for this long gets its message sent again (lost on a broker
# restart); a long queue of legitimate work merely receives a harmless duplicate.
QUEUED_RESEND_SECONDS = 900
# A run is retried from its checkpoint at most this many times by the reaper; then it is failed for good.
MAX_REAPS = 5
RUN_EXECUTE_TASK = "contacts_sync.tasks.run_execute_task"
# Runs started by a webhook (one record, seconds of work) and retries of failed items have their own queue, so a
# long first sync never keeps them waiting for a worker slot (docs/operations.md, "Execution model").
LIVE_QUEUE = "webhooks"
BULK_QUEUE = "sync"
LIVE_TRIGGERS = (RunTrigger.WEBHOOK, RunTrigger.RETRY)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED)


def run_queue(trigger: str) -> str:
    """The Celery queue of a run (and of each of its continuations)."""
    return LIVE_QUEUE if trigger in LIVE_TRIGGERS else BULK_QUEUE


def _enqueue_on_commit(run_id: int, trigger: str, countdown: float | None = None) -> None:
    def send() -> None:
        # by name: tasks sit above services in the import layers
        current_app.send_task(RUN_EXECUTE_TASK, args=[run_id], queue=run_queue(trigger), countdown=countdown)

    transaction.on_commit(send)


_stopping = threading.Event()


def runs_yield_soon() -> None:
    """The worker is shutting down (a deploy): every run it executes yields at its next page boundary and
    continues on another worker, instead of holding the shutdown for the rest of its time slice."""
    _stopping.set()


def _slice_seconds() -> float | None:
    """How long one task works on a run before it yields (settings.RUN_SLICE_SECONDS; 0 = never)."""
    value = float(getattr(settings, "RUN_SLICE_SECONDS", 0) or 0)
    return value if value > 0 else None


def run_enqueue(
    *,
    sync: Sync,
    trigger: str,
    user: Any = None,
    event: Any = None,
    dry_run: bool = False,
    mode: str | None = None,
    retry_of: Run | None = None,
    checkpoint: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> Run | None:
    """Create a queued run unless one is active (the partial unique index decides); enqueue it on commit, to be
    started `countdown` seconds later when given (webhook runs: the events arriving meanwhile join it).

    Returns None when a run of this sync is already queued or running, and for a flow without runs (GHL changes
    -> your app forwards each event as it arrives: services/outbox.py).
    """
    recipe = recipe_for(sync.recipe)
    if recipe is not None and recipe.writer == Writer.OUTBOX:
        return None
    try:
        with transaction.atomic():
            run = Run.objects.create(
                sync=sync,
                trigger=trigger,
                mode=mode or sync.mode,
                dry_run=bool(dry_run),
                # from the database, not the caller's object: a restore since it was loaded must count
                mapping_version_id=Sync.objects.filter(pk=sync.pk).values_list("mapping_version_id", flat=True).first(),
                event=event,
                retry_of=retry_of,
                checkpoint=checkpoint or {},
            )
    except IntegrityError:
        return None  # one_active_run_per_sync: another run is queued or running
    _enqueue_on_commit(run.pk, run.trigger, countdown)
    if user is not None:
        audit_record(actor=user, action="run.enqueue", obj=run, changes={"trigger": trigger, "dry_run": run.dry_run})
    return run


def run_cancel(*, run: Run, user: Any = None) -> Run:
    """A queued run is cancelled at once; a running one stops between records (the engine checks the flag)."""
    now = timezone.now()
    if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, cancel_requested=True, finished_at=now, error_summary="Cancelled before it started."
    ):
        run.refresh_from_db()
        _finished(run)
    else:
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(cancel_requested=True)
        run.refresh_from_db()
    if user is not None:
        audit_record(actor=user, action="run.cancel", obj=run)
    return run


def run_retry_failed(*, run: Run, user: Any = None) -> Run | None:
    """A new run (trigger=retry) over the source ids of this run's failed items only.

    Returns None when there is nothing to retry or a run of the sync is already active.
    """
    ids = run.items.filter(action=ItemAction.FAILED).values_list("source_id", flat=True)
    return _retry(run, ids, user)


# The items a person may replay one by one: those the target refused or that did not read back as sent.
REPLAYABLE_ACTIONS = (ItemAction.FAILED, ItemAction.VERIFY_FAILED)


def run_items_replay(*, run: Run, items: list[RunItem], user: Any = None) -> Run | None:
    """Replay now: a retry run of `run` over the source ids of these items only (failed or verify-failed items
    of this run; others are ignored). Their failures close when the retry writes them (status.run_finished).

    Returns None when no item qualifies or a run of the sync is already active.
    """
    ids = [i.source_id for i in items if i.run_id == run.pk and i.action in REPLAYABLE_ACTIONS]
    return _retry(run, ids, user)


def _retry(run: Run, source_ids: Any, user: Any) -> Run | None:
    ids = sorted(set(source_ids))
    if not ids or run.dry_run:  # a preview's failures are looked at, not written: "Preview again" instead
        return None
    return run_enqueue(
        sync=run.sync,
        trigger=RunTrigger.RETRY,
        user=user,
        dry_run=False,
        retry_of=run,
        checkpoint={"only_ids": ids},
    )


# A new sync's preview reads this many source records: enough to show typical failures, fast on any source.
PREVIEW_SAMPLE_RECORDS = 100


def run_preview(*, sync: Sync, user: Any = None, sample: int | None = PREVIEW_SAMPLE_RECORDS) -> Run | None:
    """A dry run someone asked for: the same reads, mapping and diff as a real run, and no write. `sample` stops
    it after the page that reaches that many records (None: the whole source). None when a run is active."""
    return run_enqueue(
        sync=sync,
        trigger=RunTrigger.PREVIEW,
        user=user,
        dry_run=True,
        checkpoint={"sample": sample} if sample else None,
    )


def _claim(run_id: int, worker: str) -> bool:
    """queued -> running (or a running run whose worker vanished): a conditional UPDATE, one winner."""
    now = timezone.now()
    stale = now - timedelta(seconds=REAP_AFTER_SECONDS)
    return bool(
        Run.objects.filter(pk=run_id)
        .filter(Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=stale))
        .update(status=RunStatus.RUNNING, worker=worker, heartbeat_at=now)
    )


def run_execute(*, run_id: int, worker: str = "") -> Run | None:
    """The body of run_execute_task: claim the run, run the engine, record the outcome, tell the status service.

    Safe to call twice for the same run (a redelivered message, a reaped run): only one caller wins the claim.
    A run still reading when its time slice is over goes back to queued and this sends its continuation (a new
    message for the same run, at the back of its queue), so a long run never outlives a task time limit and the
    runs waiting behind it get their turn.
    """
    token = f"{worker or 'worker'}:{uuid.uuid4().hex[:8]}"
    if not _claim(run_id, token):
        log.info("run %s not claimable (already running elsewhere or finished)", run_id)
        return None
    run = Run.objects.select_related(
        "sync", "sync__source_connection", "sync__target_connection", "mapping_version", "event"
    ).get(pk=run_id)
    if run.started_at is None:
        run.started_at = timezone.now()
        run.expected_total = _expected_total(run)
        Run.objects.filter(pk=run_id).update(started_at=run.started_at, expected_total=run.expected_total)
    with log_context(run_id=run.pk, sync_id=run.sync_id):
        try:
            engine = SyncPlan.for_sync(run.sync, run, connect=connector_for).engine(
                worker_token=token,
                on_finish=_after_run,
                slice_seconds=_slice_seconds(),
                stop_requested=_stopping.is_set,
            )
        except Exception as exc:  # noqa: BLE001 - any set-up failure fails the run, with its reason
            log.warning("run set-up failed: %s", exc)
            _fail(run, token, f"Could not start: {type(exc).__name__}: {exc}")
            return run
        # A finished run's ending ran _after_run in the same transaction; a yielded one continues as a new message.
        if engine.execute() == "yielded":
            _enqueue_on_commit(run.pk, run.trigger)  # autocommit here: sent at once
        run.refresh_from_db()
    return run


def _expected_total(run: Run) -> int | None:
    """For the progress bar: the ids to retry, or what the last full run of the sync read."""
    if run.checkpoint.get("only_ids"):
        return len(run.checkpoint["only_ids"])
    if run.event_id or run.trigger == RunTrigger.WEBHOOK:  # the events waiting, not the whole source
        return None
    return (
        Run.objects.filter(sync_id=run.sync_id, status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL])
        .exclude(trigger__in=[RunTrigger.RETRY, RunTrigger.WEBHOOK])
        .order_by("-finished_at")
        .values_list("read_count", flat=True)
        .first()
    )


def _fail(run: Run, token: str, summary: str) -> None:
    Run.objects.filter(pk=run.pk, worker=token, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error_summary=summary[:2000]
    )
    run.refresh_from_db()
    _finished(run)


def _after_run(run: Run) -> None:
    """What follows a run's end: the sync's health, then its connections' status (the engine runs this in the
    transaction that writes the run's final status)."""
    status.run_finished(run=run)
    _connections_after_run(run)
    # the events this run claimed are its (its items say what became of them); those that came later wait
    SyncEvent.objects.filter(run_id=run.pk, done=False).update(done=True)
    transaction.on_commit(lambda: sync_events_follow_up(sync_id=run.sync_id))


# A run that ends while webhook events wait for its sync asks for the next run this much later (events coalesce).
FOLLOW_UP_COUNTDOWN_SECONDS = 2


def sync_events_follow_up(*, sync_id: int) -> Run | None:
    """Routed webhook events that no run took yet (they arrived while this run was active) get the next run,
    once the ending is committed: routing stores its rows before it tries to start a run, so either that try or
    this check sees the other (services/event_runs.py). Quiet on errors: the sweeper backs it up."""
    try:
        if not SyncEvent.objects.filter(sync_id=sync_id, done=False, run__isnull=True).exists():
            return None
        sync = Sync.objects.filter(pk=sync_id, enabled=True).first()
        if sync is None:
            return None
        return run_enqueue(sync=sync, trigger=RunTrigger.WEBHOOK, countdown=FOLLOW_UP_COUNTDOWN_SECONDS)
    except Exception:
        log.exception("no follow-up run for the waiting events of sync %s (the sweeper will start it)", sync_id)
        return None


def _finished(run: Run) -> None:
    """_after_run for runs that ended outside the engine (set-up failures, cancels, the reaper)."""
    try:
        _after_run(run)
    except Exception:  # a health computation bug must not turn a finished run into a crashed task
        log.exception("the steps after run %s ended failed", run.pk)


# The wording of a run's fatal error names the side at fault (sync/engine.py, run_execute): the target refused
# the credentials or stopped answering; reading the source failed with one of these error classes.
_TARGET_REFUSED = re.compile(r"^\S+ rejected the credentials: ")
_TARGET_DOWN = re.compile(r"^\d+ of the last \d+ writes failed after retries")
_SOURCE_FAILED = re.compile(r"^Reading \S+ failed: (\w+): ")
CONNECTION_ERROR_CLASSES = frozenset(
    {
        "AuthError",
        "ScopeError",
        "ForbiddenError",
        "TokenRefused",
        "ServerError",
        "TransportError",
        "RateLimitedError",
        "BudgetExhaustedError",
    }
)


def _connections_after_run(run: Run) -> None:
    """A run is a test of its connections: one that failed because an app refused the credentials or stopped
    answering marks that connection as in error now, not at the next periodic check; one that read (and wrote)
    fine clears an error. Needs re-auth and disabled are left to the credentials flow."""
    if run.status == RunStatus.CANCELLED:
        return
    sync = Sync.objects.select_related("source_connection", "target_connection").get(pk=run.sync_id)
    summary = run.error_summary or ""
    if run.status == RunStatus.FAILED:
        source = _SOURCE_FAILED.match(summary)
        if source and source.group(1) in CONNECTION_ERROR_CLASSES:
            _connection_error(sync.source_connection, summary)
        elif _TARGET_REFUSED.match(summary) or _TARGET_DOWN.match(summary) or _only_outages(run):
            _connection_error(sync.target_connection, summary)
        return
    if run.read_count:
        _connection_ok(sync.source_connection)
    if not run.dry_run and run.created_count + run.updated_count + run.deleted_count:
        _connection_ok(sync.target_connection)


def _only_outages(run: Run) -> bool:
    """Every record failed, and every failure was the target not answering (5xx, timeouts, 429s)."""
    if not run.failed_count or run.created_count + run.updated_count + run.deleted_count:
        return False
    _, outages = status.open_failures(run)
    return outages == run.failed_count


def _connection_error(connection: Connection, reason: str) -> None:
    if connection.status == ConnectionStatus.CONNECTED:
        # quiet: the run's sync already alerts through its health; one outage pages people once
        status.connection_status_set(
            connection=connection, status=ConnectionStatus.ERROR, reason=f"During a run: {reason}"[:1000], quiet=True
        )


def _connection_ok(connection: Connection) -> None:
    if connection.status == ConnectionStatus.ERROR:
        status.connection_status_set(connection=connection, status=ConnectionStatus.CONNECTED)


def runs_reap(*, older_than_seconds: float = REAP_AFTER_SECONDS) -> list[int]:
    """Running runs whose worker stopped beating go back to queued (from their checkpoint) and are re-enqueued.

    Idempotent with Celery's own redelivery (acks_late): whichever message arrives first claims the run, the
    other finds it running and returns.
    """
    stale = timezone.now() - timedelta(seconds=older_than_seconds)
    requeued: list[int] = []
    for run in Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale).only("pk", "checkpoint", "trigger"):
        reaps = int(run.checkpoint.get("reaps", 0)) + 1
        with transaction.atomic():
            if reaps > MAX_REAPS:
                done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=stale).update(
                    status=RunStatus.FAILED,
                    finished_at=timezone.now(),
                    error_summary=f"The worker vanished {MAX_REAPS} times; giving up.",
                )
                if done:
                    run.refresh_from_db()
                    transaction.on_commit(partial(_finished, run))
                continue
            moved = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=stale).update(
                status=RunStatus.QUEUED, worker="", checkpoint={**run.checkpoint, "reaps": reaps}
            )
            if moved:
                requeued.append(run.pk)
                _enqueue_on_commit(run.pk, run.trigger)
    if requeued:
        log.warning("reaped runs whose worker vanished: %s", requeued)
    _resend_lost_messages()
    return requeued


def _resend_lost_messages() -> None:
    """A run queued long ago whose message was lost (broker restart) would block its sync forever (one active
    run per sync): send its message again. Claiming is idempotent, so a duplicate message costs nothing."""
    old = timezone.now() - timedelta(seconds=QUEUED_RESEND_SECONDS)
    queued = Run.objects.filter(status=RunStatus.QUEUED, created_at__lt=old).only("pk", "checkpoint", "trigger")
    for run in queued[:100]:
        # a continuation was queued again when its slice ended (queued_at), not when the run was created
        last = max(float(run.checkpoint.get("resent_at", 0)), float(run.checkpoint.get("queued_at", 0)))
        now = timezone.now().timestamp()
        if now - last < QUEUED_RESEND_SECONDS:
            continue
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            checkpoint={**run.checkpoint, "resent_at": now}
        ):
            _enqueue_on_commit(run.pk, run.trigger)


# A note explaining why a failure is accepted is at most this long (RunItem.acknowledge_note).
ACKNOWLEDGE_NOTE_MAX = 500


def run_items_acknowledge(*, items: list[RunItem], user: Any, note: str = "") -> int:
    """A person accepts these failures: they stop counting against the sync's health and are not reported
    again until the record changes (the link remembers the acknowledged hash). Returns how many changed."""
    # from the database, not the caller's objects: a form posted twice must not acknowledge (and audit) twice
    failed = list(
        RunItem.objects.filter(
            pk__in=[i.pk for i in items], action=ItemAction.FAILED, acknowledged_at__isnull=True, run__dry_run=False
        )
    )
    if not failed:
        return 0
    now = timezone.now()
    with transaction.atomic():
        RunItem.objects.filter(pk__in=[i.pk for i in failed]).update(
            acknowledged_at=now, acknowledged_by=user, acknowledge_note=note[:ACKNOWLEDGE_NOTE_MAX]
        )
        for run_id, source_ids in _by_run(failed).items():
            sync_id = Run.objects.filter(pk=run_id).values_list("sync_id", flat=True).get()
            RecordLink.objects.filter(sync_id=sync_id, source_id__in=source_ids).exclude(failed_hash="").update(
                acknowledged_hash=F("failed_hash")
            )
        for item in failed:
            audit_record(
                actor=user,
                action="run_item.acknowledge",
                obj=item,
                changes={"run": item.run_id, "source_id": item.source_id, "note": note[:200]},
            )
    for sync_id in {Run.objects.filter(pk=i.run_id).values_list("sync_id", flat=True).get() for i in failed}:
        status.sync_health_recompute(sync=Sync.objects.get(pk=sync_id))
    return len(failed)


def _by_run(items: list[RunItem]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for item in items:
        out.setdefault(item.run_id, []).append(item.source_id)
    return out
