"""What apply() does to each value a rule writes and to the finished payload (see docs/mappings.md):

- normalise(): text cleaned and cut to the target field (text.py), numbers written to text fields as text;
- result_problems(): required fields and identity enforced on the RESULT (a mapped value can come out empty),
  then the payload checked against the target's write schema (schema.py), so GHL never sees what it refuses.
"""

from __future__ import annotations

import math
from typing import Any

from .paths import get_path, is_empty
from .schema import schema_problems
from .targets import CUSTOM_FIELD_SPEC, WRITER_FILLS, FieldSpec
from .text import Cleaned, clean_any, clean_list, clean_string
from .types import CUSTOM_PREFIX, MappingContext, Problem

_TEXT_TYPES = frozenset({"string", "text", "html"})


def spec_for(specs: dict[str, FieldSpec], target: str) -> FieldSpec | None:
    if target.startswith(CUSTOM_PREFIX):
        return CUSTOM_FIELD_SPEC
    return specs.get(target)


def _number_text(value: int | float) -> str | None:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def normalise(value: Any, spec: FieldSpec | None, target: str) -> Cleaned:
    """The value as `spec` keeps it, with warnings for what changed; `refused` when it cannot be written.

    Without a spec (an unknown target) strings are cleaned but keep their line breaks and are never cut."""
    if spec is None:
        return Cleaned(clean_any(value, multiline=True))
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and spec.type in _TEXT_TYPES
        and spec is not CUSTOM_FIELD_SPEC  # a numeric custom field takes the number itself
    ):
        value = _number_text(value) if _number_text(value) is not None else value
    if isinstance(value, str):
        return clean_string(
            value,
            field_name=target,
            multiline=spec.multiline,
            max_length=spec.max_length,
            can_cut=spec.can_cut,
        )
    if isinstance(value, list | tuple) and (spec.type == "list" or spec is CUSTOM_FIELD_SPEC):
        return clean_list(list(value), field_name=target, max_length=spec.max_length, can_cut=spec.can_cut)
    return Cleaned(clean_any(value, multiline=spec.multiline))


def _row_of(field: str, rows: dict[str, int]) -> int:
    if field in rows:
        return rows[field]
    head = field.split(".", 1)[0]
    return rows.get(head, -1)


def _has(payload: dict[str, Any], path: str) -> bool:
    return not is_empty(get_path(payload, path))


def result_problems(
    payload: dict[str, Any],
    context: MappingContext,
    specs: dict[str, FieldSpec],
    rows: dict[str, int],
    known: list[Problem],
) -> list[Problem]:
    """Required fields, identity and the target's schema, checked on the payload apply() built.

    `rows` maps each target to the first row that fills it (problems name it); `known` are the problems found so far (a
    field that already failed is not reported twice)."""
    if not specs:
        return []
    provider, kind = context.target_provider or "ghl", context.target_object
    filled = WRITER_FILLS.get((provider, kind), frozenset())
    failed = {p.field for p in known}
    problems: list[Problem] = []
    groups: dict[str, list[FieldSpec]] = {}
    for spec in specs.values():
        if spec.one_of:
            groups.setdefault(spec.one_of, []).append(spec)
        if spec.required and spec.path not in filled and spec.path not in failed and not _has(payload, spec.path):
            problems.append(
                Problem(spec.path, None, "is required but the mapped value is empty", rows.get(spec.path, -1))
            )
    for group in groups.values():
        if not any(_has(payload, s.path) for s in group):
            names = ", ".join(s.path for s in group)
            problems.append(
                Problem(names, None, f"the {kind} has none of {names} after mapping: nothing identifies it")
            )
    failed |= {p.field for p in problems}
    for field, value, reason in schema_problems(provider, kind, payload):
        if field not in failed:
            problems.append(Problem(field, value, reason, _row_of(field, rows)))
            failed.add(field)
    return problems
