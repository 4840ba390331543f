"""The audit page: entries filtered by actor, object type, action and date, newest first; CSV rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from contacts_sync.models import AuditEntry

# The actor filter's value for entries no person made (token refreshes, the periodic check, failed logins).
SYSTEM_ACTOR = "system"
# A cell of the CSV that starts with one of these would run as a formula in a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# One change shown on the page is cut here; the CSV keeps the whole JSON.
CHANGE_TEXT_MAX = 160


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # a user id, SYSTEM_ACTOR, or "" (everyone)
    object_type: str = ""
    object_id: str = ""  # one object's history (with object_type)
    action: str = ""  # an exact action, or a prefix ending in "." ("connection.")
    date_from: date | None = None
    date_to: date | None = None

    def query(self) -> dict[str, str]:
        """The filters as query-string parameters (the pager and the CSV link keep them)."""
        values = {
            "actor": self.actor,
            "type": self.object_type,
            "id": self.object_id,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def audit_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor").order_by("-created_at", "-pk")
    if filters.actor == SYSTEM_ACTOR:
        qs = qs.filter(actor__isnull=True)
    elif filters.actor.isdigit():
        qs = qs.filter(actor_id=int(filters.actor))
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.action.endswith("."):
        qs = qs.filter(action__startswith=filters.action)
    elif filters.action:
        qs = qs.filter(action=filters.action)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:  # the whole "to" day counts
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return qs


@dataclass(frozen=True)
class FilterOptions:
    actors: list[tuple[str, str]]
    object_types: list[str]
    actions: list[str]


def audit_filter_options() -> FilterOptions:
    """Who and what appear in the log (the filters offer only values that match something)."""
    actor_ids = AuditEntry.objects.filter(actor__isnull=False).values_list("actor_id", flat=True).distinct()
    users = get_user_model().objects.filter(pk__in=actor_ids).order_by("email").values_list("pk", "email")
    types = AuditEntry.objects.exclude(object_type="").values_list("object_type", flat=True).distinct()
    actions = AuditEntry.objects.values_list("action", flat=True).distinct()
    return FilterOptions(
        actors=[(str(pk), email) for pk, email in users], object_types=sorted(types), actions=sorted(actions)
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def change_lines(changes: Any) -> list[str]:
    """An entry's changes as short lines: "name: Old → New", "secrets_set: access_token"."""
    if not isinstance(changes, dict):
        return [_text(changes)[:CHANGE_TEXT_MAX]] if changes else []
    lines = []
    for key, value in changes.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            line = f"{key}: {_text(value['from'])} → {_text(value['to'])}"
        elif isinstance(value, list):
            line = f"{key}: {', '.join(_text(v) for v in value)}" if value else f"{key}: –"
        else:
            line = f"{key}: {_text(value)}"
        lines.append(line if len(line) <= CHANGE_TEXT_MAX else line[: CHANGE_TEXT_MAX - 1] + "…")
    return lines


CSV_HEADER = ["time (UTC)", "actor", "action", "object type", "object id", "object", "ip address", "changes"]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def audit_csv_rows(filters: AuditFilters) -> Iterator[list[str]]:
    """The header, then one row per entry (streamed with .iterator(): no page limit, flat memory)."""
    yield CSV_HEADER
    for entry in audit_entries(filters).iterator(chunk_size=2000):
        yield [
            _cell(v)
            for v in (
                entry.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                entry.actor.email if entry.actor_id and entry.actor else SYSTEM_ACTOR,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.object_repr,
                entry.ip_address or "",
                json.dumps(entry.changes, ensure_ascii=False, sort_keys=True, default=str),
            )
        ]
