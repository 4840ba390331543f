"""Builders of default mappings: each app package declares its own (`MAPPINGS` in connectors/<app>/recipes.py).

Source field names are each app's own JSON (../shared/reference/source-apps.md). Where a connector may hand
records in two shapes (Hubstaff clients vs members), paths use alternatives: `emails.0|email|user.email`.
"""

from __future__ import annotations

from typing import Any


def rule(
    target: str,
    *,
    source: str | None = None,
    constant: Any = None,
    template: str | None = None,
    transforms: list[Any] | None = None,
    required: bool = False,
    default: Any = None,
    on_invalid: str = "fail",
) -> dict[str, Any]:
    steps = [
        {"name": t, "args": {}} if isinstance(t, str) else {"name": t[0], "args": dict(t[1])}
        for t in (transforms or [])
    ]
    return {
        "source": source,
        "constant": constant,
        "template": template,
        "target": target,
        "transforms": steps,
        "required": required,
        "default": default,
        "on_invalid": on_invalid,
    }


def contact_rules(
    *,
    name: str,
    email: str,
    phone: str,
    company: str | None,
    source_label: str,
    region_hint: str | None = None,
    tags: str | None = None,
) -> list[dict[str, Any]]:
    phone_steps: list[Any] = [("e164", {"region": region_hint} if region_hint else {})]
    rules = [
        rule("firstName", source=name, transforms=["trim", ("split_name", {"part": "first"})]),
        rule("lastName", source=name, transforms=["trim", ("split_name", {"part": "last"})]),
        rule("email", source=email, transforms=["email"]),
        # Source apps hold numbers like "n/a" or "12345": the contact still syncs, without the phone (warned).
        rule("phone", source=phone, transforms=phone_steps, on_invalid="skip"),
    ]
    if company:
        rules.append(rule("companyName", source=company, transforms=["trim", ("truncate", {"length": 255})]))
    rules.append(rule("source", constant=source_label))
    if tags:
        rules.append(rule("tags", source=tags, transforms=["to_tags"]))
    return rules


def ghl_task_rules(
    *, title: str, due: str, status: str, body: str, done_value: str = "completed", body_html: bool = False
) -> list[dict[str, Any]]:
    return [
        rule("title", source=title, transforms=["trim", ("truncate", {"length": 255})], required=True),
        # GHL requires dueDate on create; fall back to when the item was created so re-runs hash the same.
        rule("dueDate", source=due, transforms=["datetime"], required=True),
        rule("completed", source=status, transforms=[("equals", {"value": done_value})], required=True),
        rule("body", source=body, transforms=["html_to_text" if body_html else "trim"]),
    ]


def ghl_note_rules(*, body: str | None = None, template: str | None = None) -> list[dict[str, Any]]:
    return [rule("body", source=body, template=template, transforms=["html_to_text"], required=True)]


def dedupe_targets(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the last rule per single-valued target (custom recipes override the generic name split)."""
    seen: dict[str, int] = {}
    result: list[dict[str, Any]] = []
    for r in rules:
        target = r["target"]
        if target != "tags" and target in seen:
            result[seen[target]] = r
            continue
        seen[target] = len(result)
        result.append(r)
    return result
