from __future__ import annotations

from django.conf import settings
from django.db import models

from .connections import Connection


class ObjectKind(models.TextChoices):
    CONTACT = "contact", "Contact"
    TASK = "task", "Task"
    NOTE = "note", "Note"
    TAG = "tag", "Tag"
    APPOINTMENT = "appointment", "Appointment"
    BUSINESS = "business", "Business"
    BUNDLE = "bundle", "Contact bundle"  # a GHL contact with its tasks, notes, appointments (read for a caller)


class SyncMode(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental"
    FULL = "full", "Full re-sync"
    BACKFILL = "backfill", "Backfill from a date"


class DeletePolicy(models.TextChoices):
    """What a record deleted in the source does to its target record."""

    IGNORE = "ignore", "Ignore (keep the target record)"
    MIRROR = "mirror", "Delete it in the target too"
    TAG = "tag", "Tag it in the target"


class SyncHealth(models.TextChoices):
    NEW = "new", "Not run yet"
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    FAILING = "failing", "Failing"
    PAUSED = "paused", "Paused"
    NEEDS_REAUTH = "needs_reauth", "Needs re-auth"
    STALE = "stale", "Stale"


class Sync(models.Model):
    """Moves one kind of record from a source connection to a target connection."""

    name = models.CharField(max_length=200)
    recipe = models.CharField(max_length=100, blank=True)
    source_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="syncs_out")
    source_object = models.CharField(max_length=32, choices=ObjectKind.choices)
    target_connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="syncs_in")
    target_object = models.CharField(max_length=32, choices=ObjectKind.choices)
    webhook_trigger = models.BooleanField(default=False)
    poll_interval_seconds = models.PositiveIntegerField(null=True, blank=True)  # null = no polling
    mode = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.INCREMENTAL)
    backfill_from = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)  # False = paused
    # None = never live: a new sync waits, paused, until someone looked at its preview and pressed "Go live".
    went_live_at = models.DateTimeField(null=True, blank=True)
    # Archived: paused and hidden from the overview and the sync list; its runs stay in the history.
    archived_at = models.DateTimeField(null=True, blank=True)
    delete_policy = models.CharField(max_length=16, choices=DeletePolicy.choices, default=DeletePolicy.IGNORE)
    delete_tag = models.CharField(max_length=100, blank=True)  # empty = "deleted-in-<app>"
    # A record deleted on the target's side is re-created by the next change only when this is on.
    recreate_deleted = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)  # recipe options (e.g. Hubstaff project id)
    # Where the next poll of the source starts ({"updated_since": ISO}): the newest change a finished run read
    # (sync/sources.py). Empty = read everything.
    source_cursor = models.JSONField(default=dict, blank=True)
    mapping_version = models.ForeignKey(
        "MappingVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    health = models.CharField(max_length=16, choices=SyncHealth.choices, default=SyncHealth.NEW)
    health_reason = models.CharField(max_length=500, blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.went_live_at is not None


class MappingVersion(models.Model):
    """An immutable set of field-mapping rules for a sync; saving creates a new version."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="mapping_versions")
    number = models.PositiveIntegerField()
    rules = models.JSONField(default=list)  # ordered list of rule dicts, see contacts_sync.mapping
    note = models.CharField(max_length=500, blank=True)
    restored_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sync", "-number"]
        constraints = [models.UniqueConstraint(fields=["sync", "number"], name="mapping_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.sync} v{self.number}"
