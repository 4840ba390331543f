"""Mapping versions: save (immutable, becomes current, audited), restore, preview on real samples, diff.

The dashboard calls only these functions; they reach the source connector (samples, field lists) and the GHL
client (custom fields) on its behalf and turn every outside failure into a message for the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping import Problem, apply, validate_rules
from contacts_sync.mapping.diff import (
    FieldChange,
    describe_source,
    describe_transforms,
    diff_rules,
    same_rules,
)
from contacts_sync.mapping.targets import FieldSpec, target_fields
from contacts_sync.mapping.transforms import REGISTRY
from contacts_sync.models import MappingVersion, Provider, Sync
from contacts_sync.services.audit import audit_record
from contacts_sync.services.credentials import connector_for
from contacts_sync.sync.plan import SyncPlan, rules_of

log = logging.getLogger(__name__)

PREVIEW_LIMIT = 5  # the "5 sample records": enough to see variety, cheap on the source's rate budget
# Samples and custom-field lists are cached briefly: the preview refreshes on every form change and must not
# spend the source app's rate budget each time.
PREVIEW_SAMPLE_TTL = 60
CUSTOM_FIELDS_TTL = 300
CUSTOM_FIELDS_FAILED_TTL = 30  # a failed fetch is retried after this long, not on every editor request
NOTE_MAX = 500  # MappingVersion.note max_length


class MappingRulesInvalid(ConfigurationError):
    """The rules have problems (row + field + reason each); nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


# ---------------------------------------------------------------- fields for the editor


def _plan(sync: Sync, rules: list[dict[str, Any]] | None = None) -> SyncPlan:
    """What the engine would use for this sync (source connector, options, mapping context), without a run."""
    return SyncPlan.for_sync(sync, connect=connector_for, rules=rules)


def source_fields_for(sync: Sync) -> list[Any]:
    """The source connector's field list for the sync's object; [] when the connector is not available
    (the editor then takes free-text paths)."""
    try:
        plan = _plan(sync)
        return list(plan.source.fields(sync.source_object, options=plan.options))
    except Exception as exc:  # noqa: BLE001 - a missing/broken connector must not break the editor
        log.info("no source fields for sync %s: %s", sync.pk, type(exc).__name__)
        return []


def _custom_fields(sync: Sync) -> list[dict[str, Any]]:
    connection = sync.target_connection
    if sync.target_object != "contact":
        return []
    key = f"mapping:custom-fields:{connection.pk}:{connection.created_at.timestamp()}"
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    try:
        read = getattr(connector_for(connection), "custom_fields", None)
        answer = read("contact") if read is not None else []
    except Exception as exc:  # noqa: BLE001 - without the list any customField.<id> is accepted
        log.info("custom fields of connection %s unavailable: %s", connection.pk, type(exc).__name__)
        cache.set(key, [], CUSTOM_FIELDS_FAILED_TTL)  # do not retry on every keystroke of the editor
        return []
    fields = answer.get("customFields", []) if isinstance(answer, dict) else list(answer or [])
    fields = [f for f in fields if isinstance(f, dict)]
    cache.set(key, fields, CUSTOM_FIELDS_TTL)
    return fields


def target_fields_for(sync: Sync) -> list[FieldSpec]:
    """GHL standard fields of the target object plus the location's custom fields (fetched, cached)."""
    provider = sync.target_connection.provider
    ours = target_fields(sync.target_object, _custom_fields(sync), provider=provider)
    if provider == Provider.GHL:
        return ours
    try:  # an app we write to describes its own fields; ours add which are required
        theirs = connector_for(sync.target_connection).target_fields(sync.target_object)
    except Exception:  # noqa: BLE001 - fall back to the built-in list
        return ours
    required = {f.path for f in ours if f.required}
    return [FieldSpec(f.path, f.label, getattr(f, "type", "string"), required=f.path in required) for f in theirs]


def mapping_rules_current(*, sync: Sync) -> list[dict[str, Any]]:
    """The rules the editor starts from: the current version's, else the recipe's default mapping."""
    return rules_of(sync)


def mapping_rules_check(*, sync: Sync, rules: list[dict[str, Any]]) -> list[Problem]:
    return validate_rules(rules, target_fields=target_fields_for(sync))


# ---------------------------------------------------------------- versions


def _next_number(sync: Sync) -> int:
    top = MappingVersion.objects.filter(sync=sync).aggregate(top=Max("number"))["top"]
    return (top or 0) + 1


def _create(
    *,
    sync: Sync,
    rules: list[dict[str, Any]],
    note: str,
    user: Any,
    restored_from: MappingVersion | None = None,
) -> MappingVersion:
    with transaction.atomic():
        locked = Sync.objects.select_for_update().get(pk=sync.pk)  # serialises version numbers per sync
        previous = locked.mapping_version
        version = MappingVersion.objects.create(
            sync=locked,
            number=_next_number(locked),
            rules=rules,
            note=note[:NOTE_MAX],
            restored_from=restored_from,
            author=user if getattr(user, "is_authenticated", False) else None,
        )
        locked.mapping_version = version
        locked.save(update_fields=["mapping_version", "updated_at"])
        changes = [str(c) for c in diff_rules(previous.rules if previous else [], rules)]
        audit_record(
            actor=user,
            action="mapping.restore" if restored_from else "mapping.save",
            obj=version,
            changes={
                "version": version.number,
                "note": version.note,
                "rows": len(rules),
                "restored_from": restored_from.number if restored_from else None,
                "diff": changes[:50],
            },
        )
    sync.mapping_version = version
    return version


def mapping_version_create(
    *, sync: Sync, rules: list[dict[str, Any]], note: str, user: Any, validate: bool = True
) -> MappingVersion:
    """Save `rules` as a new immutable version and make it the sync's current one (audited).
    Raises MappingRulesInvalid (nothing saved) when the rules have problems. Rules that map the same way as
    the current version's (mapping.diff.same_rules: a default option spelt out or left out is no change) create
    nothing: the current version is returned (a second Save click is not a new version)."""
    if validate:
        problems = mapping_rules_check(sync=sync, rules=rules)
        if problems:
            raise MappingRulesInvalid(problems)
    current = Sync.objects.filter(pk=sync.pk).values_list("mapping_version", flat=True).first()
    if current is not None:
        version = MappingVersion.objects.get(pk=current)
        if same_rules(version.rules, rules):
            return version
    return _create(sync=sync, rules=rules, note=note.strip(), user=user)


def mapping_version_restore(*, version: MappingVersion, user: Any) -> MappingVersion:
    """Make an old version current again, as a NEW version (history is never rewritten)."""
    note = f"Restored version {version.number}"
    return _create(sync=version.sync, rules=list(version.rules), note=note, user=user, restored_from=version)


def mapping_version_diff(*, version: MappingVersion) -> list[FieldChange]:
    """Field-level changes of `version` against the version before it (empty list for the first)."""
    previous = (
        MappingVersion.objects.filter(sync_id=version.sync_id, number__lt=version.number).order_by("-number").first()
    )
    return diff_rules(previous.rules if previous else [], version.rules)


# ---------------------------------------------------------------- preview


@dataclass
class PreviewRow:
    source_id: str
    source: dict[str, Any]
    payload: dict[str, Any]
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    phones: list[Any] = field(default_factory=list)  # what each phone input became (mapping.phones.PhoneNote)


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    error: str = ""  # why no samples could be read (shown in the panel instead of a 500)
    rule_problems: list[Problem] = field(default_factory=list)

    @property
    def sample_problems(self) -> list[Problem]:
        return [p for row in self.rows for p in row.problems]


def _samples(sync: Sync, plan: SyncPlan, limit: int) -> list[dict[str, Any]]:
    source = sync.source_connection
    # created_at in the key: a recreated database reuses ids, and a cached sample must never outlive its row.
    key = f"mapping:samples:{sync.pk}:{source.pk}:{source.created_at.timestamp()}:{sync.source_object}:{limit}"
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    records = plan.source.sample(sync.source_object, limit=limit, options=plan.options)
    records = [r for r in (records or []) if isinstance(r, dict)][:limit]
    cache.set(key, records, PREVIEW_SAMPLE_TTL)
    return records


def _describe_failure(sync: Sync, exc: BaseException) -> str:
    name = sync.source_connection.get_provider_display()
    detail = str(exc).strip() or type(exc).__name__
    status = getattr(exc, "status", None)
    prefix = f"HTTP {status}: " if status else ""
    return f"Could not read sample records from {name} ({sync.source_connection.name}): {prefix}{detail[:300]}"


def _record_id(record: dict[str, Any], index: int) -> str:
    for key in ("id", "uuid", "user_id", "email"):
        if record.get(key) not in (None, ""):
            return str(record[key])
    return f"sample {index + 1}"


def mapping_preview(*, sync: Sync, rules: list[dict[str, Any]], limit: int = PREVIEW_LIMIT) -> Preview:
    """Pull up to `limit` sample records from the source and map each with `rules`: source -> payload ->
    problems. Never raises for an unreachable source: Preview.error says what went wrong."""
    preview = Preview(rule_problems=mapping_rules_check(sync=sync, rules=rules))
    try:
        plan = _plan(sync, rules)
        records = _samples(sync, plan, limit)
    except Exception as exc:  # noqa: BLE001 - any failure of the source becomes a message in the panel
        log.info("preview samples for sync %s failed: %s", sync.pk, type(exc).__name__)
        preview.error = _describe_failure(sync, exc)
        return preview
    if not records:
        preview.error = f"{sync.source_connection.name} returned no {sync.source_object} records to preview."
        return preview
    for index, record in enumerate(records):
        result = apply(record, rules, context=plan.context)
        preview.rows.append(
            PreviewRow(
                _record_id(record, index), record, result.payload, result.problems, result.warnings, list(result.phones)
            )
        )
    return preview


# ---------------------------------------------------------------- reads for the pages


def transform_choices() -> list[dict[str, str]]:
    return [{"name": t.name, "label": t.label, "help": t.help} for t in REGISTRY.values()]


def rule_rows(rules: list[Any]) -> list[dict[str, Any]]:
    """One line per rule for read-only tables (version page)."""

    rows = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            continue
        rows.append(
            {
                "number": index + 1,
                "source": describe_source(rule),
                "target": rule.get("target") or "",
                "transforms": describe_transforms(rule),
                "required": bool(rule.get("required")),
                "default": rule.get("default"),
                "skip_invalid": rule.get("on_invalid") == "skip",
            }
        )
    return rows


@dataclass
class HistoryEntry:
    version: MappingVersion
    changes: list[FieldChange]
    run_count: int
    is_current: bool


def mapping_history(*, sync: Sync) -> list[HistoryEntry]:
    """Every version of the sync, newest first, each with its field-level diff against the one before."""

    versions = list(
        MappingVersion.objects.filter(sync=sync)
        .select_related("author", "restored_from")
        .annotate(run_total=Count("runs"))
        .order_by("number")
    )
    entries, previous = [], None
    for version in versions:
        changes = diff_rules(previous.rules if previous else [], version.rules)
        entries.append(HistoryEntry(version, changes, version.run_total, version.pk == sync.mapping_version_id))
        previous = version
    return entries[::-1]
