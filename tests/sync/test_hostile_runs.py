"""Generated hostile records through real runs (a real worker, the custom-app and GHL emulators over HTTP).

For every example: no crash, one item per source record, every failed item names a field, the run's counts equal
the writes GHL accepted, no blank contact and no two records in one contact.
"""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_sync import models as m
from contacts_sync.services import runs
from tests.sync.integrity_world import custom_records, custom_sync, ghl_writes, record_offset
from tests.sync.world import ghl_contacts, wait_finished

pytestmark = [pytest.mark.worker]

IDENTITY = ("firstName", "lastName", "name", "email", "phone")

# Text from every Unicode category, NUL and control characters included, and now and then a huge value.
hostile_text = st.one_of(
    st.text(st.characters(codec=None, blacklist_categories=()), max_size=40),
    st.text(alphabet="\x00\x01\t\n\r\x1b\u200b\u202e\ufeff \u00a0", max_size=10),
    st.sampled_from(["", "   ", "n/a", "NULL", "\x00", "Zoë O'Brien-Łukasz", "山田 太郎", "👩‍💻 Dev"]),
    st.text(alphabet=string.ascii_letters, min_size=3000, max_size=6000),
)
wrong_types = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
field_value = st.one_of(hostile_text, wrong_types)
emails = st.one_of(
    st.sampled_from(["", "not-an-email", "x at example.com", "a@b", "mailto:x@y.example"]),
    st.emails(),
    st.builds(lambda u: f"  {u.upper()}@Example.COM ", st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
)
phones = st.one_of(
    st.sampled_from(
        [
            "",
            "n/a",
            "12345",
            "+49 30 2270",
            "0049 30 227-0",
            "(212) 555-0101",
            "+41 44 668 18 00",
            "011 44 20 7946 0958",
            "\x00555",
        ]
    ),
    field_value,
)


@st.composite
def records(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=1, max_value=12))
    out = []
    for i in range(n):
        record: dict[str, Any] = {"id": f"h{i}"}
        for key, strategy in (
            ("first_name", field_value),
            ("last_name", field_value),
            ("email", emails),
            ("phone", phones),
            ("company", field_value),
            ("tags", st.one_of(st.lists(hostile_text, max_size=4), wrong_types)),
        ):
            if draw(st.booleans()):
                record[key] = draw(strategy)
        out.append(record)
    if n > 1 and draw(st.booleans()):  # a duplicate differing only in case and space
        twin = dict(out[0], id="h-twin")
        if isinstance(twin.get("email"), str):
            twin["email"] = f"  {twin['email'].upper()} "
        out.append(twin)
    return out


def _storable(value: Any) -> Any:
    """The custom emulator keeps JSON: NaN and infinity are not JSON, so they travel as the string the app would
    send."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else str(value)
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


@pytest.mark.timeout(900)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(batch=records())
def test_hostile_records_never_crash_a_run_nor_make_blank_or_shared_contacts(
    clean_sandbox: Any, celery_worker: Any, batch: list[dict[str, Any]]
) -> None:
    batch = [_storable(r) for r in batch]
    custom_records(clean_sandbox, batch)
    m.RecordLink.objects.all().delete()
    sync = custom_sync(clean_sandbox)
    start = record_offset(clean_sandbox)
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=180)

    assert "Internal error" not in run.error_summary, run.error_summary
    items = list(run.items.all())
    assert sorted(i.source_id for i in items) == sorted(str(r["id"]) for r in batch)  # one item per record
    for item in items:
        if item.action == m.ItemAction.FAILED:
            assert item.error_class and item.error_message.strip(), item  # says what and where
    writes = ghl_writes(clean_sandbox, start)
    upserts = [w for w in writes if str(w.get("path")).startswith("/contacts/upsert")]
    assert len(upserts) == run.created_count + run.updated_count  # counts true: what GHL received
    linked = [t for t in m.RecordLink.objects.filter(sync=sync).values_list("target_id", flat=True) if t]
    assert len(linked) == len(set(linked))  # no two records share a contact
    by_id = {c["id"]: c for c in ghl_contacts(clean_sandbox)}
    for target in linked:
        contact = by_id[target]
        assert any(str(contact.get(k) or "").strip() for k in IDENTITY), contact  # never a blank contact
        for key, value in contact.items():
            if isinstance(value, str):
                assert "\x00" not in value
