"""The transforms a mapping rule can chain, by name. Each takes (value, args, context) and returns the new
value or raises TransformError with a reason a person can act on; nothing else escapes (property-tested).

`None` means "no value": most transforms pass it through; the engine then applies the rule's default /
required flag. Libraries own the formats: phonenumbers (E.164), email-validator, python-dateutil.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from html.parser import HTMLParser
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dateutil import parser as date_parser  # type: ignore[import-untyped]
from email_validator import EmailNotValidError, validate_email

from .errors import MappingError, TransformError
from .types import MappingContext

# Numbers at least this large are epoch milliseconds, not seconds (1e11 s is the year 5138).
EPOCH_MS_THRESHOLD = 100_000_000_000
# A digits-only string this long is an epoch timestamp; shorter ones (20240131) are compact dates.
EPOCH_MIN_DIGITS = 9
# Upper bound for truncate's length: GHL text fields are far shorter; this only stops nonsense input.
TRUNCATE_MAX = 100_000


@dataclass(frozen=True)
class Arg:
    name: str
    label: str
    kind: str = "text"  # text | int | bool | choice | map | region
    default: Any = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    required: bool = False


@dataclass(frozen=True)
class Transform:
    name: str
    label: str
    func: Callable[[Any, dict[str, Any], MappingContext], Any]
    args: tuple[Arg, ...] = ()
    help: str = ""
    output: str = "string"  # the type it produces, for the editor's hints
    arg_index: dict[str, Arg] = field(default_factory=dict, compare=False, repr=False)
    do_not_call_in_templates: ClassVar[bool] = True  # templates read .label etc.; they must not call it

    def __post_init__(self) -> None:
        self.arg_index.update({a.name: a for a in self.args})

    def __call__(
        self, value: Any, args: dict[str, Any] | None = None, context: MappingContext | None = None
    ) -> Any:
        return self.func(value, coerce_args(self, args), context or MappingContext())


# ---------------------------------------------------------------- argument coercion (editor posts strings)

_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}


def parse_map_text(text: str) -> dict[str, Any]:
    """`active = false` lines (or a JSON object) -> dict; right-hand sides are JSON when they parse."""
    text = text.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise MappingError(f"the value map is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise MappingError("the value map must be an object of from -> to")
        return {str(k): v for k, v in loaded.items()}
    result: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sep = "=>" if "=>" in line else "="
        if sep not in line:
            raise MappingError(f"value map line {number} needs 'from = to': {line.strip()[:60]!r}")
        key, _, raw = line.partition(sep)
        raw = raw.strip()
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        result[key.strip()] = value
    return result


def format_map_text(mapping: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {json.dumps(v) if not isinstance(v, str) else v}" for k, v in mapping.items())


def _coerce(arg: Arg, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and arg.kind not in ("text", "bool")):
        if arg.required:
            raise MappingError(f"{arg.label} is required")
        return arg.default
    if arg.kind == "int":
        if isinstance(raw, bool):
            raise MappingError(f"{arg.label} must be a whole number")
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise MappingError(f"{arg.label} must be a whole number, not {str(raw)[:40]!r}") from None
        if not 1 <= number <= TRUNCATE_MAX:
            raise MappingError(f"{arg.label} must be between 1 and {TRUNCATE_MAX}")
        return number
    if arg.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise MappingError(f"{arg.label} must be true or false")
    if arg.kind == "choice":
        allowed = [c for c, _ in arg.choices]
        if str(raw) not in allowed:
            raise MappingError(f"{arg.label} must be one of {', '.join(allowed)}")
        return str(raw)
    if arg.kind == "region":
        region = str(raw).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise MappingError(
                f"{arg.label} {str(raw)[:10]!r} is not a two-letter country code like US or DE"
            )
        return region
    if arg.kind == "map":
        if isinstance(raw, dict):
            return {str(k): v for k, v in raw.items()}
        if isinstance(raw, str):
            return parse_map_text(raw)
        raise MappingError(f"{arg.label} must be from -> to pairs")
    text = raw if isinstance(raw, str) else str(raw)
    if arg.required and not text.strip():
        raise MappingError(f"{arg.label} is required")
    return text


def coerce_args(transform: Transform, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Checked, typed arguments (defaults filled in); MappingError names the bad argument."""
    if raw is not None and not isinstance(raw, dict):
        raise MappingError(f"the options of {transform.label} must be a mapping")
    raw = raw or {}
    return {arg.name: _coerce(arg, raw.get(arg.name)) for arg in transform.args}


# ---------------------------------------------------------------- helpers


def _scalar_text(value: Any, what: str = "text") -> str:
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


def _each_text(value: Any, func: Callable[[str], str]) -> Any:
    """Apply a string function to a value or to every item of a list of scalars."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [func(_scalar_text(v)) for v in value if v is not None]
    return func(_scalar_text(value))


def _zone(context: MappingContext) -> tzinfo:
    try:
        return ZoneInfo(context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise TransformError(f"unknown time zone {context.timezone!r}") from None


# ---------------------------------------------------------------- text


def t_trim(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    def clean(text: str) -> str:
        if not args["collapse"]:
            return text.strip()
        return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())  # line breaks stay

    return _each_text(value, clean)


def t_lower(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    return _each_text(value, str.lower)


def t_upper(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    return _each_text(value, str.upper)


def t_title(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    return _each_text(value, lambda s: " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" ")))


def t_to_text(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return (args["separator"] or ", ").join(_scalar_text(v) for v in value if v is not None)
    return _scalar_text(value)


def t_split_name(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    """'Jane Q. Doe' -> first 'Jane', last 'Q. Doe'; 'Doe, Jane' -> first 'Jane', last 'Doe'."""
    if value is None:
        return None
    text = " ".join(_scalar_text(value, "a name").split())
    if "," in text:
        last, _, first = text.partition(",")
    else:
        first, _, last = text.partition(" ")
    part = (first if args["part"] == "first" else last).strip()
    return part or None


def t_join(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        return _scalar_text(value)
    parts = [_scalar_text(v).strip() for v in value if v is not None]
    return args["separator"].join(p for p in parts if p) or None


def t_truncate(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    text = _scalar_text(value)
    length = args["length"]
    if len(text) <= length:
        return text
    if args["ellipsis"]:
        return text[: max(length - 1, 0)] + "…"
    return text[:length]


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
        extractor.feed(_scalar_text(value, "HTML text"))
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


# ---------------------------------------------------------------- contact formats


def t_e164(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TransformError(f"expected a phone number, got a {type(value).__name__}", value)
    text = str(value).strip()
    if not text:
        return None
    region = args["region"] or (ctx.default_region or "").upper() or None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        region = None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise TransformError(f"not a phone number ({exc._msg})", value) from None
    if not phonenumbers.is_valid_number(number):
        hint = f" for region {region}" if region and not text.startswith("+") else ""
        raise TransformError(f"not a valid phone number{hint}", value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def t_email(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TransformError(f"expected an email address, got a {type(value).__name__}", value)
    text = value.strip()
    if not text:
        return None
    try:
        # No DNS: a sync must not depend on (or leak to) the resolver; deliverability is GHL's business.
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise TransformError(f"not a valid email address ({exc})", value) from None
    normalized = result.normalized
    return normalized.lower() if args["lowercase"] else normalized


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


# ---------------------------------------------------------------- values, booleans, tags


def _map_key(value: Any, ignore_case: bool) -> str:
    text = _scalar_text(value, "a single value").strip()
    return text.lower() if ignore_case else text


def t_value_map(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    mapping: dict[str, Any] = args["map"] or {}
    ignore_case = args["ignore_case"]
    table = {(k.strip().lower() if ignore_case else k.strip()): v for k, v in mapping.items()}
    key = "" if value is None else _map_key(value, ignore_case)
    if key in table:
        return table[key]
    if args["otherwise"] == "error":
        raise TransformError(f"{key[:60]!r} is not in the value map ({', '.join(list(mapping)[:8])})", value)
    if args["otherwise"] == "empty":
        return None
    return value


def t_equals(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    """True when the value equals the given text (e.g. Hubstaff status == completed -> GHL completed)."""
    if value is None:
        return False
    wanted = args["value"] or ""
    if args["ignore_case"]:
        return _map_key(value, True) == wanted.strip().lower()
    return _map_key(value, False) == wanted.strip()


def t_to_bool(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None or isinstance(value, bool):
        return value
    text = _map_key(value, True)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"{text[:40]!r} is not yes/no", value)


def t_to_tags(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    """A list (or a comma-separated text, or key/value metadata) -> clean, de-duplicated GHL tags.

    Metadata such as Hubstaff's ({"tier": "gold"} or [{"key": "tier", "value": "gold"}]) becomes "tier:gold".
    """
    if value is None:
        return None
    if isinstance(value, str):
        items: list[Any] = value.split(args["separator"] or ",")
    elif isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, dict):
        items = [{"key": k, "value": v} for k, v in value.items()]
    else:
        items = [value]
    tags: list[str] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict) and "key" in item and "value" in item:
            if item["value"] in (None, ""):
                continue
            item = f"{_scalar_text(item['key'], 'tag key')}:{_scalar_text(item['value'], 'tag value')}"
        elif isinstance(item, dict):
            item = item.get("name", item.get("label", item.get("value")))
            if item is None:
                raise TransformError("a tag object needs a name, label or value", value)
        tag = " ".join(_scalar_text(item, "tag text").split())
        if args["lowercase"]:
            tag = tag.lower()
        if tag:
            tag = f"{args['prefix'] or ''}{tag}"
            if tag not in tags:
                tags.append(tag)
    return tags


# ---------------------------------------------------------------- the registry

_DATE_ARGS = (Arg("dayfirst", "Day before month (31/12/2024)", "bool", False),)

REGISTRY: dict[str, Transform] = {
    t.name: t
    for t in [
        Transform("trim", "Trim spaces", t_trim, (Arg("collapse", "Collapse inner spaces", "bool", True),)),
        Transform("lower", "lower case", t_lower),
        Transform("upper", "UPPER CASE", t_upper),
        Transform("title", "Title Case", t_title),
        Transform("to_text", "To text", t_to_text, (Arg("separator", "List separator", "text", ", "),)),
        Transform(
            "split_name",
            "Split full name",
            t_split_name,
            (Arg("part", "Part", "choice", "first", (("first", "first name"), ("last", "last name"))),),
            help="'Jane Q. Doe' gives first 'Jane', last 'Q. Doe'; 'Doe, Jane' is understood too.",
        ),
        Transform("join", "Join list", t_join, (Arg("separator", "Separator", "text", " "),)),
        Transform(
            "e164",
            "Phone to E.164",
            t_e164,
            (
                Arg(
                    "region",
                    "Default country",
                    "region",
                    None,
                    help="Two letters (US, DE); empty = the connection's default region",
                ),
            ),
            help="+4930123456 style, checked with libphonenumber.",
            output="phone",
        ),
        Transform(
            "email",
            "Email: check + normalise",
            t_email,
            (Arg("lowercase", "Lower-case it", "bool", True),),
            output="email",
        ),
        Transform(
            "datetime",
            "Date-time to GHL (ISO, UTC)",
            t_datetime,
            (
                *_DATE_ARGS,
                Arg(
                    "output",
                    "Format",
                    "choice",
                    "iso",
                    (
                        ("iso", "2024-05-01T13:00:00Z"),
                        ("iso_ms", "2024-05-01T13:00:00.000Z"),
                        ("epoch_ms", "epoch milliseconds"),
                    ),
                ),
            ),
            output="datetime",
        ),
        Transform("date", "Date to GHL (YYYY-MM-DD)", t_date, _DATE_ARGS, output="date"),
        Transform(
            "value_map",
            "Map values",
            t_value_map,
            (
                Arg("map", "from = to (one per line)", "map", None, required=True),
                Arg(
                    "otherwise",
                    "Values not in the map",
                    "choice",
                    "keep",
                    (("keep", "keep as is"), ("empty", "leave empty"), ("error", "are an error")),
                ),
                Arg("ignore_case", "Ignore case", "bool", True),
            ),
        ),
        Transform(
            "equals",
            "Is equal to (yes/no)",
            t_equals,
            (
                Arg("value", "Value", "text", "", required=True),
                Arg("ignore_case", "Ignore case", "bool", True),
            ),
            output="bool",
        ),
        Transform("to_bool", "To yes/no", t_to_bool, output="bool"),
        Transform(
            "to_tags",
            "List to tags",
            t_to_tags,
            (
                Arg("prefix", "Prefix", "text", ""),
                Arg("lowercase", "Lower-case", "bool", False),
                Arg("separator", "Separator in text", "text", ","),
            ),
            output="list",
        ),
        Transform("html_to_text", "HTML to text", t_html_to_text, output="text"),
        Transform(
            "truncate",
            "Truncate",
            t_truncate,
            (Arg("length", "Max length", "int", 255), Arg("ellipsis", "End with …", "bool", False)),
        ),
    ]
}


def run_transform(name: str, value: Any, args: dict[str, Any] | None, context: MappingContext) -> Any:
    """Run one named transform; unknown names and bad options are MappingErrors like bad data."""
    transform = REGISTRY.get(name) if isinstance(name, str) else None
    if transform is None:
        raise MappingError(f"unknown transform {name!r}")
    return transform.func(value, coerce_args(transform, args), context)
