"""The other apps' contact recipes through the same generic contact path, end to end over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory
from tests.sync.world import ghl_write_calls, limits_off, wait_finished

pytestmark = [pytest.mark.worker]

APPS = {
    # recipe: (provider, auth kind, secrets, config)
    "hotspotsystem_customer_to_ghl_contact": ("hotspotsystem", "api_key", {"api_key": "hotspot-sandbox-key"}, {}),
    "upguard_vendor_to_ghl_contact": (
        "upguard",
        "api_key",
        {"api_key": "upguard-sandbox-key"},
        {"rate_limit_per_minute": 0},
    ),
    "starbuero_call_to_ghl_contact": ("starbuero", "api_key", {"api_token": "starbuero-sandbox-token"}, {}),
    "custom_contact_to_ghl_contact": ("custom", "webhook_secret", {"api_token": "custom-sandbox-token"}, {}),
}


def _sync(sandbox: Any, recipe: str) -> m.Sync:
    provider, auth, secrets, config = APPS[recipe]
    source = ConnectionFactory(
        provider=provider,
        auth_kind=auth,
        secrets=secrets,
        config=config,
        external_account_id="",
        base_url=f"{sandbox.url}/{provider}",
    )
    ghl = ConnectionFactory(
        provider="ghl",
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
        config={"rate_limit_per_10s": 0},
    )
    return sync_create_from_recipe(
        recipe=recipe, name=recipe, source_connection=source, target_connection=ghl, options={"page_limit": 50}
    )


@pytest.mark.parametrize("recipe", sorted(APPS))
def test_an_apps_records_become_ghl_contacts_and_a_rerun_writes_nothing(
    recipe: str, clean_sandbox: Any, celery_worker: Any
) -> None:
    limits_off(clean_sandbox)
    sync = _sync(clean_sandbox, recipe)
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert run.status in (m.RunStatus.SUCCEEDED, m.RunStatus.PARTIAL), run.error_summary
    assert run.read_count > 0 and run.created_count + run.updated_count > 0
    assert run.read_count == run.items.count()
    for item in run.items.filter(action=m.ItemAction.FAILED)[:20]:
        assert item.error_class and item.error_message  # messy source data: every failure says why
    again = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert ghl_write_calls(again) == 0
    assert again.unchanged_count == run.created_count + run.updated_count
