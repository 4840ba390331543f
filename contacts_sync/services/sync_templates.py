"""Sync templates: one recipe and one mapping applied to many GHL locations (an agency's sub-accounts) at once.

Each location gets its own Sync (a member), so runs, health, rate budget and history stay per location. Saving the
template's rules writes a new mapping version on every member's sync (the versions stay restorable one by one);
a location's overrides (rules that replace or add a target, targets left out) are applied on top, so a template
edit never undoes them. Settings (triggers, polling, options) propagate the same way; pause and resume work per
location or for all.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping import validate_rules
from contacts_sync.mapping.diff import diff_rules
from contacts_sync.mapping.targets import target_fields
from contacts_sync.models import Connection, MappingVersion, Provider, Sync, SyncTemplate, SyncTemplateMember
from contacts_sync.services import status as status_service
from contacts_sync.services.audit import audit_record, audit_record_many
from contacts_sync.services.mappings import (
    NOTE_MAX,
    MappingRulesInvalid,
    mapping_rules_check,
    mapping_version_create,
)
from contacts_sync.services.syncs import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    recipe_rules,
    sync_create_from_recipe,
    sync_go_live,
    sync_update,
)
from contacts_sync.sync.recipes import RECIPES, Recipe

# A sync's name is "<template> · <location>"; Sync.name holds 200 characters.
NAME_MAX = 200


def _recipe(key: str) -> Recipe:
    spec = RECIPES.get(key)
    if spec is None:
        raise ConfigurationError(f"unknown recipe {key!r}")
    if Provider.GHL not in (spec.source_provider, spec.target_provider):
        raise ConfigurationError(f"the recipe {spec.title!r} does not touch HighLevel")
    return spec


def _counterpart_provider(spec: Recipe) -> str:
    return spec.target_provider if spec.source_provider == Provider.GHL else spec.source_provider


def _check_location(location: Connection) -> None:
    if location.provider != Provider.GHL or not location.external_account_id:
        raise ConfigurationError(f"{location.name} is not a HighLevel sub-account (location) connection")


def _sides(spec: Recipe, location: Connection, counterpart: Connection) -> tuple[Connection, Connection]:
    return (location, counterpart) if spec.source_provider == Provider.GHL else (counterpart, location)


def effective_rules(rules: list[dict[str, Any]], overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's rules for one location: rules whose target is in `omit` are left out; an override rule
    replaces every template rule with its target (in the first one's place); overrides for new targets follow."""
    own = [r for r in overrides.get("rules") or [] if isinstance(r, dict)]
    replaced = {r.get("target") for r in own}
    omit = set(overrides.get("omit") or [])
    out: list[dict[str, Any]] = []
    placed: set[Any] = set()
    for rule in rules:
        target = rule.get("target") if isinstance(rule, dict) else None
        if target in omit:
            continue
        if target in replaced:
            if target not in placed:
                out.extend(r for r in own if r.get("target") == target)
                placed.add(target)
            continue
        out.append(rule)
    out.extend(r for r in own if r.get("target") not in placed)
    return copy.deepcopy(out)


def _sync_name(template_name: str, location: Connection) -> str:
    return f"{template_name} · {location.name}"[:NAME_MAX]


def _note(template: SyncTemplate, note: str) -> str:
    return f"Template {template.name} r{template.revision}" + (f": {note}" if note else "")


@transaction.atomic
def sync_template_create(
    *,
    name: str,
    recipe: str,
    counterpart: Connection,
    locations: list[Connection],
    user: Any,
    agency: Connection | None = None,
    options: dict[str, Any] | None = None,
    webhook_trigger: bool | None = None,
    poll_interval_seconds: int | None = DEFAULT_POLL_INTERVAL_SECONDS,
) -> SyncTemplate:
    """A template from a recipe (its default mapping), applied at once to `locations`."""
    spec = _recipe(recipe)
    if counterpart.provider != _counterpart_provider(spec) or counterpart.is_agency:
        raise ConfigurationError(f"the other side of {spec.title!r} must be a {_counterpart_provider(spec)} connection")
    if not name.strip():
        raise ConfigurationError("name the template")
    template = SyncTemplate.objects.create(
        name=name.strip()[:NAME_MAX],
        recipe=spec.key,
        counterpart=counterpart,
        agency=agency,
        rules=recipe_rules(spec.key),
        options={**spec.source_options, **(options or {})},
        webhook_trigger="webhook" in spec.triggers if webhook_trigger is None else webhook_trigger,
        poll_interval_seconds=poll_interval_seconds if "poll" in spec.triggers else None,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    audit_record(
        actor=user,
        action="sync_template.create",
        obj=template,
        changes={"recipe": spec.key, "counterpart": counterpart.pk},
    )
    sync_template_apply(template=template, locations=locations, user=user)
    return template


@transaction.atomic
def sync_template_apply(*, template: SyncTemplate, locations: list[Connection], user: Any) -> list[SyncTemplateMember]:
    """A sync from the template for each location that has none yet; returns the new members."""
    spec = _recipe(template.recipe)
    template = SyncTemplate.objects.select_for_update().get(pk=template.pk)
    have = set(template.members.values_list("location_id", flat=True))
    added = []
    for location in locations:
        _check_location(location)
        if location.pk in have:
            continue
        source, target = _sides(spec, location, template.counterpart)
        sync = sync_create_from_recipe(
            recipe=spec.key,
            name=_sync_name(template.name, location),
            source_connection=source,
            target_connection=target,
            options=template.options,
            user=user,
            poll_interval_seconds=template.poll_interval_seconds,
            webhook_trigger=template.webhook_trigger,
            rules=template.rules,
            note=_note(template, ""),
        )
        added.append(
            SyncTemplateMember.objects.create(
                template=template, sync=sync, location=location, applied_revision=template.revision
            )
        )
        have.add(location.pk)
    if added:
        audit_record(
            actor=user,
            action="sync_template.apply",
            obj=template,
            changes={"locations": [m.location_id for m in added]},
        )
    return added


def _reference_problems(template: SyncTemplate, rules: list[dict[str, Any]]) -> list[Any]:
    """The rules checked against the first member's target (its custom fields), else the standard fields."""
    member = template.members.select_related("sync__source_connection", "sync__target_connection").first()
    if member is not None:
        return mapping_rules_check(sync=member.sync, rules=rules)
    spec = _recipe(template.recipe)
    return validate_rules(rules, target_fields=target_fields(spec.target_object, [], provider=spec.target_provider))


def sync_template_rules_set(*, template: SyncTemplate, rules: list[dict[str, Any]], note: str, user: Any) -> int:
    """Save the template's mapping and write it (with each location's overrides) as a new mapping version of
    every member's sync. Raises MappingRulesInvalid (nothing saved). Returns how many syncs got a new version
    (a location whose overrides already cover the change gets none)."""
    problems = _reference_problems(template, rules)
    if problems:
        raise MappingRulesInvalid(problems)
    with transaction.atomic():
        locked = SyncTemplate.objects.select_for_update().get(pk=template.pk)
        if locked.rules == rules:
            return 0
        changes = [str(c) for c in diff_rules(locked.rules, rules)]
        locked.rules, locked.revision = rules, locked.revision + 1
        locked.save(update_fields=["rules", "revision", "updated_at"])
        audit_record(
            actor=user,
            action="sync_template.rules",
            obj=locked,
            changes={"revision": locked.revision, "note": note[:500], "diff": changes[:50]},
        )
        written = _propagate_rules(locked, note, user)
    template.refresh_from_db()
    return written


def _propagate_rules(template: SyncTemplate, note: str, user: Any) -> int:
    """A new mapping version on every member's sync whose rules change, in a handful of statements whatever the
    number of locations (the same rows mapping_version_create writes one by one: version, current version,
    audit entry). The caller holds the template's row lock and the transaction."""
    author = user if getattr(user, "is_authenticated", False) else None
    changed = []
    for member in template.members.select_related("sync__mapping_version").order_by("pk"):
        rules = effective_rules(template.rules, member.overrides)
        current = member.sync.mapping_version
        if current is None or current.rules != rules:
            changed.append((member.sync, current, rules))
    if changed:
        ids = [sync.pk for sync, _current, _rules in changed]
        list(Sync.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))  # numbering
        tops = dict(MappingVersion.objects.filter(sync_id__in=ids).values_list("sync_id").annotate(top=Max("number")))
        text = _note(template, note)[:NOTE_MAX]
        versions = MappingVersion.objects.bulk_create(
            [
                MappingVersion(sync=sync, number=tops.get(sync.pk, 0) + 1, rules=rules, note=text, author=author)
                for sync, _current, rules in changed
            ]
        )
        now = timezone.now()
        Sync.objects.bulk_update(
            [Sync(pk=v.sync_id, mapping_version_id=v.pk, updated_at=now) for v in versions],
            ["mapping_version", "updated_at"],
            batch_size=500,
        )
        audit_record_many(
            actor=user,
            action="mapping.save",
            items=[
                (
                    version,
                    {
                        "version": version.number,
                        "note": text,
                        "rows": len(rules),
                        "restored_from": None,
                        "diff": [str(c) for c in diff_rules(current.rules if current else [], rules)][:50],
                    },
                )
                for version, (_sync, current, rules) in zip(versions, changed, strict=True)
            ],
        )
    template.members.update(applied_revision=template.revision)
    return len(changed)


def overrides_from(template_rules: list[dict[str, Any]], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """What a location's full mapping `rules` does differently from the template: the rules of every target whose
    rules differ (or that the template lacks), and the template's targets it leaves out."""

    def by_target(items: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
        out: dict[Any, list[dict[str, Any]]] = {}
        for rule in items:
            out.setdefault(rule.get("target") if isinstance(rule, dict) else None, []).append(rule)
        return out

    theirs, ours = by_target(template_rules), by_target(rules)
    own = [rule for target, group in ours.items() if group != theirs.get(target) for rule in group]
    omit = [str(t) for t in theirs if t not in ours and t]
    return {"rules": own, "omit": omit}


def sync_template_location_rules_set(*, member: SyncTemplateMember, rules: list[dict[str, Any]], user: Any) -> Sync:
    """Save one location's whole mapping; only its difference from the template is kept as its overrides."""
    overrides = overrides_from(member.template.rules, rules)
    return sync_template_overrides_set(member=member, rules=overrides["rules"], omit=overrides["omit"], user=user)


def sync_template_overrides_set(
    *, member: SyncTemplateMember, rules: list[dict[str, Any]], omit: list[str], user: Any
) -> Sync:
    """What this location does differently: `rules` replace or add targets, `omit` leaves template targets out.
    Checked as the location's whole mapping (its custom fields); raises MappingRulesInvalid (nothing saved)."""
    overrides = {"rules": rules, "omit": sorted({str(t) for t in omit if str(t).strip()})}
    template = member.template
    effective = effective_rules(template.rules, overrides)
    problems = mapping_rules_check(sync=member.sync, rules=effective)
    if problems:
        raise MappingRulesInvalid(problems)
    with transaction.atomic():
        SyncTemplateMember.objects.filter(pk=member.pk).update(overrides=overrides, applied_revision=template.revision)
        mapping_version_create(
            sync=member.sync,
            rules=effective,
            user=user,
            validate=False,
            note=f"Overrides of {member.location.name} on template {template.name}",
        )
        audit_record(
            actor=user,
            action="sync_template.overrides",
            obj=template,
            changes={"location": member.location_id, "rules": len(rules), "omit": overrides["omit"]},
        )
    member.refresh_from_db()
    return member.sync


@transaction.atomic
def sync_template_settings_set(
    *,
    template: SyncTemplate,
    user: Any,
    webhook_trigger: bool,
    poll_interval_seconds: int | None,
    options: dict[str, Any],
) -> SyncTemplate:
    """Triggers, polling interval and recipe options of the template and of every member's sync."""
    spec = _recipe(template.recipe)
    locked = SyncTemplate.objects.select_for_update().get(pk=template.pk)
    fields = {
        "webhook_trigger": bool(webhook_trigger) and "webhook" in spec.triggers,
        "poll_interval_seconds": poll_interval_seconds if "poll" in spec.triggers else None,
        "options": dict(options),
    }
    if all(getattr(locked, k) == v for k, v in fields.items()):
        return locked
    for key, value in fields.items():
        setattr(locked, key, value)
    locked.revision += 1
    locked.save(update_fields=[*fields, "revision", "updated_at"])
    audit_record(
        actor=user, action="sync_template.settings", obj=locked, changes={k: str(v) for k, v in fields.items()}
    )
    for member in locked.members.select_related("sync"):
        sync_update(sync=member.sync, user=user, **fields)
        SyncTemplateMember.objects.filter(pk=member.pk).update(applied_revision=locked.revision)
    return locked


def sync_template_paused_set(
    *, template: SyncTemplate, paused: bool, user: Any, member: SyncTemplateMember | None = None
) -> int:
    """Pause or resume one location's sync, or every member's; returns how many changed.

    A location's sync starts paused and not live like any new sync; resuming one that never went live is its
    go-live (its first real run starts at once), so "Resume all" is how a whole fleet goes live."""
    members = [member] if member is not None else list(template.members.select_related("sync"))
    changed = 0
    for m in members:
        if m.template_id != template.pk:
            raise ConfigurationError("that location is not part of this template")
        if m.sync.enabled != paused:  # already paused, or already running
            continue
        if not paused and m.sync.went_live_at is None:
            sync_go_live(sync=m.sync, user=user)
        else:
            status_service.sync_paused_set(sync=m.sync, paused=paused, user=user)
        changed += 1
    return changed
