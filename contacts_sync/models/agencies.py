from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models

from .connections import Connection
from .syncs import Sync

# A connect request with no result after this long lost its worker (a crash, a purged queue): it shows as stalled
# and may be asked again. Minting and testing one sub-account takes seconds.
CONNECT_STALE_AFTER = timedelta(minutes=10)


class AgencyLocation(models.Model):
    """A sub-account (location) of a GHL agency as we last heard of it: from the agency's listing, or from the
    LocationCreate / INSTALL / UNINSTALL webhooks. Connecting it creates a Connection (`connection`)."""

    agency = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="directory")
    location_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=300, blank=True)
    address = models.CharField(max_length=500, blank=True)
    installed = models.BooleanField(null=True)  # our app installed there; None = unknown (agency private token)
    connection = models.OneToOneField(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="directory_entry"
    )
    # Set when someone (or an INSTALL webhook) asked to connect it and a worker has not finished yet.
    connect_requested_at = models.DateTimeField(null=True, blank=True)
    connect_error = models.TextField(blank=True)  # why the last connect attempt failed (HighLevel's words)
    source = models.CharField(max_length=40, blank=True)  # listing | LocationCreate | INSTALL | UNINSTALL
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency", "name", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "location_id"], name="agency_location_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.location_id} ({self.agency_id})"


class SyncTemplate(models.Model):
    """A recipe and a mapping applied to many GHL locations at once: one Sync per location (a member).

    Editing the rules writes a new mapping version on every member's sync (its per-location overrides kept).
    The other side of each sync is `counterpart` (e.g. the one Hubstaff organization or custom app).
    """

    name = models.CharField(max_length=200)
    recipe = models.CharField(max_length=100)
    counterpart = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rules = models.JSONField(default=list)  # the template's mapping, see contacts_sync.mapping
    options = models.JSONField(default=dict, blank=True)  # recipe options for every member
    webhook_trigger = models.BooleanField(default=False)
    poll_interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)  # +1 per saved change of rules or settings
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncTemplateMember(models.Model):
    """One location's sync made from a template, with what this location does differently."""

    template = models.ForeignKey(SyncTemplate, on_delete=models.CASCADE, related_name="members")
    sync = models.OneToOneField(Sync, on_delete=models.CASCADE, related_name="template_member")
    location = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    # {"rules": [rule, ...] (replace the template's rule with the same target, or add one),
    #  "omit": [target, ...] (template rules left out here)}
    overrides = models.JSONField(default=dict, blank=True)
    applied_revision = models.PositiveIntegerField(default=0)  # the template revision its sync last received
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "location__name"]
        constraints = [
            models.UniqueConstraint(fields=["template", "location"], name="one_template_sync_per_location"),
        ]

    def __str__(self) -> str:
        return f"{self.template} @ {self.location_id}"
