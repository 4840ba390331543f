"""bench.dashboard seeds its rows with raw SQL; a model column without a database default breaks it silently until
someone runs the benchmark (it happened twice). The seed runs here, small, on the migrated schema, and every page
the benchmark times answers."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench import dashboard as bench

pytestmark = pytest.mark.django_db(transaction=True)  # the seed ends with VACUUM, outside a transaction


def test_the_dashboard_benchmark_seeds_the_current_schema_and_every_timed_page_answers(
    client: Any, admin_user: Any
) -> None:
    args = argparse.Namespace(syncs=10, runs=300, items=2_000, big_items=500, big_calls=50)
    seeded = bench._seed(args)
    assert seeded["runs"] >= 300 and seeded["run_items"] >= 1_500 and seeded["api_calls"] > 0
    client.force_login(admin_user)
    for label, url in bench._pages(seeded["big_run_id"]):
        answer = client.get(url)
        assert answer.status_code in (200, 204), (label, url, answer.status_code)
    # the token a page holds answers 204; a stalled run's token moves every 30 s, so a 200 gets one fresh try
    for label, url in bench._pages(seeded["big_run_id"]):
        if label.endswith("_unchanged") and client.get(url).status_code != 204:
            fresh = dict(bench._pages(seeded["big_run_id"]))[label]
            assert client.get(fresh).status_code == 204, label
