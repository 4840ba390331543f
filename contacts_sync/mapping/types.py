"""Plain data the mapping engine takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .text import clean_text

# rule_index of a problem that belongs to the whole mapping (e.g. a required target no rule fills).
WHOLE_MAPPING = -1
# A rule's target naming a GHL custom field: customField.<id> or customField.<key such as contact.industry>.
CUSTOM_PREFIX = "customField."

# Kinds of warning (Problem.kind): the record still goes, the run item says what changed on the way.
WARN_SKIPPED = "skipped"  # a value a rule with on_invalid="skip" left out
WARN_CUT = "cut"  # a text longer than the target field keeps, cut to its limit
WARN_CLEANED = "cleaned"  # control or invisible characters removed, an extension dropped from a phone


@dataclass(frozen=True)
class MappingContext:
    default_region: str = "US"  # for phone numbers written without a country code
    timezone: str = "UTC"  # for dates written without an offset
    now: datetime | None = None  # not used for output (content hashes must be stable); for tests
    # What the payload is written to (targets.target_fields names both): it picks each field's length limit and
    # whether it keeps line breaks, the identity rule and the schema the payload is checked against before the
    # call. An empty target_object means "unknown": text is still cleaned, but nothing is cut or checked.
    target_provider: str = "ghl"
    target_object: str = ""


@dataclass(frozen=True)
class Problem:
    field: str  # the target field (or "source"/"transforms" for rule-level problems without a target)
    value: Any
    reason: str
    rule_index: int = WHOLE_MAPPING  # 0-based row in the rules; WHOLE_MAPPING when no single row is at fault
    part: str = ""  # the part of the row at fault: source / target / transforms ("" = the data)
    kind: str = ""  # warnings only: WARN_SKIPPED / WARN_CUT / WARN_CLEANED

    @property
    def row(self) -> int | None:
        """1-based row number for people, None for problems of the whole mapping."""
        return None if self.rule_index < 0 else self.rule_index + 1

    @property
    def left_out(self) -> bool:
        """A warning whose value is missing from the payload (as opposed to written in a changed form)."""
        return self.kind == WARN_SKIPPED

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": _jsonable(self.value),
            "reason": self.reason,
            "rule_index": self.rule_index,
            "part": self.part,
            "kind": self.kind,
        }

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row else ""
        return f"{where}{self.field}: {self.reason}"


@dataclass(frozen=True)
class PhoneNote:
    """What one phone input became (the preview shows these): output is None when it was left out or refused."""

    field: str  # the target field
    input: Any  # the value the e164 step was given
    output: str | None  # the E.164 number written
    how: str  # "international (00 prefix)", "national, read as DE (the row's region)", or why it was refused
    rule_index: int = WHOLE_MAPPING

    def __str__(self) -> str:
        return f"{self.field}: {self.input!r} -> {self.output or 'not written'} ({self.how})"


@dataclass
class MappingResult:
    payload: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    # What changed on the way without failing the record: values a rule with on_invalid="skip" left out, texts
    # cut to the target's limit, characters removed (Problem.kind says which; the run item shows them).
    warnings: list[Problem] = field(default_factory=list)
    # Every phone input an e164 step saw and what it became, in row order (for the preview).
    phones: list[PhoneNote] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def reasons(self) -> str:
        """Every problem on one line each: what a failed run item stores as its error message."""
        return "\n".join(_line(str(p)) for p in self.problems)

    def warning_text(self) -> str:
        """Every warning on one line each (empty when nothing was changed or skipped)."""
        return "\n".join(_line(f"skipped {p}" if p.left_out else str(p)) for p in self.warnings)


def _line(text: str) -> str:
    # A reason may quote a value: no NUL or control character may reach the database (PostgreSQL refuses NUL).
    return clean_text(text, multiline=False)[0]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
