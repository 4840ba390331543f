"""Verified delivery: written records read back from the target and compared with what was sent (pure parts).

The sample is min(VERIFY_MAX, VERIFY_SHARE of the written records), at least one. Values are compared after the
target's own formatting is normalised away (case of emails, phone punctuation, whitespace, date precision, tag
order); fields a run item does not keep (redacted or cut) and pseudo-fields (a contact's note) are not compared.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from .redaction import MAX_STRING, REDACTED

VERIFY_MAX = 50
VERIFY_SHARE = 0.02
# Keys of a payload that are instructions to the writer, not fields the target stores as sent.
NOT_STORED = frozenset({"note", "locationId", "createNewIfDuplicateAllowed", "project_id"})
CASE_INSENSITIVE = frozenset({"email"})
SHOWN_MAX = 120


def sample_size(written: int) -> int:
    if written <= 0:
        return 0
    return max(1, min(VERIFY_MAX, math.ceil(written * VERIFY_SHARE)))


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(microsecond=0)


def _norm(key: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        moment = _moment(value)
        if moment is not None:
            return moment if "T" in value else moment.date()
        text = " ".join(value.split())
        if key == "phone" or key.endswith("phone"):
            return re.sub(r"[^\d+]", "", text)
        return text.lower() if key in CASE_INSENSITIVE else text
    return value


def _cut(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= MAX_STRING and value.endswith("...")


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + "..."


def differences(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """ "field X sent A, target has B" for every stored field that is not what was sent."""
    out: list[str] = []
    for key, value in sent.items():
        if key in NOT_STORED or value in (None, "", [], {}) or value == REDACTED or _cut(value):
            continue
        if isinstance(value, dict):
            continue  # nested structures (custom fields, metadata) are stored in the target's own shape
        have = stored.get(key)
        if isinstance(value, list):
            wanted = {str(v).strip().lower() for v in value}
            present = {str(v).strip().lower() for v in (have or [])} if isinstance(have, list) else set()
            missing = sorted(wanted - present)
            if missing:
                out.append(f"field {key} sent {_show(sorted(wanted))}, target lacks {_show(missing)}")
            continue
        if _norm(key, value) != _norm(key, have):
            out.append(f"field {key} sent {_show(value)}, target has {_show(have)}")
    return out
