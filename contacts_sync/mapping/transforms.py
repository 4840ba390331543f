"""The transforms a mapping rule can chain, by name. Each takes (value, args, context) and returns the new
value or raises TransformError with a reason a person can act on; nothing else escapes (property-tested).

`None` means "no value": most transforms pass it through; the engine then applies the rule's default /
required flag. Libraries own the formats: phonenumbers (E.164), email-validator, python-dateutil.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import phonenumbers
from email_validator import EmailNotValidError

from .emails import email_normalized, remember_valid
from .errors import MappingError, TransformError
from .formats import scalar_text as _scalar_text
from .formats import t_date, t_datetime, t_html_to_text
from .phones import PhoneReading, read_phone
from .text import clean_text
from .types import MappingContext

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

    def __call__(self, value: Any, args: dict[str, Any] | None = None, context: MappingContext | None = None) -> Any:
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


def _coerce(arg: Arg, raw: Any) -> Any:  # noqa: C901 - one flat branch per argument kind
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
            raise MappingError(f"{arg.label} {str(raw)[:10]!r} is not a two-letter country code like US or DE")
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


def _each_text(value: Any, func: Callable[[str], str]) -> Any:
    """Apply a string function to a value or to every item of a list of scalars."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [func(_scalar_text(v)) for v in value if v is not None]
    return func(_scalar_text(value))


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


# ---------------------------------------------------------------- contact formats


def phone_reading(value: Any, args: dict[str, Any], ctx: MappingContext) -> PhoneReading | None:
    """How the e164 transform reads a value (the engine keeps it for the preview); see phones.py."""
    return read_phone(value, row_region=args.get("region"), default_region=ctx.default_region)


def t_e164(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    reading = phone_reading(value, args, ctx)
    return None if reading is None else reading.e164


def t_email(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TransformError(f"expected an email address, got a {type(value).__name__}", value)
    # A NUL or zero-width space pasted into an address must not cost the record its email.
    text = clean_text(value, multiline=False)[0]
    if text[:7].lower() == "mailto:":  # exports of mail links: "mailto:jane@example.com"
        text = text[7:].strip()
    if not text:
        return None
    try:
        normalized = email_normalized(text)  # email-validator, no DNS, remembered per process
    except EmailNotValidError as exc:
        raise TransformError(f"not a valid email address ({exc})", value) from None
    out = normalized.lower() if args["lowercase"] else normalized
    if out.isascii():  # lowercasing ASCII atext keeps an address valid: the schema check need not redo it
        remember_valid(out)
    return out


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


# Complexity 14: one flat branch per input shape (a list, a text, key/value metadata).
def t_to_tags(value: Any, args: dict[str, Any], ctx: MappingContext) -> Any:  # noqa: C901
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
    excluded = {t.strip().casefold() for t in str(args.get("exclude") or "").split(",") if t.strip()}
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
        if tag and tag.casefold() not in excluded:
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
            help="+4930123456 style, checked with libphonenumber. +, 00 and 011 prefixes are international; "
            "other numbers are read in this country, else the connection's default region.",
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
                Arg("exclude", "Leave out (comma-separated, any case)", "text", ""),
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
