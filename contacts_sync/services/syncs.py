"""Syncs: create one from a recipe (with its first mapping version), update its settings, go live, archive,
clone and delete.

A new sync starts paused and not live: the dashboard previews what its first run would do (a dry run of a
sample, services.runs.run_preview), and only "Go live" lets it write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts_sync.connectors.spec import Writer
from contacts_sync.exceptions import ConfigurationError, ContactsSyncError
from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    ApiCall,
    Connection,
    MappingVersion,
    RecordLink,
    Run,
    RunItem,
    RunTrigger,
    Sync,
)
from contacts_sync.services import status
from contacts_sync.services.audit import audit_record
from contacts_sync.services.runs import run_enqueue
from contacts_sync.sync.recipes import RECIPES, recipe_default_rules

# Fields of a Sync that sync_update may change (the rest are fixed by the recipe or owned by other services).
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "webhook_trigger",
        "poll_interval_seconds",
        "mode",
        "backfill_from",
        "options",
        "next_run_at",
    }
)
# A polling sync created from a recipe runs this often unless told otherwise (the Hubstaff budget is 1000/h).
DEFAULT_POLL_INTERVAL_SECONDS = 900


@transaction.atomic
def sync_create_from_recipe(
    *,
    recipe: str,
    name: str,
    source_connection: Connection,
    target_connection: Connection,
    options: dict[str, Any] | None = None,
    user: Any = None,
    poll_interval_seconds: int | None = DEFAULT_POLL_INTERVAL_SECONDS,
    webhook_trigger: bool | None = None,
    live: bool = False,
    rules: list[dict[str, Any]] | None = None,
    note: str = "",
) -> Sync:
    """A sync built from a recipe, with its first MappingVersion from mapping.defaults (or `rules`, e.g. a sync
    template's).

    It starts paused and not live (nothing runs on a schedule or a webhook until sync_go_live); `live=True` is
    for the demo, benchmarks and tests that drive runs themselves."""
    spec = RECIPES.get(recipe)
    if spec is None:
        raise ConfigurationError(f"unknown recipe {recipe!r}")
    _check_providers(spec, source_connection, target_connection)
    sync = Sync.objects.create(
        enabled=live,
        went_live_at=timezone.now() if live else None,
        name=name,
        recipe=spec.key,
        source_connection=source_connection,
        source_object=spec.source_object,
        target_connection=target_connection,
        target_object=spec.target_object,
        # An outbox flow (GHL changes -> your app) is fed by every GHL event of its location (services/outbox.py),
        # never by engine runs: no webhook-triggered or reconcile runs for it.
        webhook_trigger=("webhook" in spec.triggers and spec.writer != Writer.OUTBOX)
        if webhook_trigger is None
        else webhook_trigger,
        poll_interval_seconds=poll_interval_seconds if "poll" in spec.triggers else None,
        options={**spec.source_options, **(options or {})},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if rules is not None:
        return _first_version(sync, list(rules), note or f"Mapping of {name}", user, spec.key)
    return _first_version(sync, recipe_rules(spec.key), f"Default mapping of the recipe {spec.title}", user, spec.key)


def recipe_rules(recipe: str) -> list[dict[str, Any]]:
    """The default mapping of a recipe (registry.recipe_default_rules)."""
    spec = RECIPES.get(recipe)
    if spec is None:
        raise ConfigurationError(f"unknown recipe {recipe!r}")
    return recipe_default_rules(spec)


def _first_version(sync: Sync, rules: list[dict[str, Any]], note: str, user: Any, recipe: str) -> Sync:
    version = MappingVersion.objects.create(
        sync=sync,
        number=1,
        rules=rules,
        note=note[:500],
        author=user if getattr(user, "is_authenticated", False) else None,
    )
    sync.mapping_version = version
    sync.save(update_fields=["mapping_version", "updated_at"])
    audit_record(actor=user, action="sync.create", obj=sync, changes={"recipe": recipe})
    return sync


@transaction.atomic
def sync_update(*, sync: Sync, user: Any = None, **fields: Any) -> Sync:
    """Change a sync's settings (name, triggers, mode, dry run, options); pause/resume is status.sync_paused_set."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ConfigurationError(f"these sync fields cannot be changed here: {', '.join(sorted(unknown))}")
    changes = {}
    for key, value in fields.items():
        if getattr(sync, key) != value:
            changes[key] = value
            setattr(sync, key, value)
    if changes:
        sync.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=user, action="sync.update", obj=sync, changes={k: str(v) for k, v in changes.items()})
    return sync


def _check_providers(spec: Any, source: Connection, target: Connection) -> None:
    for role, conn, provider in (("source", source, spec.source_provider), ("target", target, spec.target_provider)):
        if conn.provider != provider:
            raise ConfigurationError(
                f"the {role} of {spec.title!r} must be a {provider} connection, not {conn.provider}"
            )


class SyncActionError(ContactsSyncError):
    """A lifecycle action that cannot be done now; the message says why, in words for the page."""


def sync_go_live(*, sync: Sync, user: Any = None) -> Run | None:
    """The sync may write from now on: resume it, mark it live, and start its first real run at once.

    Returns that run, or None when a run is still active (the preview): a polling sync is then due at once and
    the dispatcher starts it on its next tick."""
    if sync.archived_at is not None:
        raise SyncActionError("An archived sync cannot go live; restore it first.")
    now = timezone.now()
    with transaction.atomic():
        status.sync_paused_set(sync=sync, paused=False, user=user)
        Sync.objects.filter(pk=sync.pk, went_live_at__isnull=True).update(went_live_at=now)
        run = run_enqueue(sync=sync, trigger=RunTrigger.MANUAL, user=user)
        interval = sync.poll_interval_seconds
        next_run = now + timedelta(seconds=interval) if run is not None and interval else None
        Sync.objects.filter(pk=sync.pk).update(next_run_at=next_run)
        audit_record(actor=user, action="sync.go_live", obj=sync, changes={"first_run": run.pk if run else None})
    sync.refresh_from_db()
    return run


@transaction.atomic
def sync_archive(*, sync: Sync, user: Any = None, archived: bool = True) -> Sync:
    """Archive: pause the sync and hide it from the overview and the list (its runs stay in the history).
    Restoring (`archived=False`) shows it again, still paused: resuming is a separate decision."""
    if archived:
        status.sync_paused_set(sync=sync, paused=True, user=user)
    Sync.objects.filter(pk=sync.pk).update(archived_at=timezone.now() if archived else None)
    sync.refresh_from_db()
    audit_record(actor=user, action="sync.archive" if archived else "sync.unarchive", obj=sync)
    return sync


# The fields a clone copies; identity (links), history (runs) and health are the new sync's own.
CLONED_FIELDS = (
    "recipe",
    "source_object",
    "target_object",
    "webhook_trigger",
    "poll_interval_seconds",
    "mode",
    "backfill_from",
    "delete_policy",
    "delete_tag",
    "recreate_deleted",
    "options",
)


@transaction.atomic
def sync_clone(
    *, sync: Sync, name: str, source_connection: Connection, target_connection: Connection, user: Any = None
) -> Sync:
    """A new sync with the same settings and the current mapping (as its version 1), between the same or other
    connections of the same apps. Like any new sync it starts paused and not live; no links are copied, so its
    first run finds existing target records the way any first run does (GHL upsert by email/phone)."""
    for role, old, new in (
        ("source", sync.source_connection, source_connection),
        ("target", sync.target_connection, target_connection),
    ):
        if old.provider != new.provider:
            raise ConfigurationError(f"the {role} of a clone must be a {old.get_provider_display()} connection")
    user_or_none = user if getattr(user, "is_authenticated", False) else None
    clone = Sync.objects.create(
        name=name,
        source_connection=source_connection,
        target_connection=target_connection,
        enabled=False,
        created_by=user_or_none,
        **{f: getattr(sync, f) for f in CLONED_FIELDS},
    )
    current = sync.mapping_version
    version = MappingVersion.objects.create(
        sync=clone,
        number=1,
        rules=current.rules if current else [],
        author=user_or_none,
        note=f"Cloned from {sync.name}" + (f" (mapping v{current.number})" if current else ""),
    )
    clone.mapping_version = version
    clone.save(update_fields=["mapping_version", "updated_at"])
    audit_record(actor=user, action="sync.clone", obj=clone, changes={"from": sync.pk})
    return clone


def sync_delete_impact(*, sync: Sync) -> dict[str, int]:
    """What deleting the sync removes with it (the confirmation page lists it; the audit entry keeps it)."""
    return {
        "runs": Run.objects.filter(sync=sync).count(),
        "items": RunItem.objects.filter(run__sync=sync).count(),
        "api_calls": ApiCall.objects.filter(run__sync=sync).count(),
        "links": RecordLink.objects.filter(sync=sync).count(),
        "mapping_versions": MappingVersion.objects.filter(sync=sync).count(),
    }


def sync_delete(*, sync: Sync, confirm: str, user: Any = None) -> dict[str, int]:
    """Delete the sync with its runs, items, API calls, links and mapping versions. `confirm` must be the sync's
    name, typed; a sync with a queued or running run is refused (cancel it first). Returns what was removed.

    Records already written to the target stay there."""
    if confirm.strip() != sync.name.strip():
        raise SyncActionError("Type the sync's name exactly to confirm; nothing was deleted.")
    with transaction.atomic():
        locked = Sync.objects.select_for_update().get(pk=sync.pk)
        if Run.objects.filter(sync=locked, status__in=ACTIVE_RUN_STATUSES).exists():
            raise SyncActionError("A run of this sync is queued or running; cancel it (or let it finish) first.")
        impact = sync_delete_impact(sync=locked)
        audit_record(
            actor=user,
            action="sync.delete",
            object_type="sync",
            object_id=str(locked.pk),
            object_repr=locked.name,
            changes=impact,
        )
        locked.delete()
    return impact
