"""Property tests: every transform, given arbitrary input (and arbitrary options), returns a value or raises
the mapping validation error type; never any other exception."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_sync.mapping import MappingContext, MappingError, TransformError, apply
from contacts_sync.mapping.transforms import REGISTRY, coerce_args, run_transform

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
phone_like = st.text(alphabet="+0123456789 ()-./x", max_size=25)
date_like = st.text(alphabet=string.digits + "-/:.TZ +apmAPMJanFebDec,", max_size=30)
email_like = st.text(alphabet=string.ascii_letters + string.digits + "@._-+ \u00e9\u4e2d", max_size=40)
html_like = st.text(alphabet="<>/!-=\"' abcdiv&#;pscript\n", max_size=60)
any_input = json_like | phone_like | date_like | email_like | html_like

contexts = st.builds(
    MappingContext,
    default_region=st.sampled_from(["US", "DE", "GB", "", "ZZ", "xx"]) | st.text(max_size=4),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Nope/Zone", ""])
    | st.text(max_size=12),
)


def options_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Arbitrary options keyed by the transform's real argument names (plus junk ones)."""
    names = [a.name for a in REGISTRY[name].args] + ["junk"]
    values = (
        scalars
        | st.dictionaries(st.text(max_size=6), scalars, max_size=3)
        | st.sampled_from(
            [
                "first",
                "last",
                "iso",
                "epoch_ms",
                "keep",
                "error",
                "empty",
                "US",
                "10",
                "a = b\nc = true",
                "{}",
            ]
        )
    )
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


def _call(name: str, value: Any, args: Any, ctx: MappingContext) -> Any:
    try:
        return run_transform(name, value, args, ctx)
    except MappingError as exc:
        assert str(exc), "a mapping error must carry a reason"
        return exc


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_input, ctx=contexts)
def test_every_transform_returns_a_value_or_a_validation_error_with_default_options(
    name: str, value: Any, ctx: MappingContext
) -> None:
    args = {"map": "active = false\ncompleted = true"} if name == "value_map" else {}
    if name == "equals":
        args = {"value": "completed"}
    _call(name, value, args, ctx)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=any_input, ctx=contexts)
def test_every_transform_returns_a_value_or_a_validation_error_with_arbitrary_options(
    name: str, data: Any, value: Any, ctx: MappingContext
) -> None:
    args = data.draw(options_for(name) | st.none() | st.integers() | st.text(max_size=5))
    _call(name, value, args, ctx)


@settings(max_examples=200, deadline=None)
@given(value=phone_like, region=st.sampled_from(["US", "DE", "GB"]))
def test_a_phone_either_comes_out_in_e164_or_is_refused(value: str, region: str) -> None:
    result = _call("e164", value, {"region": region}, MappingContext())
    if isinstance(result, str):
        assert result.startswith("+") and result[1:].isdigit()
    else:
        assert result is None or isinstance(result, TransformError)


@settings(max_examples=200, deadline=None)
@given(value=st.datetimes(timezones=st.timezones()))
def test_any_aware_datetime_round_trips_through_the_ghl_format(value: Any) -> None:
    from datetime import UTC, datetime

    result = _call("datetime", value.isoformat(), {}, MappingContext())
    if isinstance(result, str):
        parsed = datetime.strptime(result, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs((parsed - value).total_seconds()) < 1
    else:
        assert isinstance(result, TransformError)  # only near the ends of the calendar


@settings(max_examples=100, deadline=None)
@given(
    record=st.dictionaries(st.text(max_size=6), json_like, max_size=5),
    ctx=contexts,
    names=st.lists(st.sampled_from(sorted(REGISTRY)), max_size=3),
    source=st.text(max_size=12),
)
def test_apply_never_raises_whatever_the_record_and_transform_chain(
    record: dict[str, Any], ctx: MappingContext, names: list[str], source: str
) -> None:
    rules = [{"source": source or "x", "target": "firstName", "transforms": names, "required": True}]
    result = apply(record, rules, context=ctx)
    assert result.ok == (not result.problems)
    for problem in result.problems:
        assert problem.reason and problem.rule_index == 0


def test_coerce_args_names_the_bad_option() -> None:
    with pytest.raises(MappingError, match="Max length must be a whole number"):
        coerce_args(REGISTRY["truncate"], {"length": "lots"})


rule_keys = st.sampled_from(
    ["source", "constant", "template", "target", "transforms", "required", "default", "on_invalid", "junk"]
)
rule_values = json_like | st.sampled_from(
    [
        "name",
        "emails.0",
        "{name} {x}",
        "{",
        "}",
        "a|b",
        "customField.x",
        "tags",
        "email",
        "skip",
        ["e164", "shout"],
        [{"name": "truncate"}],
    ]
)
fuzzed_rules = st.lists(st.dictionaries(rule_keys, rule_values, max_size=8) | json_like, max_size=5) | json_like


@settings(max_examples=200, deadline=None)
@given(record=json_like, rules=fuzzed_rules)
def test_apply_and_validate_rules_never_raise_whatever_the_rules(record: Any, rules: Any) -> None:
    from contacts_sync.mapping import validate_rules
    from contacts_sync.mapping.diff import diff_rules
    from contacts_sync.mapping.targets import target_fields

    result = apply(record, rules)
    assert isinstance(result.payload, dict)
    for problem in validate_rules(rules, target_fields=target_fields("contact")):
        assert problem.reason
    if isinstance(rules, list):
        diff_rules(rules, list(reversed(rules)))
