"""The dashboard's two formats: counts (`number`) and lengths of time (`duration`). Every template uses these.

{% load ui %}
{{ run.read_count|number }}                  12345 -> "12,345"
{{ sync.poll_interval_seconds|duration }}    900 -> "15 min"
{{ run.started_at|duration:run.finished_at }} the time between the two -> "4 min 23 s"
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import template

register = template.Library()

MISSING = "–"  # what a page shows for "no value" (an en dash, as in the tables)
# Units of `duration`, largest first; a duration shows its two largest non-zero units ("2 h 5 min", not "2 h 5 min 7 s").
UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))
SHOWN_UNITS = 2


def _as_number(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return float(value)
    try:
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else float(text)
    except (TypeError, ValueError):
        return None


@register.filter(is_safe=True)
def number(value: Any, decimals: Any = 0) -> str:
    """A count with a comma every three digits: 1234567 -> "1,234,567"; None -> "–".

    `decimals` keeps that many digits after the point (default 0: floats are rounded).
    """
    n = _as_number(value)
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return MISSING if value is None or value == "" else str(value)
    places = _as_number(decimals)
    places = int(places) if isinstance(places, int) and places > 0 else 0
    if isinstance(n, int) and not places:
        return f"{n:,}"
    return f"{n:,.{places}f}"


def _seconds(value: Any, end: Any) -> float | None:
    if isinstance(value, datetime):
        if not isinstance(end, datetime):
            return None
        return (end - value).total_seconds()
    if isinstance(value, timedelta):
        return value.total_seconds()
    n = _as_number(value)
    return None if n is None else float(n)


@register.filter(is_safe=True)
def duration(value: Any, end: Any = None) -> str:
    """A length of time: 0 -> "0 s", 51 -> "51 s", 263 -> "4 min 23 s", 7500 -> "2 h 5 min", None -> "–".

    `value` is seconds (int, float, Decimal), a timedelta, or a start datetime with the end as the argument
    (`{{ run.started_at|duration:run.finished_at }}`; no end yet -> "–"). Seconds are cut, never rounded up, so
    59.9 s is "59 s", not "60 s"; under one second is "< 1 s"; a negative span (clock skew) is "0 s".
    """
    seconds = _seconds(value, end)
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    if 0 < seconds < 1:
        return "< 1 s"
    left = max(0, int(seconds))
    if left == 0:
        return "0 s"
    parts = []
    for size, unit in UNITS:
        amount, left = divmod(left, size)
        if amount:
            parts.append(f"{amount} {unit}")
        elif parts:
            break  # "2 h 5 s" would read oddly: stop at the first gap below the largest unit
        if len(parts) == SHOWN_UNITS:
            break
    return " ".join(parts)
