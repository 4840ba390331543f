"""The mapping editor's formset: one RuleForm per row, transform steps as `<row prefix>-t-<j>-...` fields.

Parsing only: the rules it produces are validated by contacts_sync.mapping (via the mappings service), so the
same checks apply to the editor, the API of the services and the engine.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from contacts_sync.mapping import MappingError
from contacts_sync.mapping.transforms import REGISTRY, Transform, coerce_args, format_map_text

PREFIX = "rules"
MAX_ROWS = 200  # far more than any GHL object has fields; stops runaway posts
MAX_STEPS = 8  # transforms per row
ON_INVALID_CHOICES = (("fail", "fail the record"), ("skip", "skip the field"))
KINDS = (("source", "Source field"), ("constant", "Constant"), ("template", "Template"))
EDITOR_KIND = "_kind"  # editor-only key of a posted rule (never saved, never validated)


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, initial="source")
    value = forms.CharField(required=False, max_length=4000, strip=False)
    target = forms.CharField(required=False, max_length=300)
    required = forms.BooleanField(required=False)
    default = forms.CharField(required=False, max_length=500)
    on_invalid = forms.ChoiceField(choices=ON_INVALID_CHOICES, required=False)

    def _raw(self, name: str) -> str:
        return str(self.data.get(f"{self.prefix}-{name}", ""))

    def steps(self) -> list[dict[str, Any]]:
        steps = []
        for j in range(MAX_STEPS):
            name = self._raw(f"t-{j}-name").strip()
            if not name:
                continue
            transform = REGISTRY.get(name)
            # Options belong to the transform they were rendered for; after switching transforms, use defaults.
            shown = self._raw(f"t-{j}-shown") == name
            args = (
                _args_from_post(
                    transform,
                    lambda a, j=j: self._raw(f"t-{j}-a-{a}"),
                    self.data,
                    shown,
                    f"{self.prefix}-t-{j}-a-",
                )
                if transform
                else {}
            )
            steps.append({"name": name, "args": args})
        return steps

    def to_rule(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        kind = data.get("kind") or "source"
        value = data.get("value", self._raw("value"))
        rule: dict[str, Any] = {
            "source": None,
            "constant": None,
            "template": None,
            "target": (data.get("target") or "").strip(),
            "transforms": self.steps(),
            "required": bool(data.get("required")),
            "on_invalid": data.get("on_invalid") or "fail",
            "default": _constant(data.get("default")),
        }
        if kind == "source":
            rule["source"] = value.strip()
        elif kind == "template":
            rule["template"] = value
        else:
            rule["constant"] = _constant(value)
        # The row's chosen kind, for the editor only: an empty Constant or Template row has no value yet to
        # tell its kind by, and re-rendered as "Source field" it snapped back. strip_editor_keys drops it.
        rule[EDITOR_KIND] = kind
        return rule


RuleFormSet = forms.formset_factory(RuleForm, extra=0, max_num=MAX_ROWS, validate_max=True, absolute_max=MAX_ROWS)


class SaveForm(forms.Form):
    note = forms.CharField(required=False, max_length=500, label="What changed (saved with the version)")


def _constant(text: Any) -> Any:
    """'["a", "b"]', 'true', '3' become JSON values; anything else stays text; empty is None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return text
    if not text.strip():
        return None
    stripped = text.strip()
    if stripped[0] in '[{"' or stripped in ("true", "false", "null") or _is_number(stripped):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _args_from_post(transform: Transform, raw: Any, data: Any, shown: bool, key_prefix: str) -> dict[str, Any]:
    if not shown:
        return {}
    posted: dict[str, Any] = {}
    for arg in transform.args:
        if arg.kind == "bool":
            posted[arg.name] = f"{key_prefix}{arg.name}" in data
        elif (text := raw(arg.name)).strip():
            posted[arg.name] = text
    try:
        coerced = coerce_args(transform, posted)
    except MappingError:
        return posted  # kept as typed; validation names the bad option
    return {k: v for k, v in coerced.items() if v is not None and v != "" and v != transform.arg_index[k].default}


def rules_from_post(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of a posted editor as rule dicts (in order) and any form-level errors."""
    formset = RuleFormSet(data, prefix=PREFIX)
    if not formset.management_form.is_valid():
        return [], ["The form was incomplete; reload the page and try again."]
    errors = [str(e) for e in formset.non_form_errors()]
    rules = []
    for index, form in enumerate(formset.forms):
        if not form.is_valid():
            for field, messages in form.errors.items():
                errors.extend(f"Row {index + 1}, {field}: {m}" for m in messages)
        rules.append(form.to_rule())
    return rules, errors


# ---------------------------------------------------------------- rules -> what the template renders


def blank_rule() -> dict[str, Any]:
    return {
        "source": "",
        "constant": None,
        "template": None,
        "target": "",
        "transforms": [],
        "required": False,
        "default": None,
    }


def _display(value: Any) -> str:
    """A constant or default as the input shows it, so that posting it back (`_constant`) gives the same
    value: text that would read as JSON (the text "123", "true", "[1]") is shown quoted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value == "" or _constant(value) == value else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def strip_editor_keys(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules without the editor's own keys: what the services validate, preview and save."""
    return [{k: v for k, v in r.items() if not str(k).startswith("_")} if isinstance(r, dict) else r for r in rules]


def _arg_rows(transform: Transform, args: dict[str, Any], key_prefix: str) -> list[dict[str, Any]]:
    rows = []
    for arg in transform.args:
        value = args.get(arg.name, arg.default) if isinstance(args, dict) else arg.default
        if arg.kind == "map" and isinstance(value, dict):
            shown: Any = format_map_text(value)
        elif arg.kind == "bool":
            shown = value is True or str(value).lower() in ("true", "1", "on", "yes")
        else:
            shown = "" if value is None else str(value)
        rows.append({"arg": arg, "value": shown, "name": f"{key_prefix}{arg.name}"})
    return rows


def row_views(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each rule as the editor row shows it (kind, value, steps with their option inputs)."""
    rows = []
    for index, rule in enumerate(rules):
        rule = rule if isinstance(rule, dict) else blank_rule()
        chosen = rule.get(EDITOR_KIND)
        if chosen == "template" or (chosen is None and rule.get("template") not in (None, "")):
            kind, value = "template", rule.get("template") or ""
        elif chosen == "constant" or (
            chosen is None and rule.get("constant") is not None and rule.get("source") in (None, "")
        ):
            kind, value = "constant", _display(rule.get("constant"))
        else:
            kind, value = "source", rule.get("source") or ""
        steps = []
        for j, step in enumerate(rule.get("transforms") or []):
            name, args = (step, {}) if isinstance(step, str) else (step.get("name"), step.get("args") or {})
            transform = REGISTRY.get(name) if isinstance(name, str) else None
            key = f"{PREFIX}-{index}-t-{j}-a-"
            steps.append(
                {
                    "index": j,
                    "name": name,
                    "transform": transform,
                    "known": transform is not None,
                    "args": _arg_rows(transform, args, key) if transform else [],
                }
            )
        rows.append(
            {
                "index": index,
                "number": index + 1,
                "prefix": f"{PREFIX}-{index}",
                "kind": kind,
                "value": value,
                "target": rule.get("target") or "",
                "required": bool(rule.get("required")),
                "on_invalid": rule.get("on_invalid") or "fail",
                "default": _display(rule.get("default")),
                "steps": steps,
            }
        )
    return rows


def apply_action(rules: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """Editor buttons: add_row, remove_row:i, up:i, down:i, add_step:i, remove_step:i:j (others: no change)."""
    name, _, rest = action.partition(":")
    parts = [int(p) for p in rest.split(":") if p.lstrip("-").isdigit()]
    rules = list(rules)
    i = parts[0] if parts else -1
    valid = 0 <= i < len(rules)
    if name == "add_row" and len(rules) < MAX_ROWS:
        rules.append(blank_rule())
    elif name == "remove_row" and valid:
        rules.pop(i)
    elif name == "up" and valid and i > 0:
        rules[i - 1], rules[i] = rules[i], rules[i - 1]
    elif name == "down" and valid and i < len(rules) - 1:
        rules[i + 1], rules[i] = rules[i], rules[i + 1]
    elif name == "add_step" and valid and len(rules[i]["transforms"]) < MAX_STEPS:
        rules[i] = {**rules[i], "transforms": [*rules[i]["transforms"], {"name": "trim", "args": {}}]}
    elif name == "remove_step" and valid and len(parts) == 2 and 0 <= parts[1] < len(rules[i]["transforms"]):
        steps = list(rules[i]["transforms"])
        steps.pop(parts[1])
        rules[i] = {**rules[i], "transforms": steps}
    return rules
