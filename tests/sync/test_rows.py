"""sync/rows.py caches a model's column defaults: a default that must differ per row is refused, never frozen."""

from __future__ import annotations

import pytest

from contacts_sync.models import Connection, RunItem
from contacts_sync.sync import rows


def test_a_default_that_differs_per_row_is_refused_before_any_insert() -> None:
    with pytest.raises(TypeError, match=r"Connection\.webhook_token"):
        rows.insert(Connection, [{"name": "x"}])


@pytest.mark.django_db
def test_the_empty_container_defaults_and_time_stamps_are_what_bulk_create_gave() -> None:
    from tests.factories import RunFactory

    run = RunFactory()
    rows.insert(RunItem, [{"run_id": run.pk, "source_id": "s\u00e9 1", "action": "created"}, {"run_id": run.pk}])
    items = list(RunItem.objects.filter(run=run).order_by("pk"))
    assert [i.source_id for i in items] == ["s\u00e9 1", ""] and all(i.payload == {} for i in items)
    assert items[0].created_at == items[1].created_at is not None
