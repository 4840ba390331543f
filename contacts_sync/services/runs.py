"""Runs: enqueue (one active run per sync), execute (claim, heartbeat, engine, finish), cancel, retry, reap.

Every state change of a Run is a conditional UPDATE so that two workers, a reaper and a redelivered Celery
message can race without doing the work twice: whoever's UPDATE matches owns the run.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contacts_sync.logging import log_context
from contacts_sync.models import Connection, ItemAction, Provider, Run, RunStatus, RunTrigger, Sync, SyncMode
from contacts_sync.services.connectors import connector_for
from contacts_sync.sync.engine import CallRecorder, Engine, ParentLookup
from contacts_sync.sync.recipes import Recipe, Writer, recipe_for
from contacts_sync.sync.redaction import Redactor
from contacts_sync.sync.writers import AppWriter

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
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED)


def _enqueue_on_commit(run_id: int) -> None:
    def send() -> None:
        # by name: tasks sit above services in the import layers
        current_app.send_task(RUN_EXECUTE_TASK, args=[run_id])

    transaction.on_commit(send)


def run_enqueue(
    *,
    sync: Sync,
    trigger: str,
    user: Any = None,
    event: Any = None,
    dry_run: bool | None = None,
    mode: str | None = None,
    retry_of: Run | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> Run | None:
    """Create a queued run unless one is active (the partial unique index decides); enqueue it on commit.

    Returns None when a run of this sync is already queued or running.
    """
    try:
        with transaction.atomic():
            run = Run.objects.create(
                sync=sync,
                trigger=trigger,
                mode=mode or sync.mode,
                dry_run=sync.dry_run if dry_run is None else dry_run,
                # from the database, not the caller's object: a restore since it was loaded must count
                mapping_version_id=Sync.objects.filter(pk=sync.pk).values_list("mapping_version_id", flat=True)
                .first(),
                event=event,
                retry_of=retry_of,
                checkpoint=checkpoint or {},
            )
    except IntegrityError:
        return None  # one_active_run_per_sync: another run is queued or running
    _enqueue_on_commit(run.pk)
    if user is not None:
        from contacts_sync.services.audit import audit_record

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
        from contacts_sync.services.audit import audit_record

        audit_record(actor=user, action="run.cancel", obj=run)
    return run


def run_retry_failed(*, run: Run, user: Any = None) -> Run | None:
    """A new run (trigger=retry) over the source ids of this run's failed items only.

    Returns None when there is nothing to retry or a run of the sync is already active.
    """
    ids = sorted(set(run.items.filter(action=ItemAction.FAILED).values_list("source_id", flat=True)))
    if not ids:
        return None
    return run_enqueue(
        sync=run.sync,
        trigger=RunTrigger.RETRY,
        user=user,
        dry_run=False,
        retry_of=run,
        checkpoint={"only_ids": ids},
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
    """
    token = f"{worker or 'worker'}:{uuid.uuid4().hex[:8]}"
    if not _claim(run_id, token):
        log.info("run %s not claimable (already running elsewhere or finished)", run_id)
        return None
    run = Run.objects.select_related("sync", "sync__source_connection", "sync__target_connection",
                                     "mapping_version", "event").get(pk=run_id)
    if run.started_at is None:
        run.started_at = timezone.now()
        run.expected_total = _expected_total(run)
        Run.objects.filter(pk=run_id).update(started_at=run.started_at, expected_total=run.expected_total)
    with log_context(run_id=run.pk, sync_id=run.sync_id):
        try:
            engine = engine_for(run=run, worker_token=token)
        except Exception as exc:  # noqa: BLE001 - any set-up failure fails the run, with its reason
            log.warning("run set-up failed: %s", exc)
            _fail(run, token, f"Could not start: {type(exc).__name__}: {exc}")
            return run
        engine.execute()
        run.refresh_from_db()
        if run.status in FINISHED_STATUSES:
            _finished(run)
    return run


def _ghl_client(connection: Connection, recorder: Any) -> Any:
    from contacts_sync.services.connections import ghl_client_for

    client = ghl_client_for(connection, on_call=recorder)
    # connection.config["rate_limit_per_10s"]: 0 turns the shared budget off (emulator runs with limits off,
    # benchmarks); a number replaces GHL's 100 / 10 s (an account with a raised limit).
    # connection.config["http_timeout_s"]: the read timeout per attempt (default: the client's own).
    if connection.config.get("http_timeout_s"):
        client.timeout = (5.0, float(connection.config["http_timeout_s"]))
    limit = connection.config.get("rate_limit_per_10s")
    if limit is not None:
        from contacts_sync.apiclient.budget import NullBudget, RateBudget

        client.budget = NullBudget() if int(limit) <= 0 else RateBudget.for_account(
            settings.REDIS_URL, "ghl", connection.external_account_id, [(int(limit), 10.0), (200_000, 86_400.0)]
        )
    return client


def _connector(connection: Connection, recorder: Any) -> Any:
    if connection.provider == Provider.GHL:
        from contacts_sync.connectors.ghl import GHLConnector

        return GHLConnector(client=_ghl_client(connection, recorder))
    return connector_for(connection, on_call=recorder)


def recipe_of(sync: Sync) -> Recipe:
    """The sync's recipe, or a generic contact recipe built from its source and target."""
    recipe = recipe_for(sync.recipe)
    if recipe is not None:
        return recipe
    writer = {"task": Writer.TASK, "note": Writer.NOTE_TAGS}.get(sync.target_object, Writer.CONTACT)
    if sync.target_connection.provider != Provider.GHL:
        writer = Writer.APP_WRITE
    return Recipe(key=sync.recipe or "custom", title=sync.name, source_provider=sync.source_connection.provider,
                  source_object=sync.source_object, target_provider=sync.target_connection.provider,
                  target_object=sync.target_object, triggers=(), description="", writer=writer)


def rules_of(run: Run) -> list[dict[str, Any]]:
    version = run.mapping_version or run.sync.mapping_version
    if version is not None:
        return list(version.rules)
    from contacts_sync.mapping.defaults import default_rules

    sync = run.sync
    return default_rules(sync.source_connection.provider, sync.source_object, sync.target_connection.provider,
                         sync.target_object)


def engine_for(*, run: Run, worker_token: str) -> Engine:
    """Everything the engine needs, built from the rows: clients (recording their calls), writer, rules."""
    from contacts_sync.mapping import MappingContext, apply, content_hash

    sync = run.sync
    recipe = recipe_of(sync)
    recorder = CallRecorder()
    source = _connector(sync.source_connection, recorder)
    options = {**recipe.source_options, **(sync.options or {})}
    if run.mode == SyncMode.BACKFILL and sync.backfill_from:
        options["updated_since"] = sync.backfill_from.isoformat()
    if run.dry_run:
        writer: Any = None  # a dry run never writes: it needs no target client at all
    elif recipe.writer == Writer.APP_WRITE:
        writer = AppWriter(_connector(sync.target_connection, recorder), sync.target_object, options)
    else:
        writer = _connector(sync.target_connection, recorder).writer(recipe.writer)
    rules = rules_of(run)
    try:
        sensitive = [f.path for f in source.fields(sync.source_object) if getattr(f, "sensitive", False)]
    except Exception:  # noqa: BLE001 - field descriptions are a nicety; redaction of secrets still applies
        sensitive = []
    parents = None
    if recipe.parent_path or options.get("ghl_contact_id"):
        contact_syncs = Sync.objects.filter(
            source_connection_id=sync.source_connection_id, target_connection_id=sync.target_connection_id,
            target_object="contact",
        ).exclude(pk=sync.pk)
        parents = ParentLookup(sync_ids=list(contact_syncs.values_list("pk", flat=True)),
                               default_parent_id=options.get("ghl_contact_id"))
    config = {**sync.source_connection.config, **sync.target_connection.config}
    context = MappingContext(default_region=config.get("default_region", "US"),
                             timezone=config.get("timezone", "UTC"))
    return Engine(run=run, worker_token=worker_token, recipe=recipe, source=source, writer=writer, rules=rules,
                  apply=apply, content_hash=content_hash, context=context, recorder=recorder,
                  redactor=Redactor(sensitive_source_paths=sensitive, rules=rules), parents=parents,
                  source_options=options)


def _expected_total(run: Run) -> int | None:
    """For the progress bar: the ids to retry, or what the last full run of the sync read."""
    if run.checkpoint.get("only_ids"):
        return len(run.checkpoint["only_ids"])
    if run.event_id:
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


def _finished(run: Run) -> None:
    try:
        from contacts_sync.services import status
    except ImportError:  # the status service lands with the monitoring work
        return
    try:
        status.run_finished(run=run)
    except Exception:  # a health computation bug must not turn a finished run into a crashed task
        log.exception("status.run_finished failed for run %s", run.pk)


def runs_reap(*, older_than_seconds: float = REAP_AFTER_SECONDS) -> list[int]:
    """Running runs whose worker stopped beating go back to queued (from their checkpoint) and are re-enqueued.

    Idempotent with Celery's own redelivery (acks_late): whichever message arrives first claims the run, the
    other finds it running and returns.
    """
    stale = timezone.now() - timedelta(seconds=older_than_seconds)
    requeued: list[int] = []
    for run in Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale).only("pk", "checkpoint"):
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
                    transaction.on_commit(lambda r=run: _finished(r))
                continue
            moved = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=stale).update(
                status=RunStatus.QUEUED, worker="", checkpoint={**run.checkpoint, "reaps": reaps}
            )
            if moved:
                requeued.append(run.pk)
                _enqueue_on_commit(run.pk)
    if requeued:
        log.warning("reaped runs whose worker vanished: %s", requeued)
    _resend_lost_messages()
    return requeued


def _resend_lost_messages() -> None:
    """A run queued long ago whose message was lost (broker restart) would block its sync forever (one active
    run per sync): send its message again. Claiming is idempotent, so a duplicate message costs nothing."""
    old = timezone.now() - timedelta(seconds=QUEUED_RESEND_SECONDS)
    for run in Run.objects.filter(status=RunStatus.QUEUED, created_at__lt=old).only("pk", "checkpoint")[:100]:
        last = run.checkpoint.get("resent_at", 0)
        now = timezone.now().timestamp()
        if now - float(last) < QUEUED_RESEND_SECONDS:
            continue
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                checkpoint={**run.checkpoint, "resent_at": now}):
            _enqueue_on_commit(run.pk)
