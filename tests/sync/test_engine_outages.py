"""The engine against outages, rule by rule (the same paths run end to end in tests/reliability): a target that
fails half the writes is down, and the write that says so is recorded; the liveness queries ride out a database
outage for as long as a page commit would."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from contacts_sync import models as m
from contacts_sync.apiclient.errors import ServerError
from contacts_sync.sync import persist
from contacts_sync.sync.push import TARGET_DOWN_FAILURES
from tests.factories import SyncFactory
from tests.sync.test_engine import ListSource, RecordingWriter, execute, people, running_run


@pytest.mark.django_db
def test_a_target_failing_every_other_write_is_down_and_the_write_that_says_so_is_recorded() -> None:
    """Never 25 in a row (the old rule) but half of them: the run stops as failed, each write it tried an item."""
    sync = SyncFactory()
    fail = {f"P{i}": ServerError("Internal server error", status=500, provider="ghl") for i in range(0, 60, 2)}
    writer = RecordingWriter(fail=fail)
    run = execute(running_run(sync), ListSource(people(60), page_size=60), writer)
    assert run.status == m.RunStatus.FAILED and "looks down" in run.error_summary
    tried = len(writer.calls)
    assert tried == 2 * TARGET_DOWN_FAILURES - 1  # F S F S ... F: the tenth failure trips it
    assert (run.read_count, run.failed_count, run.created_count) == (tried, TARGET_DOWN_FAILURES, tried // 2)
    assert run.items.count() == tried
    last = str(tried - 1)
    assert run.items.get(source_id=last).error_class == "ServerError"
    # its create may have reached the target (a timeout): the intent stays for the next run to look for it
    assert m.RecordLink.objects.get(sync=sync, source_id=last).pending_since is not None
    # the records never tried reached nothing: no intent, no link
    assert not m.RecordLink.objects.filter(sync=sync, source_id=str(tried)).exists()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _away() -> bool:
    raise OperationalError("server closed the connection unexpectedly")


def test_liveness_queries_assume_their_answer_while_the_database_is_away_then_give_up() -> None:
    clock = Clock()
    tolerate = persist.OutageTolerance(clock)
    assert tolerate(lambda: False, assume=True) is False  # reachable: the real answer
    assert tolerate(_away, assume=True) is True
    clock.now = persist.DB_OUTAGE_RETRY_SECONDS
    assert tolerate(_away, assume=False) is False  # still within the outage budget
    assert tolerate(lambda: True, assume=False) is True  # back: the budget starts over
    assert tolerate(_away, assume=True) is True
    clock.now += persist.DB_OUTAGE_RETRY_SECONDS + 1
    with pytest.raises(OperationalError):  # longer than a page commit would wait: the run stops
        tolerate(_away, assume=True)
