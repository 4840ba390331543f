"""A sensible first mapping for each recipe: (source provider, source object, target provider, target object).

Source field names are each app's own JSON (../shared/reference/source-apps.md). Where a connector may hand
records in two shapes (Hubstaff clients vs members), paths use alternatives: `emails.0|email|user.email`.
"""

from __future__ import annotations

import copy
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


def _contact(
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


def _ghl_task(
    *, title: str, due: str, status: str, body: str, done_value: str = "completed", body_html: bool = False
) -> list[dict[str, Any]]:
    return [
        rule("title", source=title, transforms=["trim", ("truncate", {"length": 255})], required=True),
        # GHL requires dueDate on create; fall back to when the item was created so re-runs hash the same.
        rule("dueDate", source=due, transforms=["datetime"], required=True),
        rule("completed", source=status, transforms=[("equals", {"value": done_value})], required=True),
        rule("body", source=body, transforms=["html_to_text" if body_html else "trim"]),
    ]


def _ghl_note(*, body: str | None = None, template: str | None = None) -> list[dict[str, Any]]:
    return [rule("body", source=body, template=template, transforms=["html_to_text"], required=True)]


_DEFAULTS: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {
    # Hubstaff clients (name = the client) and members (user.name / first_name + last_name).
    # Hubstaff clients are companies (no person name to split); members carry user.first_name/last_name.
    ("hubstaff", "contact", "ghl", "contact"): [
        rule("name", source="name|user.name", transforms=["trim"]),
        rule("firstName", source="user.first_name", transforms=["trim"]),
        rule("lastName", source="user.last_name", transforms=["trim"]),
        rule("email", source="emails.0|email|user.email", transforms=["email"]),
        rule("phone", source="phone|user.phone", transforms=["e164"], on_invalid="skip"),
        rule("companyName", source="company|name", transforms=["trim", ("truncate", {"length": 255})]),
        rule("source", constant="Hubstaff"),
        # Hubstaff has no tags; its key/value metadata becomes GHL tags ("tier:gold").
        rule("tags", source="metadata", transforms=["to_tags"], on_invalid="skip"),
    ],
    ("hubstaff", "task", "ghl", "task"): _ghl_task(
        title="summary", due="due_at|created_at", status="status", body="details"
    ),
    ("hubstaff", "note", "ghl", "note"): _ghl_note(template="{note}\n\n(Hubstaff, {recorded_at|date})"),
    ("hotspotsystem", "contact", "ghl", "contact"): [
        *_contact(
            name="name|user_name",
            email="email",
            phone="phone",
            company="company_name",
            source_label="HotspotSystem",
            tags="social_network",
        ),
        rule("address1", source="address", transforms=["trim"]),
        rule("city", source="city", transforms=["trim"]),
        rule("state", source="state", transforms=["trim"]),
        rule("postalCode", source="zip", transforms=["trim"]),
        rule("country", source="country_code", transforms=["trim", "upper"]),
    ],
    ("hotspotsystem", "note", "ghl", "note"): _ghl_note(
        template="Wi-Fi login via {social_network|type} at {location_name|location_id} on {action_date_gmt}"
    ),
    ("upguard", "contact", "ghl", "contact"): [
        *_contact(
            name="name",
            email="email_address|email",
            phone="phone_mobile|phone",
            company="vendor.name|vendor_name|company",
            source_label="UpGuard",
            tags="labels|vendor.labels",
        ),
    ],
    ("upguard", "task", "ghl", "task"): _ghl_task(
        title="finding|title|risk",
        due="firstDetected|date_occurred|created_at",
        status="status",
        body="description|remediation",
        done_value="closed",
    ),
    ("upguard", "note", "ghl", "note"): _ghl_note(template="{description}\n\n({type}, {occurred_at})"),
    # starbuero.de call records (shape is the emulator's documented assumption): German numbers by default.
    ("starbuero", "contact", "ghl", "contact"): [
        *_contact(
            name="caller_name|name",
            email="caller_email|email",
            phone="caller_number|phone",
            company="caller_company|company",
            source_label="starbuero.de",
            region_hint="DE",
        ),
        rule("tags", constant=["starbuero"], transforms=["to_tags"]),
    ],
    ("starbuero", "note", "ghl", "note"): _ghl_note(
        template="Call from {caller_name|caller_number} at {call_start}:\n{message|transcript}"
    ),
    ("starbuero", "task", "ghl", "task"): _ghl_task(
        title="title|summary|message", due="due_at|call_start|created_at", status="status", body="message"
    ),
    # Custom apps follow the conventions in ../shared/reference/source-apps.md section 5.
    ("custom", "contact", "ghl", "contact"): [
        *_contact(
            name="name|full_name",
            email="email",
            phone="phone",
            company="company|company_name",
            source_label="Custom app",
            tags="tags",
        ),
        rule("firstName", source="first_name|firstName", transforms=["trim"]),
        rule("lastName", source="last_name|lastName", transforms=["trim"]),
    ],
    ("custom", "task", "ghl", "task"): _ghl_task(
        title="title|summary",
        due="due_date|due_at|dueDate|created_at",
        status="status|completed",
        body="description|body|details",
    ),
    ("custom", "note", "ghl", "note"): _ghl_note(body="body|text|note"),
    # A critical GHL contact event -> a Hubstaff to-do.
    ("ghl", "contact", "hubstaff", "task"): [
        rule(
            "summary",
            template="Follow up: {name|firstName|email|phone|id}",
            transforms=[("truncate", {"length": 200})],
            required=True,
        ),
        rule(
            "details",
            template="GHL contact {id}\nEmail: {email}\nPhone: {phone}\nTags: {tags}",
            transforms=["trim"],
        ),
        # Hubstaff metadata values are at most 200 characters; a GHL contact id is far shorter.
        rule("metadata.ghl_contact_id", source="id", transforms=[("to_text", {})]),
    ],
}


def _dedupe_targets(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def default_rules(
    source_provider: str, source_object: str, target_provider: str, target_object: str
) -> list[dict[str, Any]]:
    """A deep copy of the default rules for this pair; an empty list when no default exists."""
    key = (source_provider, source_object, target_provider, target_object)
    return copy.deepcopy(_dedupe_targets(_DEFAULTS.get(key, [])))


def default_pairs() -> list[tuple[str, str, str, str]]:
    return list(_DEFAULTS)
