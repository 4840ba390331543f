"""Field-level differences between two lists of rules (the history page) and one-line rule summaries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .engine import value_kinds
from .errors import MappingError
from .transforms import REGISTRY, coerce_args

ADDED, REMOVED, CHANGED, MOVED = "added", "removed", "changed", "moved"


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_source(rule: dict[str, Any]) -> str:
    kinds = value_kinds(rule)
    if not kinds:
        return "(nothing)"
    kind = kinds[0]
    if kind == "constant":
        return f"constant {_short(rule['constant'])}"
    if kind == "template":
        return f"template {_short(rule['template'])}"
    return str(rule["source"])


def describe_transforms(rule: dict[str, Any]) -> str:
    steps = rule.get("transforms") or []
    if not isinstance(steps, list):
        return _short(steps)
    parts = []
    for step in steps:
        if isinstance(step, str):
            parts.append(step)
        elif isinstance(step, dict):
            args = {k: v for k, v in (step.get("args") or {}).items() if v not in (None, "", {})}
            inner = ", ".join(f"{k}={_short(v, 30)}" for k, v in args.items())
            parts.append(f"{step.get('name')}({inner})" if inner else str(step.get("name")))
    return " → ".join(parts)


def describe_rule(rule: Any) -> str:
    if not isinstance(rule, dict):
        return _short(rule)
    text = f"{describe_source(rule)} → {rule.get('target') or '?'}"
    if transforms := describe_transforms(rule):
        text += f" via {transforms}"
    if rule.get("required"):
        text += " (required)"
    if rule.get("default") not in (None, ""):
        text += f" default {_short(rule['default'], 30)}"
    if rule.get("on_invalid") == "skip":
        text += " (skipped if invalid)"
    return text


@dataclass
class FieldChange:
    target: str
    kind: str  # added | removed | changed | moved
    before: str = ""  # one-line description of the old rule
    after: str = ""
    details: list[str] = field(default_factory=list)  # "source: name → full_name", ...

    def __str__(self) -> str:
        if self.kind == ADDED:
            return f"+ {self.after}"
        if self.kind == REMOVED:
            return f"- {self.before}"
        return f"~ {self.target}: {'; '.join(self.details)}"


def _canonical_args(name: Any, args: Any) -> Any:
    """A step's options without the ones equal to their default (the editor never posts those), typed."""
    transform = REGISTRY.get(name) if isinstance(name, str) else None
    if transform is None or not isinstance(args, dict):
        return args
    try:
        typed = coerce_args(transform, args)
    except MappingError:
        return args  # kept as written: validation names the bad option
    unknown = {k: v for k, v in args.items() if k not in transform.arg_index}
    kept = {k: v for k, v in typed.items() if v not in (None, "") and v != transform.arg_index[k].default}
    return {**kept, **unknown}


def canonical_rule(rule: Any) -> Any:
    """One rule in the one form two equal rules share: every key present, empty values as None, transform
    options without their defaults. `{"source": "a", "transforms": [("truncate", {"length": 255})]}` (the
    recipe's) and what the editor posts back for it (`{"name": "truncate", "args": {}}`) are the same rule."""
    if not isinstance(rule, dict):
        return rule
    raw_steps = rule.get("transforms") or []
    steps: Any = raw_steps if not isinstance(raw_steps, list) else []  # not a list: kept, validation says why
    for step in raw_steps if isinstance(raw_steps, list) else []:
        name, args = (
            (step, {})
            if isinstance(step, str)
            else ((step.get("name"), step.get("args") or {}) if isinstance(step, dict) else (step, {}))
        )
        steps.append({"name": name, "args": _canonical_args(name, args)})

    def text_or_none(value: Any) -> Any:
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    return {
        "source": text_or_none(rule.get("source")),
        "constant": rule.get("constant"),
        "template": text_or_none(rule.get("template")),
        "target": str(rule.get("target") or "").strip(),
        "transforms": steps,
        "required": bool(rule.get("required")),
        "default": rule.get("default"),
        "on_invalid": rule.get("on_invalid") or "fail",
    }


def same_rules(old: list[Any], new: list[Any]) -> bool:
    """Whether two lists of rules map records the same way (canonical_rule of each, in order)."""
    return [canonical_rule(r) for r in old or []] == [canonical_rule(r) for r in new or []]


def _keyed(rules: list[Any]) -> dict[tuple[str, int], tuple[int, dict[str, Any]]]:
    seen: dict[str, int] = {}
    keyed = {}
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            continue
        target = str(rule.get("target") or "")
        n = seen.get(target, 0)
        seen[target] = n + 1
        keyed[(target, n)] = (index, rule)
    return keyed


_ASPECTS = (
    ("source", describe_source),
    ("transforms", lambda r: describe_transforms(r) or "none"),
    ("required", lambda r: "yes" if r.get("required") else "no"),
    ("default", lambda r: _short(r.get("default")) if r.get("default") not in (None, "") else "none"),
    ("if invalid", lambda r: "skip the field" if r.get("on_invalid") == "skip" else "fail the record"),
)


def _moved(common: list[tuple[str, int]], after: dict[tuple[str, int], tuple[int, Any]]) -> set[tuple[str, int]]:
    """Rows whose relative order changed: everything outside the longest run kept in order."""
    positions = [after[k][0] for k in common]
    best: list[list[int]] = []
    for i, pos in enumerate(positions):
        chain = max((best[j] for j in range(i) if positions[j] < pos), key=len, default=[])
        best.append([*chain, i])
    longest: list[int] = max(best, key=len) if best else []
    keep = set(longest)
    return {k for i, k in enumerate(common) if i not in keep}


def diff_rules(old: list[Any], new: list[Any]) -> list[FieldChange]:
    """What changed per target field from `old` to `new` (a target mapped twice is compared in order). Rules
    are compared in their canonical form: spelling a default option out (or leaving it out) is no change."""
    before = _keyed([canonical_rule(r) for r in old or []])
    after = _keyed([canonical_rule(r) for r in new or []])
    changes: list[FieldChange] = []
    moved = _moved([k for k in before if k in after], after)
    for key, (index, rule) in sorted(after.items(), key=lambda kv: kv[1][0]):
        target = key[0]
        if key not in before:
            changes.append(FieldChange(target, ADDED, after=describe_rule(rule)))
            continue
        old_rule = before[key][1]
        details = [f"{name}: {fmt(old_rule)} → {fmt(rule)}" for name, fmt in _ASPECTS if fmt(old_rule) != fmt(rule)]
        if details:
            changes.append(FieldChange(target, CHANGED, describe_rule(old_rule), describe_rule(rule), details))
        elif key in moved:
            changes.append(
                FieldChange(
                    target,
                    MOVED,
                    describe_rule(old_rule),
                    describe_rule(rule),
                    [f"row {before[key][0] + 1} → row {index + 1}"],
                )
            )
    for key, (_index, rule) in sorted(before.items(), key=lambda kv: kv[1][0]):
        if key not in after:
            changes.append(FieldChange(key[0], REMOVED, before=describe_rule(rule)))
    return changes
