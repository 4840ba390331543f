"""Syncs: create one from a recipe (with its first mapping version), update its settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.models import Connection, MappingVersion, Sync
from contacts_sync.services.audit import audit_record
from contacts_sync.sync.recipes import RECIPES, default_rules

# Fields of a Sync that sync_update may change (the rest are fixed by the recipe or owned by other services).
UPDATABLE_FIELDS = frozenset({
    "name", "webhook_trigger", "poll_interval_seconds", "mode", "backfill_from", "dry_run", "options",
    "next_run_at",
})
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
    rules: list[dict[str, Any]] | None = None,
    note: str = "",
) -> Sync:
    """A sync built from a recipe, with its first MappingVersion from mapping.defaults (or `rules`, e.g. a sync
    template's)."""
    spec = RECIPES.get(recipe)
    if spec is None:
        raise ConfigurationError(f"unknown recipe {recipe!r}")
    for role, conn, provider in (("source", source_connection, spec.source_provider),
                                 ("target", target_connection, spec.target_provider)):
        if conn.provider != provider:
            raise ConfigurationError(
                f"the {role} of {spec.title!r} must be a {provider} connection, not {conn.provider}"
            )
    sync = Sync.objects.create(
        name=name,
        recipe=spec.key,
        source_connection=source_connection,
        source_object=spec.source_object,
        target_connection=target_connection,
        target_object=spec.target_object,
        webhook_trigger="webhook" in spec.triggers if webhook_trigger is None else webhook_trigger,
        poll_interval_seconds=poll_interval_seconds if "poll" in spec.triggers else None,
        options={**spec.source_options, **(options or {})},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if rules is not None:
        return _first_version(sync, list(rules), note or f"Mapping of {name}", user, spec.key)
    return _first_version(sync, recipe_rules(spec.key), f"Default mapping of the recipe {spec.title}", user,
                          spec.key)


def recipe_rules(recipe: str) -> list[dict[str, Any]]:
    """The default mapping of a recipe (its app's MAPPINGS; a contact recipe that also leaves a note gets the
    note's body rule as its "note" target)."""
    spec = RECIPES.get(recipe)
    if spec is None:
        raise ConfigurationError(f"unknown recipe {recipe!r}")
    rules = default_rules(spec.source_provider, spec.source_object, spec.target_provider, spec.target_object)
    if spec.note_from:
        for rule in default_rules(spec.source_provider, spec.note_from, spec.target_provider, "note"):
            if rule.get("target") == "body":
                rules.append({**rule, "target": "note", "required": False})
    return rules


def _first_version(sync: Sync, rules: list[dict[str, Any]], note: str, user: Any, recipe: str) -> Sync:
    version = MappingVersion.objects.create(
        sync=sync, number=1, rules=rules, note=note[:500],
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
        audit_record(actor=user, action="sync.update", obj=sync,
                     changes={k: str(v) for k, v in changes.items()})
    return sync
