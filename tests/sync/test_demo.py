"""The demo seed (services.demo): idempotent rows, then the sandbox prepared and the first runs queued."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import override_settings

from contacts_sync import models as m
from contacts_sync.services import demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_seeding_twice_gives_the_same_connections_and_syncs(admin_user: Any, sandbox: Any) -> None:
    with override_settings(SANDBOX_URL=sandbox.url):
        first = demo.demo_seed(admin_email=admin_user.email)
        again = demo.demo_seed(admin_email=admin_user.email)
    assert [s.pk for s in first] == [s.pk for s in again]
    assert len(first) == len(demo.DEMO_SYNCS)
    assert m.Connection.objects.count() == 3
    assert all(s.mapping_version is not None for s in first)
    ghl = m.Connection.objects.get(provider=m.Provider.GHL)
    assert ghl.base_url == f"{sandbox.url}/ghl" and ghl.secrets["access_token"] == demo.GHL_TOKEN


def test_without_a_sandbox_url_nothing_is_seeded(admin_user: Any) -> None:
    with override_settings(SANDBOX_URL=""):
        assert demo.demo_seed(admin_email=admin_user.email) == []
    assert not m.Sync.objects.exists()


def test_starting_the_demo_makes_one_account_fail_and_queues_the_first_runs(
        admin_user: Any, clean_sandbox: Any) -> None:
    with override_settings(SANDBOX_URL=clean_sandbox.url):
        syncs = demo.demo_seed(admin_email=admin_user.email)
        started = demo.demo_start()
    faults = requests.get(f"{clean_sandbox.url}/_admin/faults", timeout=5).json()
    faults = faults.get("faults", faults) if isinstance(faults, dict) else faults
    assert any(f["app"] == "hubstaff" and f["account"] == demo.FAULTY_ORG and f["error_rate"] == 1.0
               for f in faults)
    faulty = m.Connection.objects.get(external_account_id=demo.FAULTY_ORG)
    assert faulty.secrets["refresh_token"] != "minted-by-demo-start"
    queued = m.Run.objects.filter(pk__in=started)
    assert queued.count() == len(started) >= 3
    delayed = [s for s in syncs if s.target_object in ("task", "note") and s.target_connection.provider == "ghl"]
    assert delayed and all(m.Sync.objects.get(pk=s.pk).next_run_at for s in delayed)
    assert not m.Run.objects.filter(sync__in=delayed).exists()
