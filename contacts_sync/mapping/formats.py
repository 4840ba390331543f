"""The transforms that read formats: dates (python-dateutil) and HTML (html.parser). See transforms.py."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, tzinfo
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser

from .errors import TransformError
from .types import MappingContext

# Numbers at least this large are epoch milliseconds, not seconds (1e11 s is the year 5138).
EPOCH_MS_THRESHOLD = 100_000_000_000
# A digits-only string this long is an epoch timestamp; shorter ones (20240131) are compact dates.
EPOCH_MIN_DIGITS = 9


def scalar_text(value: Any, what: str = "text") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TransformError(f"expected {what}, got {value!r}", value)
        return repr(value) if not value.is_integer() else str(int(value))
    raise TransformError(f"expected {what}, got a {type(value).__name__}", value)


def _zone(context: MappingContext) -> tzinfo:
    try:
        return ZoneInfo(context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise TransformError(f"unknown time zone {context.timezone!r}") from None


# ---------------------------------------------------------------- dates


def parse_datetime(value: Any, ctx: MappingContext, *, dayfirst: bool = False) -> datetime:
    """Any common date/datetime shape -> an aware datetime (naive ones are in the context's time zone)."""
    zone = _zone(ctx)
    try:
        if isinstance(value, bool):
            raise TransformError("expected a date, got true/false", value)
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        elif isinstance(value, int | float) or (
            isinstance(value, str) and value.strip().isdigit() and len(value.strip()) >= EPOCH_MIN_DIGITS
        ):
            number = float(value)
            if not math.isfinite(number):
                raise TransformError(f"not a date: {value!r}", value)
            if abs(number) >= EPOCH_MS_THRESHOLD:
                number /= 1000
            parsed = datetime.fromtimestamp(number, tz=UTC)
        elif isinstance(value, str):
            if not value.strip():
                raise TransformError("empty date", value)
            parsed = date_parser.parse(value.strip(), dayfirst=dayfirst)
        else:
            raise TransformError(f"expected a date, got a {type(value).__name__}", value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        parsed.utcoffset()  # raises for out-of-range local times
        return parsed
    except TransformError:
        raise
    except (ValueError, OverflowError, OSError, TypeError, ArithmeticError) as exc:
        reason = str(exc).split(":")[0] if str(exc) else type(exc).__name__
        raise TransformError(f"not a date we can read ({reason})", value) from None


def _iso_utc(moment: datetime, with_ms: bool) -> str:
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise TransformError("date out of range", moment.isoformat()) from None
    base = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    return f"{base}.{utc.microsecond // 1000:03d}Z" if with_ms else f"{base}Z"


def t_datetime(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    """GHL task dueDate etc.: ISO 8601 in UTC without milliseconds (GHL rejects some ms forms on update)."""
    if value is None:
        return None
    moment = parse_datetime(value, ctx, dayfirst=args["dayfirst"])
    if args["output"] == "epoch_ms":
        try:
            return int(moment.timestamp() * 1000)
        except (OverflowError, ValueError):
            raise TransformError("date out of range", value) from None
    return _iso_utc(moment, args["output"] == "iso_ms")


def t_date(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    """GHL dateOfBirth and date custom fields: YYYY-MM-DD (the calendar date where the record lives)."""
    if value is None:
        return None
    moment = parse_datetime(value, ctx, dayfirst=args["dayfirst"])
    try:
        local = moment.astimezone(_zone(ctx))
    except (OverflowError, ValueError):
        local = moment
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"


# ---------------------------------------------------------------- HTML


class _TextExtractor(HTMLParser):
    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
    }
    SKIP = {"script", "style", "head", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def t_html_to_text(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    extractor = _TextExtractor()
    try:
        extractor.feed(scalar_text(value, "HTML text"))
        extractor.close()
    except (AssertionError, ValueError) as exc:  # very old html.parser versions assert on broken markup
        raise TransformError(f"unreadable HTML: {exc}", value) from None
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip() or None
