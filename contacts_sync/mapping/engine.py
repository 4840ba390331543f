"""apply(): one source record + the rules of a mapping version -> the target payload and EVERY problem.

A rule is a dict (see docs/mappings.md):
    {"source": "emails.0" | None, "constant": Any, "template": "{first} {last}" | None,
     "target": "email" | "customField.<id or key>", "transforms": [{"name": "e164", "args": {...}}],
     "required": bool, "default": Any, "on_invalid": "fail" | "skip"}
exactly one of source / constant / template. Empty values are not written (a sync never blanks a GHL field
because the source had nothing); a required target that ends up empty is a problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .checks import normalise, result_problems, spec_for
from .errors import MappingError, TransformError
from .paths import get_path, is_empty, path_problem
from .targets import field_specs
from .text import dedupe_texts
from .transforms import REGISTRY, coerce_args, phone_reading, run_transform
from .types import (
    CUSTOM_PREFIX,
    WARN_SKIPPED,
    WHOLE_MAPPING,
    MappingContext,
    MappingResult,
    PhoneNote,
    Problem,
)

PHONE_TRANSFORM = "e164"  # the transform whose every reading apply() notes for the preview
# Targets several rows may fill: their values are merged, not overwritten.
MULTI_TARGETS = frozenset({"tags"})
# rule["on_invalid"]: "fail" (default) makes a value a transform refuses fail the whole record; "skip" leaves
# the field out and reports a warning (never for required rules).
ON_INVALID_FAIL, ON_INVALID_SKIP = "fail", "skip"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# One pass over a template: an escaped brace ({{ or }}) or a placeholder. (Escapes used to become NUL/\x01 sentinels
# before the substitution, so a value holding NUL came out as "{".)
_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


# ---------------------------------------------------------------- reading a rule


def _is_set(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def value_kinds(rule: dict[str, Any]) -> list[str]:
    """Which of source / constant / template this rule sets (exactly one is valid)."""
    return [k for k in ("source", "constant", "template") if _is_set(rule.get(k))]


def template_problem(template: Any) -> str | None:
    if not isinstance(template, str):
        return "the template must be text"
    stripped = _PLACEHOLDER.sub("", template.replace("{{", "").replace("}}", ""))
    if "{" in stripped or "}" in stripped:
        return "the template has an unmatched { or }"
    for name in _PLACEHOLDER.findall(template.replace("{{", "").replace("}}", "")):
        problem = path_problem(name)
        if problem:
            return f"template placeholder {{{name}}}: {problem}"
    if not _PLACEHOLDER.search(template.replace("{{", "").replace("}}", "")):
        return "the template has no {field} placeholder; use a constant instead"
    return None


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_render(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def render_template(template: str, record: dict[str, Any]) -> str | None:
    """'{first_name} {last_name}' -> 'Jane Doe'; None when every placeholder is empty."""
    found: list[bool] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # {{ -> {, }} -> }
        value = get_path(record, match.group(1))
        found.append(not is_empty(value))
        return _render(value)

    text = _TEMPLATE_PART.sub(substitute, template)
    if not any(found):
        return None
    return text.strip()


def _extract(record: dict[str, Any], rule: dict[str, Any]) -> Any:
    kinds = value_kinds(rule)
    if len(kinds) != 1:
        raise MappingError("set exactly one of: source field, constant, template")
    kind = kinds[0]
    if kind == "constant":
        return rule["constant"]
    if kind == "template":
        problem = template_problem(rule["template"])
        if problem:
            raise MappingError(problem)
        return render_template(rule["template"], record)
    problem = path_problem(rule["source"])
    if problem:
        raise MappingError(problem)
    return get_path(record, rule["source"])


def transform_steps(rule: dict[str, Any]) -> list[tuple[Any, dict[str, Any] | None]]:
    steps = rule.get("transforms") or []
    if not isinstance(steps, list):
        raise MappingError("transforms must be a list")
    result: list[tuple[Any, dict[str, Any] | None]] = []
    for step in steps:
        if isinstance(step, str):
            result.append((step, None))
        elif isinstance(step, dict):
            result.append((step.get("name"), step.get("args")))
        else:
            raise MappingError(f"a transform must be a name or {{name, args}}, not {type(step).__name__}")
    return result


# ---------------------------------------------------------------- writing the payload


def set_target(payload: dict[str, Any], target: str, value: Any) -> None:
    if target.startswith(CUSTOM_PREFIX):
        ref = target[len(CUSTOM_PREFIX) :]
        # GHL's write shape is customFields[{id|key, field_value}]; ids have no dot, keys look like contact.x
        entry: dict[str, Any] = {"key": ref} if "." in ref else {"id": ref}
        entry["field_value"] = value
        payload.setdefault("customFields", []).append(entry)
        return
    if target in MULTI_TARGETS:
        items = value if isinstance(value, list) else [value]
        merged = payload.setdefault(target, [])
        merged.extend(item for item in items if item not in merged)
        return
    *parents, leaf = target.split(".")
    node = payload
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def _run_steps(
    rule: dict[str, Any], value: Any, ctx: MappingContext, target: str, index: int, phones: list[PhoneNote]
) -> Any:
    """The rule's transforms in order; each e164 step also notes what its phone input became."""
    for name, args in transform_steps(rule):
        if name != PHONE_TRANSFORM:
            value = run_transform(name, value, args, ctx)
            continue
        try:
            reading = phone_reading(value, coerce_args(REGISTRY[PHONE_TRANSFORM], args), ctx)
        except TransformError as exc:
            phones.append(PhoneNote(target, value, None, exc.reason, index))
            raise
        if reading is not None:
            phones.append(PhoneNote(target, value, reading.e164, reading.how, index))
        value = None if reading is None else reading.e164
    return value


def _refusal(rule: dict[str, Any], problem: Problem, problems: list[Problem], warnings: list[Problem]) -> None:
    # on_invalid="skip": a bad optional value (a phone like "n/a") leaves the field out, not the record
    if rule.get("on_invalid") == ON_INVALID_SKIP and not rule.get("required"):
        warnings.append(replace(problem, kind=WARN_SKIPPED))
    else:
        problems.append(problem)


# Complexity 15: the one loop over the rules (default, transforms, refusal, normalise, schema), in order.
def apply(record: Any, rules: Any, *, context: MappingContext | None = None) -> MappingResult:  # noqa: C901
    """Map one record. Never raises for bad data or bad rules: everything wrong becomes a Problem.

    Every value is normalised for its target field (checks.normalise); when the context names the target, the
    result is then checked for required fields, identity and the target's write schema (checks.result_problems).
    """
    ctx = context or MappingContext()
    if not isinstance(record, dict):
        return MappingResult({}, [Problem("record", type(record).__name__, "the source record is not an object")])
    if not isinstance(rules, list):
        return MappingResult({}, [Problem("rules", None, "the mapping rules are not a list")])
    specs = field_specs(ctx.target_provider, ctx.target_object) if ctx.target_object else {}
    payload: dict[str, Any] = {}
    result = MappingResult(payload)
    problems, warnings = result.problems, result.warnings
    rows: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            problems.append(Problem("rule", rule, "a rule must be an object", index))
            continue
        target = rule.get("target")
        if not isinstance(target, str) or not target.strip():
            problems.append(Problem("target", None, "the row has no target field", index, "target"))
            continue
        target = target.strip()
        rows.setdefault(target, index)  # the row that problems of this field name
        try:
            value = _extract(record, rule)
        except MappingError as exc:
            problems.append(Problem(target, None, str(exc), index, "source"))
            continue
        original = value
        if is_empty(value) and _is_set(rule.get("default")):
            value = rule["default"]
        try:
            value = _run_steps(rule, value, ctx, target, index, result.phones)
        except MappingError as exc:
            _refusal(rule, Problem(target, original, str(exc), index, "transforms"), problems, warnings)
            continue
        except Exception as exc:  # noqa: BLE001 - a bug in a transform must fail this record, not the run
            reason = f"transform failed unexpectedly ({type(exc).__name__})"
            problems.append(Problem(target, original, reason, index, "transforms"))
            continue
        if not is_empty(value):
            cleaned = normalise(value, spec_for(specs, target), target)
            if cleaned.refused:
                _refusal(rule, Problem(target, original, cleaned.refused, index), problems, warnings)
                continue
            warnings.extend(Problem(target, original, text, index, kind=kind) for kind, text in cleaned.notes)
            value = cleaned.value
        if is_empty(value):
            if rule.get("required"):
                problems.append(Problem(target, original, "is required but the record has no value", index))
            continue
        set_target(payload, target, value)
    for key in MULTI_TARGETS & payload.keys():  # rows merged: "VIP" from one row and "vip " from another
        payload[key] = dedupe_texts(payload[key])
    problems.extend(result_problems(payload, ctx, specs, rows, problems))
    return result


# ---------------------------------------------------------------- rule-level validation (the editor)


def _field_attr(spec: Any, name: str, default: Any = None) -> Any:
    return spec.get(name, default) if isinstance(spec, dict) else getattr(spec, name, default)


def _rule_problems(index: int, rule: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    target = str(rule.get("target") or "")
    kinds = value_kinds(rule)
    if len(kinds) != 1:
        problems.append(Problem(target, None, "set exactly one of: source field, constant, template", index, "source"))
    elif kinds[0] == "source" and (problem := path_problem(rule["source"])):
        problems.append(Problem(target, rule["source"], problem, index, "source"))
    elif kinds[0] == "template" and (problem := template_problem(rule["template"])):
        problems.append(Problem(target, rule["template"], problem, index, "source"))
    if rule.get("on_invalid") not in (None, "", ON_INVALID_FAIL, ON_INVALID_SKIP):
        problems.append(Problem(target, rule.get("on_invalid"), "on_invalid must be fail or skip", index, "transforms"))
    try:
        steps = transform_steps(rule)
    except MappingError as exc:
        return [*problems, Problem(target, None, str(exc), index, "transforms")]
    for name, args in steps:
        transform = REGISTRY.get(name) if isinstance(name, str) else None
        if transform is None:
            problems.append(Problem(target, name, f"unknown transform {name!r}", index, "transforms"))
            continue
        try:
            coerce_args(transform, args)
        except MappingError as exc:
            problems.append(Problem(target, args, f"{transform.label}: {exc}", index, "transforms"))
    return problems


def validate_rules(rules: Any, *, target_fields: Iterable[Any]) -> list[Problem]:
    """Every problem of the rules themselves: unknown/duplicate targets, required targets unmapped,
    unknown transforms and bad options, bad paths/templates. Each names its row (rule_index) and field."""
    if not isinstance(rules, list):
        return [Problem("rules", None, "the mapping rules are not a list")]
    fields = list(target_fields)
    by_path = {_field_attr(f, "path"): f for f in fields}
    known_custom = any(str(p).startswith(CUSTOM_PREFIX) for p in by_path)
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            problems.append(Problem("rule", rule, "a rule must be an object", index))
            continue
        target = rule.get("target")
        if not isinstance(target, str) or not target.strip():
            problems.append(Problem("target", None, "choose a target field", index, "target"))
        else:
            target = target.strip()
            spec = by_path.get(target)
            if spec is None and not (target.startswith(CUSTOM_PREFIX) and not known_custom):
                what = "custom field" if target.startswith(CUSTOM_PREFIX) else "field"
                problems.append(Problem(target, target, f"is not a known target {what}", index, "target"))
            multi = target in MULTI_TARGETS or bool(spec is not None and _field_attr(spec, "multi", False))
            if target in first_row and not multi:
                problems.append(
                    Problem(target, target, f"is already mapped in row {first_row[target] + 1}", index, "target")
                )
            first_row.setdefault(target, index)
        problems.extend(_rule_problems(index, rule))
    groups: dict[str, list[Any]] = {}
    for spec in fields:
        path = _field_attr(spec, "path")
        if _field_attr(spec, "required", False) and path not in first_row:
            label = _field_attr(spec, "label", path)
            problems.append(Problem(path, None, f"{label} is required by the target but no row fills it"))
        if group := _field_attr(spec, "one_of", ""):
            groups.setdefault(group, []).append(spec)
    for specs in groups.values():
        if not any(_field_attr(s, "path") in first_row for s in specs):
            labels = ", ".join(str(_field_attr(s, "label", _field_attr(s, "path"))) for s in specs)
            problems.append(Problem(_field_attr(specs[0], "path"), None, f"map at least one of: {labels}"))
    return problems


def content_hash(payload: Any) -> str:
    """A stable sha256 of the canonical JSON of a payload (key order and whitespace do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = ["CUSTOM_PREFIX", "WHOLE_MAPPING", "apply", "content_hash", "validate_rules"]
