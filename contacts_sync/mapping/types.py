"""Plain data the mapping engine takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# rule_index of a problem that belongs to the whole mapping (e.g. a required target no rule fills).
WHOLE_MAPPING = -1


@dataclass(frozen=True)
class MappingContext:
    default_region: str = "US"  # for phone numbers written without a country code
    timezone: str = "UTC"  # for dates written without an offset
    now: datetime | None = None  # not used for output (content hashes must be stable); for tests


@dataclass(frozen=True)
class Problem:
    field: str  # the target field (or "source"/"transforms" for rule-level problems without a target)
    value: Any
    reason: str
    rule_index: int = WHOLE_MAPPING  # 0-based row in the rules; WHOLE_MAPPING when no single row is at fault
    part: str = ""  # the part of the row at fault: source / target / transforms ("" = the data)

    @property
    def row(self) -> int | None:
        """1-based row number for people, None for problems of the whole mapping."""
        return None if self.rule_index < 0 else self.rule_index + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": _jsonable(self.value),
            "reason": self.reason,
            "rule_index": self.rule_index,
            "part": self.part,
        }

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row else ""
        return f"{where}{self.field}: {self.reason}"


@dataclass
class MappingResult:
    payload: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    # Values a rule with on_invalid="skip" left out of the payload: the record still goes, these say what is
    # missing from it and why (the run item shows them).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def reasons(self) -> str:
        """Every problem on one line each: what a failed run item stores as its error message."""
        return "\n".join(str(p) for p in self.problems)

    def warning_text(self) -> str:
        """Every skipped value on one line each (empty when nothing was skipped)."""
        return "\n".join(f"skipped {p}" for p in self.warnings)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
