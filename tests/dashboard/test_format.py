"""The two display formats every template uses: `number` for counts, `duration` for lengths of time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

from dashboard.templatetags.ui import duration, number
from tests.factories import RunFactory, SyncFactory


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1,000"),
        (12345, "12,345"),
        (1234567, "1,234,567"),
        (-4200, "-4,200"),
        (1234.6, "1,235"),  # a float (a p50 in ms) is rounded to a whole number
        (Decimal("2500.4"), "2,500"),
        ("12345", "12,345"),  # a count that arrived as text
        (None, "–"),
        ("", "–"),
        ("n/a", "n/a"),  # not a number: shown as it is, never a crash
        (float("nan"), "nan"),
    ],
)
def test_number_puts_a_comma_every_three_digits(value, shown):
    assert number(value) == shown


def test_number_keeps_the_decimals_it_is_asked_for():
    assert number(1234.567, 1) == "1,234.6"
    assert number(3, 2) == "3.00"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (0.4, "< 1 s"),
        (1, "1 s"),
        (51, "51 s"),
        (59, "59 s"),
        (59.9, "59 s"),  # cut, never rounded up to "60 s"
        (60, "1 min"),
        (61, "1 min 1 s"),
        (263, "4 min 23 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h"),
        (3605, "1 h"),  # two units at most, and no "1 h 0 min 5 s"
        (3660, "1 h 1 min"),
        (7500, "2 h 5 min"),
        (7507, "2 h 5 min"),
        (86400, "1 d"),
        (93600, "1 d 2 h"),
        (-3, "0 s"),  # clock skew between machines: never a negative duration
        (None, "–"),
        ("", "–"),
        ("soon", "–"),
        (float("inf"), "–"),
    ],
)
def test_duration_reads_like_a_person_would_say_it(seconds, shown):
    assert duration(seconds) == shown


def test_duration_takes_a_timedelta_or_a_start_and_an_end():
    start = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    assert duration(timedelta(minutes=4, seconds=23)) == "4 min 23 s"
    assert duration(start, start + timedelta(seconds=51)) == "51 s"
    assert duration(start, start + timedelta(hours=2, minutes=5, seconds=30)) == "2 h 5 min"
    assert duration(start, None) == "–"  # still running: no end yet
    assert duration(None, start) == "–"  # never started


def test_templates_use_them_through_load_ui():
    start = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    html = Template("{% load ui %}{{ n|number }} · {{ a|duration:b }} · {{ s|duration }}").render(
        Context({"n": 10000, "a": start, "b": start + timedelta(seconds=51), "s": 900})
    )
    assert html == "10,000 · 51 s · 15 min"


TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Variables that hold counts: they must go through `number` so every page writes 12,345 the same way.
COUNT_NAME = re.compile(r"(_count|count|total|_24h|api_calls|http_429s|sent|failed|^n|peak|attempts|_ms|p50)$")
VARIABLE = re.compile(r"(?<!=\")\{\{\s*([^}]+?)\s*\}\}")  # {{ ... }} outside attribute values (value="{{ x }}")


def test_every_template_shows_counts_through_the_number_filter():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        offenders += [
            f"{path.relative_to(TEMPLATES)}: {bad}"
            for bad in ("intcomma", "floatformat", "timesince", "timeuntil")
            if f"|{bad}" in text
        ]
        for expression in VARIABLE.findall(text):
            variable, *filters = [part.strip() for part in expression.split("|")]
            name = variable.split(".")[-1]
            shown = [f.split(":")[0] for f in filters]
            if "pluralize" in shown:  # prints "s" or "", not the count
                continue
            if COUNT_NAME.search(name) and "number" not in shown:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {{{{ {expression} }}}}")
    assert offenders == []


@pytest.mark.django_db
def test_the_pages_write_the_same_count_and_duration_the_same_way(client: Any, viewer: Any):
    sync = SyncFactory(name="Big sync", poll_interval_seconds=5400)
    start = timezone.now() - timedelta(minutes=10)
    run = RunFactory(
        sync=sync,
        read_count=128_450,
        created_count=12_034,
        started_at=start,
        finished_at=start + timedelta(minutes=4, seconds=23),
    )
    client.force_login(viewer)
    pages = {path: client.get(path).content.decode() for path in ("/runs/", f"/runs/{run.pk}/", f"/syncs/{sync.pk}/")}
    for path, html in pages.items():
        assert "128,450" in html and "128450" not in html, path
        assert "12,034" in html, path
    assert "4 min 23 s" in pages["/runs/"]
    assert "took 4 min 23 s" in pages[f"/runs/{run.pk}/"]
    assert "every 1 h 30 min" in pages[f"/syncs/{sync.pk}/"]
    assert "minutes" not in pages[f"/runs/{run.pk}/"].split("took", 1)[1][:30]  # never "took 0 minutes"
