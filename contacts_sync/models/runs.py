from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .syncs import MappingVersion, Sync


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Run now"
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    RETRY = "retry", "Retry failed items"
    RECONCILE = "reconcile", "Reconcile poll"
    PREVIEW = "preview", "Preview"  # a dry run someone asked for (a new sync's first look, or "Preview a run")


# The engine beats every 5 s while it works; six missed beats is no slow API call any more: the page says
# "stalled" long before the reaper (REAP_AFTER_SECONDS) takes the run back.
STALLED_AFTER_SECONDS = 30


class Run(models.Model):
    """One execution of a sync."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    mode = models.CharField(max_length=16, default="incremental")
    dry_run = models.BooleanField(default=False)
    mapping_version = models.ForeignKey(
        MappingVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the reaper requeues runs whose worker vanished
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    expected_total = models.PositiveIntegerField(null=True, blank=True)  # for the progress bar, when known
    read_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)  # deletes mirrored to the target
    would_create_count = models.PositiveIntegerField(default=0)  # dry runs: what a real run would do
    would_update_count = models.PositiveIntegerField(default=0)
    # Verified delivery: written records read back from the target after the run and compared.
    verify_sampled = models.PositiveIntegerField(default=0)
    verified_count = models.PositiveIntegerField(default=0)
    verify_failed_count = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    http_429s = models.PositiveIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)  # the source cursor after the last whole page
    suspicious = models.BooleanField(default=False)  # read nothing where the last run read many
    error_summary = models.TextField(blank=True)
    event = models.ForeignKey("InboundEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active run per sync, whatever races the claim loses.
            models.UniqueConstraint(
                fields=["sync"], condition=Q(status__in=["queued", "running"]), name="one_active_run_per_sync"
            )
        ]
        indexes = [
            models.Index(fields=["sync", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
            # the run history's ORDER BY created_at DESC, id DESC (deep pages without a sort)
            models.Index(fields=["-created_at", "-id"], name="run_history_order"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.sync_id} ({self.status})"

    @property
    def stalled_seconds(self) -> int | None:
        """Seconds since the last heartbeat of a running run that stopped beating; None while it beats."""
        if self.status != RunStatus.RUNNING:
            return None
        last = self.heartbeat_at or self.started_at or self.created_at
        if last is None:
            return None
        quiet = int((timezone.now() - last).total_seconds())
        return quiet if quiet >= STALLED_AFTER_SECONDS else None

    @property
    def done_count(self) -> int:
        return (
            self.created_count
            + self.updated_count
            + self.unchanged_count
            + self.skipped_count
            + self.failed_count
            + self.deleted_count
        )


class ItemAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    WOULD_CREATE = "would_create", "Would create"
    WOULD_UPDATE = "would_update", "Would update"
    DELETED = "deleted", "Deleted"  # a delete mirrored to the target (the sync's delete policy)
    VERIFY_FAILED = "verify_failed", "Verification failed"  # read back after the run: the target differs


class RunItem(models.Model):
    """The outcome for one record in one run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    source_id = models.CharField(max_length=200)
    target_id = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=16, choices=ItemAction.choices)
    error_class = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField(default=dict, blank=True)  # redacted: secrets and sensitive fields removed
    created_at = models.DateTimeField(auto_now_add=True)
    # A failure someone looked at and accepted (who, when, why): it no longer counts against the sync's health.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledge_note = models.CharField(max_length=500, blank=True)
    # A failure a later retry fixed: the retry's run.
    resolved_by = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Not columns: the record's page in the source / target app, set by selectors.runs.item_links.
    source_url: str
    target_url: str

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "action"]),
            models.Index(fields=["run", "source_id"]),
            # the run detail's error-class filter and aggregate (index-only)
            models.Index(fields=["run", "action", "error_class"], name="runitem_run_action_error"),
        ]


class RecordLink(models.Model):
    """(sync, source id) -> target id + content hash: idempotent writes, unchanged records cost nothing."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="links")
    source_id = models.CharField(max_length=200)
    target_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    last_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The hash of a payload the target rejected for good (400/422...), and why: the same payload is not sent
    # again until it changes or someone retries failed items. target_id is "" while nothing was ever written.
    failed_hash = models.CharField(max_length=64, blank=True, default="")
    failed_error = models.TextField(blank=True, default="")
    # A failure accepted by a person: this hash is not sent again and not reported until the record changes.
    acknowledged_hash = models.CharField(max_length=64, blank=True, default="")
    # Write-ahead intent: set (and committed) before a create is sent, cleared when its outcome is stored. A
    # link still pending after a crash is the only record whose create may have reached the target unrecorded;
    # the next run looks for it there before creating (see docs/architecture.md, "Why nothing is written twice").
    pending_since = models.DateTimeField(null=True, blank=True)
    # What identifies the target record beside the source id (a contact's email or phone): two source records
    # with the same identity would share one target record, so the second is refused, never merged.
    identity = models.CharField(max_length=200, blank=True, default="")
    # The target record was deleted on the target's side (found on an update); not re-created unless the sync says.
    target_gone_at = models.DateTimeField(null=True, blank=True)
    # The tags this sync wrote to the target contact (a contact writer that removes tags): a tag the source drops
    # is removed in the target only if it is here, so tags someone else added are never removed.
    tags_written = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sync", "source_id"], name="record_link_unique")]
        indexes = [models.Index(fields=["sync", "identity"], name="record_link_identity", condition=~Q(identity=""))]


class ApiCall(models.Model):
    """One outbound API call made by a run (after retries): what the run detail lists and aggregates."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="calls")
    provider = models.CharField(max_length=32)
    method = models.CharField(max_length=8)
    path_template = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # null = transport error
    duration_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "provider", "method", "path_template"]),
            # the run detail's call aggregate groups in index order, index-only (no 20k-row text sort)
            models.Index(
                fields=["run", "provider", "method", "path_template", "status"],
                include=["duration_ms", "attempts"],
                name="apicall_run_group",
            ),
        ]


class SyncEvent(models.Model):
    """A routed webhook event that concerns one sync, waiting for a run of that sync to take it.

    Events coalesce (services/event_runs.py): the next run of the sync claims every waiting row (run set), reads
    their records (GHL sources) or reads the source once for all of them (other apps), and marks them done after
    the page that carried them was committed. A crash between the two re-reads them: writes are idempotent.
    """

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("InboundEvent", on_delete=models.CASCADE, related_name="sync_events")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_events")
    done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sync", "event"], name="sync_event_once")]
        indexes = [
            # what a run claims: the sync's rows not done yet, oldest first
            models.Index(fields=["sync", "id"], condition=Q(done=False), name="sync_event_waiting"),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} for sync {self.sync_id} (run {self.run_id or '-'})"
