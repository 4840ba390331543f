"""Callers from call records: one record per caller number, so that a second call from the same number updates
the lead's contact instead of being refused as a duplicate of the first.

Assumed call shape (docs/apps/starbuero.md): {id, call_start, caller_name, caller_number, caller_company,
caller_email, message, transcript, ...}.
"""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors.base import SourceField
from contacts_sync.mapping.errors import TransformError
from contacts_sync.mapping.phones import read_phone

CALLER_FIELDS = [
    SourceField("id", "Caller (E.164 number, or call:<id> without one)"),
    SourceField("caller_number", "Number (as last dialled in)", "phone"),
    SourceField("caller_name", "Name (latest given)"),
    SourceField("caller_company", "Company (latest given)"),
    SourceField("caller_email", "E-mail (latest given)", "email"),
    SourceField("calls", "Calls", "number"),
    SourceField("first_call", "First call", "datetime"),
    SourceField("last_call", "Last call", "datetime"),
    SourceField("last_message", "Last message"),
]
# Fields taken from the latest call that has them (an earlier call may have given a name the latest did not).
LATEST = ("caller_name", "caller_company", "caller_email", "caller_number")


def caller_key(call: dict[str, Any], *, region: str) -> str:
    """The caller's identity: the number in E.164; else "call:<id>". An anonymous call, or one from a number
    libphonenumber cannot read ("12345", "n/a"), is its own caller: junk numbers never merge two people."""
    raw = str(call.get("caller_number") or "").strip()
    if raw:
        try:
            reading = read_phone(raw, row_region=None, default_region=region)
        except TransformError:
            reading = None
        if reading is not None:
            return reading.e164
    return f"call:{call.get('id')}"


def callers_of(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls (each with its `caller_key`) grouped by caller, oldest caller first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for call in sorted(calls, key=lambda c: (str(c.get("call_start") or ""), str(c.get("id")))):
        grouped.setdefault(str(call["caller_key"]), []).append(call)
    out = []
    for key, group in grouped.items():
        record: dict[str, Any] = {
            "id": key,
            "calls": len(group),
            "first_call": group[0].get("call_start"),
            "last_call": group[-1].get("call_start"),
            "last_message": group[-1].get("message") or "",
        }
        for field in LATEST:
            record[field] = next((c.get(field) for c in reversed(group) if c.get(field)), "")
        out.append(record)
    return out
