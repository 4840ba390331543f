"""The shared sample() of paged connectors."""

from __future__ import annotations

from contacts_sync.connectors.base import BaseConnector, Page


class Paged(BaseConnector):
    def __init__(self, pages: list[list[dict]]) -> None:
        self.pages = pages
        self.asked: list[dict] = []

    def read(self, object_kind, *, cursor, options):
        self.asked.append(options)
        for records in self.pages:
            yield Page(records=records, cursor=None)


def test_sample_takes_the_first_records_across_pages():
    source = Paged([[{"id": 1}, {"id": 2}], [{"id": 3}, {"id": 4}]])
    assert source.sample("contact", limit=3) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert source.asked[0]["page_limit"] >= 3


def test_sample_of_an_empty_source_is_an_empty_list():
    assert Paged([]).sample("contact") == []
