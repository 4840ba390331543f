"""What each answer of your app means for an outgoing webhook, and the retry schedule (pure functions)."""

from __future__ import annotations

import random

import pytest

from contacts_sync.connectors.custom import outgoing


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (301, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (408, "retry"),
        (409, "permanent"),
        (410, "gone"),
        (422, "permanent"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_each_answer_means_delivered_retried_refused_for_good_or_gone(status: int, meaning: str) -> None:
    assert outgoing.outcome_of(status) == meaning


def test_the_retry_schedule_is_the_standards_with_jitter_and_ends() -> None:
    rng = random.Random(7)
    waits = [outgoing.retry_delay(n, rng=rng) for n in range(1, len(outgoing.RETRY_SCHEDULE_SECONDS) + 1)]
    for wait, base in zip(waits, outgoing.RETRY_SCHEDULE_SECONDS, strict=True):
        assert wait is not None and base * 0.8 <= wait <= base * 1.2
    assert len({round(w / b, 6) for w, b in zip(waits, outgoing.RETRY_SCHEDULE_SECONDS, strict=True)}) > 1  # jittered
    assert outgoing.retry_delay(len(outgoing.RETRY_SCHEDULE_SECONDS) + 1) is None  # the schedule is used up


def test_a_longer_retry_after_wins_and_is_capped_and_a_shorter_one_does_not_hurry_us() -> None:
    rng = random.Random(3)
    assert outgoing.retry_delay(1, 600, rng=rng) == 600
    assert outgoing.retry_delay(1, 10**9, rng=rng) == outgoing.RETRY_AFTER_CAP_SECONDS
    assert 4 <= (outgoing.retry_delay(1, 1, rng=rng) or 0) <= 6


def test_the_body_is_compact_ascii_json_with_the_apps_event_type() -> None:
    body = outgoing.body_of(
        msg_id="msg_1",
        ghl_type="TaskComplete",
        timestamp="2026-11-30T22:00:00Z",
        data={"id": "t1", "title": "Rückruf \ud800"},
        location_id="loc",
    )
    assert body.isascii() and '"type":"task.completed"' in body and '"ghl":{"event":"TaskComplete"' in body
