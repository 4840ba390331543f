"""A run item's payload as a field table, never as Python text.

    {% load payload %}
    {% include "runs/_payload.html" with rows=item.payload|payload_rows %}

The stored payload is already redacted (sync/redaction.py): secrets are the string "[redacted]", which the table
marks as such. Nested objects become dotted paths ("address.city"), lists of plain values one comma-separated
cell, lists of objects numbered paths ("emails.0.value").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import template

register = template.Library()

REDACTED = "[redacted]"  # what sync/redaction.py writes in place of a secret
# A payload of a few thousand fields (a bad mapping copying a whole record) still renders a page, not a wall.
MAX_ROWS = 200
# One cell shows this much of a huge value (a 1 MB note), and says how long the value really was.
MAX_VALUE_CHARS = 600


@dataclass(frozen=True)
class Row:
    path: str
    value: str
    kind: str = "text"  # text | empty | redacted | more


def _text(value: Any) -> tuple[str, str]:
    if value is None:
        return "null", "empty"
    if value == REDACTED:
        return "secret, not stored", "redacted"
    if isinstance(value, bool):
        return ("true" if value else "false"), "text"
    if isinstance(value, str):
        if not value:
            return "(empty text)", "empty"
        if len(value) > MAX_VALUE_CHARS:
            return f"{value[:MAX_VALUE_CHARS]}… ({len(value):,} characters)", "text"
        return value, "text"
    if isinstance(value, int | float):
        return str(value), "text"
    return json.dumps(value, ensure_ascii=False, default=str)[:MAX_VALUE_CHARS], "text"


def _walk(value: Any, path: str, out: list[Row]) -> None:
    if len(out) > MAX_ROWS:
        return
    if isinstance(value, dict):
        if not value:
            out.append(Row(path or "(payload)", "(empty)", "empty"))
        for key, inner in value.items():
            _walk(inner, f"{path}.{key}" if path else str(key), out)
        return
    if isinstance(value, list):
        if not value:
            out.append(Row(path, "(empty list)", "empty"))
        elif all(not isinstance(v, dict | list) for v in value):
            shown = [_text(v)[0] for v in value]
            kind = "redacted" if all(v == REDACTED for v in value) else "text"
            out.append(Row(path, ", ".join(shown)[:MAX_VALUE_CHARS], kind))
        else:
            for i, inner in enumerate(value):
                _walk(inner, f"{path}.{i}", out)
        return
    text, kind = _text(value)
    out.append(Row(path or "(value)", text, kind))


@register.filter
def payload_rows(payload: Any) -> list[Row]:
    """(path, value, kind) rows of a payload; past MAX_ROWS a last row says how many fields were left out."""
    rows: list[Row] = []
    _walk(payload, "", rows)
    if len(rows) > MAX_ROWS:
        total = _count_leaves(payload)
        rows = [*rows[:MAX_ROWS], Row("…", f"{total - MAX_ROWS:,} more fields (in the CSV export)", "more")]
    return rows


def _count_leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_leaves(v) for v in value.values()) or 1
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return sum(_count_leaves(v) for v in value) or 1
    return 1
