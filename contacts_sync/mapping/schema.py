"""A payload GHL would refuse fails here, before the call, so no rate budget is spent on it.

The schemas are GHL's write DTOs (ghl_write_schemas.json, generated from the official spec by schema_build.py).
Each problem names the field and the schema rule it breaks.

Every payload a sync writes is checked, and nearly all pass: a pass is answered by the same schema compiled to
Python by fastjsonschema (about 30 us a contact against 250 us for jsonschema's validator, a sixth of the worker's
CPU per record in bench.sync); only a payload it refuses goes through jsonschema, whose errors say why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from email_validator import EmailNotValidError
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from .emails import email_valid
from .types import CUSTOM_PREFIX

SCHEMA_FILE = Path(__file__).with_name("ghl_write_schemas.json")

FORMATS = FormatChecker(formats=())


@FORMATS.checks("email", raises=EmailNotValidError)
def _email(value: object) -> bool:
    # The same library as the email transform; no DNS (a sync must not depend on the resolver).
    return not isinstance(value, str) or email_valid(value)


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # GHL's IsISO8601: what Python's ISO reader takes, with Z for UTC.
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@dataclass(frozen=True)
class Check:
    """One DTO check of (part of) a payload."""

    dto: str
    fields: frozenset[str] | None = None  # the payload keys it checks (None = all but `excluding`)
    excluding: frozenset[str] = frozenset()
    not_required: frozenset[str] = frozenset()  # required by the DTO but filled in by the writer
    rename: tuple[tuple[str, str], ...] = ()  # payload key -> DTO key (contact "note" -> NotesDTO "body")


# Which DTO checks what, per (provider, target object); see connectors/ghl/writer.py for how each is sent.
CHECKS: dict[tuple[str, str], tuple[Check, ...]] = {
    # POST /contacts/upsert takes the payload (tags included) plus the locationId the writer adds; PUT takes a
    # subset of the same fields. "note" is sent as a note after the upsert.
    ("ghl", "contact"): (
        Check("UpsertContactDto", excluding=frozenset({"note"}), not_required=frozenset({"locationId"})),
        Check("NotesDTO", fields=frozenset({"note"}), rename=(("note", "body"),)),
    ),
    # The task writer fills completed and dueDate when the payload has none.
    ("ghl", "task"): (Check("CreateTaskParams", not_required=frozenset({"dueDate", "completed"})),),
    # The note writer sends the tags to POST /contacts/{id}/tags.
    ("ghl", "note"): (
        Check("NotesDTO", excluding=frozenset({"tags"})),
        Check("TagsDTO", fields=frozenset({"tags"}), not_required=frozenset({"tags"})),
    ),
    ("ghl", "tag"): (Check("TagsDTO"),),
}


@cache
def schemas() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text())["schemas"])


@cache
def _schema(dto: str, not_required: frozenset[str]) -> dict[str, Any]:
    schema = dict(schemas()[dto])
    schema["required"] = [f for f in schema.get("required", []) if f not in not_required]
    return schema


@cache
def _validator(dto: str, not_required: frozenset[str]) -> Draft202012Validator:
    return Draft202012Validator(_schema(dto, not_required), format_checker=FORMATS)


def _passes(check: Callable[[object], bool]) -> Callable[[object], bool]:
    def passes(value: object) -> bool:
        try:
            return check(value)
        except (EmailNotValidError, ValueError):
            return False

    return passes


@cache
def _gate(dto: str, not_required: frozenset[str]) -> Callable[[Any], Any]:
    """The same schema compiled by fastjsonschema, with the same format checks; raises on any problem.
    It never fills in defaults (use_default off): the payload is not changed."""
    return fastjsonschema.compile(
        _schema(dto, not_required),
        formats={"email": _passes(_email), "date-time": _passes(_date_time)},
        use_default=False,
    )


def _valid(dto: str, not_required: frozenset[str], body: dict[str, Any]) -> bool:
    """True when the compiled schema takes `body`; anything else (refused, or an error of its own) is left to
    jsonschema, which decides and says why."""
    try:
        _gate(dto, not_required)(body)
    except Exception:  # noqa: BLE001 - a refusal or the gate's own failure: jsonschema gives the answer
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "number": "a number",
    "integer": "a whole number",
    "null": "empty",
}


# jsonschema's stubs allow its `Unset` marker in an error's attributes (for errors built by hand); the errors
# `iter_errors` yields always carry the rule's value, the instance and the schema, typed Any below.
def _reason(error: SchemaError) -> str:
    rule = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    if rule == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"must be {wanted}, not {_kind(instance)} (schema rule type: {expected})"
    if rule == "format":
        what = {"email": "an email address", "date-time": "an ISO 8601 date-time"}.get(expected, expected)
        return f"{str(instance)[:60]!r} is not {what} GHL accepts (schema rule format: {expected})"
    if rule == "additionalProperties":
        return (
            "is not a field GHL takes here; it would answer 422 'property should not exist' "
            "(schema rule additionalProperties: false)"
        )
    if rule == "required":
        return "is required by GHL (schema rule required)"
    if rule == "maxLength":
        return f"is {len(instance):,} characters; GHL takes at most {expected:,} (schema rule maxLength)"
    if rule == "enum":
        return f"must be one of {', '.join(map(str, expected))} (schema rule enum)"
    if rule == "anyOf" and isinstance(instance, dict):
        return "needs an id or a key (schema rule anyOf: required id | required key)"
    if rule == "pattern":
        return f"{str(instance)[:40]!r} is not in a form GHL reads (schema rule pattern: {expected})"
    return f"{error.message[:120]} (schema rule {rule})"


def _locate(error: SchemaError, body: dict[str, Any], back: dict[str, str]) -> tuple[str, Any]:
    """The payload field an error is about (customFields entries by their custom field) and its value."""
    path = list(error.absolute_path)
    instance: Any = error.instance
    schema: Any = error.schema
    required: Any = error.validator_value
    value = instance
    if error.validator == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        path.append(extra[0] if extra else "?")
        value = instance.get(path[-1])
    elif error.validator == "required":
        missing = [f for f in required if f not in instance]
        path.append(missing[0] if missing else "?")
        value = None
    if len(path) >= 2 and path[0] == "customFields" and isinstance(path[1], int):
        entries = body.get("customFields") or []
        entry = entries[path[1]] if path[1] < len(entries) and isinstance(entries[path[1]], dict) else {}
        ref = entry.get("key") or entry.get("id")
        if isinstance(ref, str) and ref:
            return CUSTOM_PREFIX + ref + "".join(f".{p}" for p in path[2:] if p != "field_value"), value
    if not path:
        return "payload", value
    return ".".join([back.get(str(path[0]), str(path[0])), *map(str, path[1:])]), value


def schema_problems(provider: str, object_kind: str, payload: dict[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(field, value, reason) for every way GHL's write DTOs refuse `payload` (none for targets without one)."""
    for check in CHECKS.get((provider or "ghl", object_kind), ()):
        if check.fields is not None:
            body = {k: v for k, v in payload.items() if k in check.fields}
            if not body:
                continue
        else:
            body = {k: v for k, v in payload.items() if k not in check.excluding}
        renamed = dict(check.rename)
        body = {renamed.get(k, k): v for k, v in body.items()}
        if _valid(check.dto, check.not_required, body):
            continue
        back = {v: k for k, v in renamed.items()}
        errors = _validator(check.dto, check.not_required).iter_errors(body)
        for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
            field, value = _locate(error, body, back)
            yield field, value, f"GHL would refuse it: {_reason(error)}"
