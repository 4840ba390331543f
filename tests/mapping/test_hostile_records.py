"""Property tests: hostile records (every Unicode category, NUL and control characters, huge values, empty and
wrongly typed fields, lists where text is expected, duplicates differing in case and space) through apply() with
every app's default rules. apply() never raises; every string it writes is clean and within its field's limit;
every failure names a field; a result is either ok with an identity or failed."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_sync.connectors.registry import default_pairs, default_rules
from contacts_sync.mapping import CUSTOM_PREFIX, MappingContext, apply
from contacts_sync.mapping.paths import get_path, is_empty
from contacts_sync.mapping.schema import schema_problems
from contacts_sync.mapping.targets import CUSTOM_FIELD_SPEC, field_specs

# What identifies a written record of each target (at least one must have a value when the result is ok).
IDENTITY = {
    ("ghl", "contact"): ("firstName", "lastName", "name", "email", "phone"),
    ("ghl", "task"): ("title",),
    ("ghl", "note"): ("body",),
    ("hubstaff", "task"): ("summary",),
    ("ghl", "business"): ("name",),
    ("ghl", "bundle"): ("call_at",),
    ("starbuero", "contact"): ("firstname", "lastname", "company", "phoneNumbers"),
    ("upguard", "tag"): ("vendor_primary_hostname",),
    ("custom", "webhook"): ("id",),
}
# Characters that may stay: ZWJ and ZWNJ (emoji sequences, Persian and Indic words), emoji tag characters.
KEPT_FORMAT = {"\u200c", "\u200d", *map(chr, range(0xE0020, 0xE0080))}

any_char = st.characters(codec=None, categories=None)  # every category, surrogates and private use included
controls = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x1b",
        "\x7f",
        "\x85",
        "\t",
        "\n",
        "\r\n",
        "\u2028",
        "\u200b",
        "\ufeff",
        "\u202e",
        "\ud800",
        "\ue000",
        "\u00ad",
    ]
)
words = st.sampled_from(
    [
        "Jane",
        "jane ",
        " JANE",
        "Müller",
        "Zoë",
        "O'Brien",
        "vip",
        "VIP",
        " v i p ",
        "gold",
        "a@example.com",
        "A@Example.COM ",
        "+49 30 2270",
        "0049 30 2270",
        "n/a",
        "2024-05-01",
        "<p>Hi</p>",
        "completed",
        "closed",
        "2024-05-01T10:00:00Z",
        "1714561200",
        "",
        " ",
    ]
)
hostile_text = st.one_of(
    st.text(any_char, max_size=40),
    st.lists(st.one_of(words, controls, st.text(any_char, max_size=3)), max_size=12).map("".join),
    st.builds(lambda chunk, n: chunk * n, st.one_of(words, controls), st.integers(200, 3000)),  # huge values
)
wrong_types = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.just(""),
        st.just({}),
        st.just([]),
    ),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(any_char, max_size=6), inner, max_size=3),
    max_leaves=10,
)
# Lists of one word written in many spellings (tags, labels, emails).
duplicates = st.lists(words, min_size=1, max_size=8)
# Mostly text (so records get through and their text is checked), often wrongly typed or empty.
hostile_value = st.one_of(hostile_text, hostile_text, words, words, duplicates, wrong_types)


# Values that fit what a path holds, dressed in control characters, odd spacing and case: they get past the
# transforms (an email rule refuses a name), so the output's cleaning and limits are what gets tested.
def _dressed(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.one_of(controls, st.just(" "), st.just("")), core, st.one_of(controls, st.just("  "))).map(
        "".join
    )


emails = _dressed(st.sampled_from(["jane@example.com", "A@Example.COM", "o'brien.x@firma.example"]))
phones = _dressed(st.sampled_from(["+49 30 2270", "0049 (0)30 227-0", "(202) 456-1111 ext. 12", "n/a", "12345"]))
dates = st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01", "1714561200", "01/05/2024 10:00"])


def plausible_for(path: str) -> st.SearchStrategy[Any]:
    name = path.lower()
    if "email" in name:
        return emails
    if "phone" in name or "number" in name:
        return phones
    if "date" in name or name.endswith("_at") or "detected" in name or "occurred" in name or "start" in name:
        return dates
    if name in ("status", "completed"):
        return st.sampled_from(["completed", "closed", "active", " COMPLETED "])
    if name in ("labels", "tags", "metadata", "social_network"):
        return duplicates
    return hostile_text


def source_paths(rules: list[dict[str, Any]]) -> list[str]:
    """Every alternative source path the rules read (sources and template placeholders)."""
    import re

    paths: list[str] = []
    for rule in rules:
        found = [rule["source"]] if rule.get("source") else re.findall(r"\{([^{}]*)\}", rule.get("template") or "")
        for path in found:
            paths.extend(p.strip() for p in path.split("|") if p.strip())
    return sorted(set(paths))


def put(record: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted path, making objects and lists on the way (emails.0 makes a list)."""
    parts = path.replace("[", ".").replace("]", "").split(".")
    node: Any = record
    for part, nxt in zip(parts, [*parts[1:], None], strict=True):
        last = nxt is None
        if isinstance(node, list):
            index = int(part) if part.lstrip("-").isdigit() else 0
            while len(node) <= index:
                node.append(None)
            if last:
                node[index] = value
                return
            if not isinstance(node[index], dict | list):
                node[index] = [] if nxt.isdigit() else {}
            node = node[index]
            continue
        if last:
            node[part] = value
            return
        if not isinstance(node.get(part), dict | list):
            node[part] = [] if nxt.isdigit() else {}
        node = node[part]


def records_for(rules: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    paths = source_paths(rules)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for path in draw(st.lists(st.sampled_from(paths), unique=True, max_size=len(paths))):
            value = draw(st.one_of(plausible_for(path), plausible_for(path), plausible_for(path), hostile_value))
            try:
                put(record, path, value)
            except (TypeError, ValueError, AttributeError):
                continue  # a path whose prefix already holds a scalar: the record keeps the first value
        return record

    return build()


def strings_in(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, list | tuple):
        return [s for i, v in enumerate(value) for s in strings_in(v, where)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(v, where)]
    return []


def assert_clean(payload: dict[str, Any], specs: dict[str, Any], *, written: bool) -> None:
    """No control/invisible characters anywhere; for a payload that will be written (ok), every text also
    within its field's limit (a failed one may hold a wrongly typed value, which the schema check refused)."""
    fields: list[tuple[str, Any]] = []
    for key, value in payload.items():
        if key == "customFields":
            fields += [(CUSTOM_PREFIX + str(e.get("key") or e.get("id")), e.get("field_value")) for e in value]
        elif isinstance(value, dict):  # a dotted target (metadata.ghl_contact_id)
            fields += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            fields.append((key, value))
    for name, value in fields:
        spec = CUSTOM_FIELD_SPEC if name.startswith(CUSTOM_PREFIX) else specs.get(name)
        assert spec is not None, f"{name} is not a field of the target"
        for _, text in strings_in(value, name):
            allowed = {"\n", "\t"} if spec.multiline else set()
            bad = [
                c
                for c in text
                if c not in allowed and c not in KEPT_FORMAT and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co")
            ]
            assert not bad, f"{name} keeps {bad[:5]!r}"
            assert text == text.strip(), f"{name} keeps surrounding whitespace"
            if not spec.multiline:
                assert "  " not in text and "\n" not in text, f"{name} is not one clean line"
            if spec.max_length is not None and (written or isinstance(value, str) or spec.type == "list"):
                assert len(text) <= spec.max_length, f"{name} is {len(text)} > {spec.max_length}"


PAIRS = [pair for pair in default_pairs()]


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
def test_hostile_records_through_the_default_rules_come_out_clean_or_fail_naming_a_field(
    pair: tuple[str, str, str, str],
) -> None:
    rules = default_rules(*pair)
    target = (pair[2], pair[3])
    ctx = MappingContext(default_region="US", target_provider=pair[2], target_object=pair[3])
    specs = field_specs(*target)
    identity = IDENTITY[target]

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records_for(rules))
    def check(record: dict[str, Any]) -> None:
        result = apply(record, rules, context=ctx)  # never raises
        for problem in [*result.problems, *result.warnings]:
            assert isinstance(problem.field, str) and problem.field.strip(), problem
            assert problem.reason.strip(), problem
        if result.ok:
            assert any(not is_empty(get_path(result.payload, f)) for f in identity), result.payload
            assert list(schema_problems(*target, result.payload)) == []
        else:
            assert result.problems
        assert_clean(result.payload, specs, written=result.ok)
        for note in result.phones:
            assert note.output is None or note.output.startswith("+")

    check()
