"""What a run item may show of a record: secrets and fields marked sensitive are replaced by a marker."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
# Keys that are secrets wherever they appear (case-insensitive, substring match on the normalised key).
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "private_key",
    "ssn",
    "credit_card",
    "card_number",
    "iban",
    "cvv",
)
# GHL contact fields that are personal data beyond what a run history needs (see ghl-api.md entity shapes).
SENSITIVE_TARGET_FIELDS = frozenset({"ssn", "dateOfBirth"})
# A payload is never stored bigger than this many characters per string value (a note may be a transcript).
MAX_STRING = 2000


@lru_cache(maxsize=4096)  # a pure answer per key name; every record of a sync repeats the same few keys
def _secret_key(key: str) -> bool:
    k = re.sub(r"[^a-z_]", "", key.lower())
    return any(part in k for part in SECRET_KEY_PARTS)


class Redactor:
    """Built per run from the source connector's sensitive field paths and the mapping rules."""

    def __init__(self, *, sensitive_source_paths: Iterable[str] = (), rules: Iterable[dict[str, Any]] = ()) -> None:
        self.source_paths = {p for p in sensitive_source_paths if p}
        self.target_fields = set(SENSITIVE_TARGET_FIELDS)
        for rule in rules:
            src = rule.get("source") or ""
            if rule.get("sensitive") or any(src == p or src.startswith(p + ".") for p in self.source_paths):
                if rule.get("target"):
                    self.target_fields.add(str(rule["target"]))

    def source(self, record: dict[str, Any]) -> dict[str, Any]:
        return _walk_object(record, "", self.source_paths)

    def payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        return _walk_object(payload, "", self.target_fields)


def _walk_object(value: dict[str, Any], path: str, sensitive: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in value.items():
        sub = f"{path}.{k}" if path else str(k)
        if sub in sensitive or _secret_key(str(k)):
            out[k] = REDACTED
        else:
            out[k] = _walk(v, sub, sensitive)
    return out


def _walk(value: Any, path: str, sensitive: set[str]) -> Any:
    if isinstance(value, dict):
        return _walk_object(value, path, sensitive)
    if isinstance(value, list):
        return [
            _walk(v, f"{path}.{i}", sensitive) if f"{path}.{i}" not in sensitive else REDACTED
            for i, v in enumerate(value)
        ]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[:MAX_STRING] + "..."
    return value
