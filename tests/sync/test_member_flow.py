"""Hubstaff members become GHL contacts, end to end: the Hubstaff emulator's organization members, a real worker,
the GHL emulator over HTTP; a second run writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.sync.world import GhlApi, HubstaffOrg, connections, ghl_write_calls, wait_finished

pytestmark = [pytest.mark.worker]


def test_each_hubstaff_member_becomes_a_ghl_contact_with_their_email(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_members=4)
    hub, ghl = connections(clean_sandbox, org)
    sync = sync_create_from_recipe(
        recipe="hubstaff_member_to_ghl_contact", name="members", source_connection=hub, target_connection=ghl, live=True
    )
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=180)
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    assert run.read_count >= 4 and run.created_count + run.updated_count == run.read_count
    members = {str(u["id"]): u for u in org.get(f"/organizations/{org.org_id}/members", include="users")["users"]}
    api = GhlApi(clean_sandbox)
    for item in run.items.all():
        contact = api.call("GET", f"/contacts/{item.target_id}")["contact"]
        assert contact["email"] == members[item.source_id]["email"].lower()
    again = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=180)
    assert ghl_write_calls(again) == 0 and again.unchanged_count == run.read_count
