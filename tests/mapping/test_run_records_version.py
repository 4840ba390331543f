"""A run maps with the sync's current mapping version, records it, and the run page links to that version."""

from __future__ import annotations

import random
from typing import Any

import pytest
import requests
from django.urls import reverse

from contacts_sync import models as m
from contacts_sync.services.mappings import mapping_version_create, mapping_version_restore
from contacts_sync.services.runs import run_enqueue, run_execute
from contacts_sync.sync.recipes import default_rules
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = pytest.mark.django_db
NAME_TARGETS = {"name", "firstName", "lastName", "companyName", "source"}


def small_hubstaff_sync(sandbox: Any) -> m.Sync:
    """A Hubstaff organization of three clients in the emulator -> the emulator's GHL location."""
    org = random.randint(50_000, 90_000)
    requests.post(
        f"{sandbox.url}/hubstaff/_admin/seed",
        json={"organization_id": org, "clients": 3, "members": 1, "projects": 1, "tasks": 0, "notes": 0},
        timeout=10,
    )
    pat = requests.post(f"{sandbox.url}/hubstaff/_admin/pats", json={}, timeout=10).json()["refresh_token"]
    source = ConnectionFactory(
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.API_KEY,
        external_account_id=str(org),
        base_url=f"{sandbox.url}/hubstaff",
        secrets={"refresh_token": pat},
    )
    target = ConnectionFactory(
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
    )
    return SyncFactory(source_connection=source, target_connection=target)


def run_now(sync: m.Sync) -> m.Run:
    sync.refresh_from_db()  # run_enqueue takes the version from the instance it is given
    run = run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
    assert run is not None
    run_execute(run_id=run.pk, worker="test")  # the body of the Celery task, in this process
    run.refresh_from_db()
    return run


def test_each_run_records_the_version_it_mapped_with_and_the_run_page_links_to_it(
    sandbox: Any, editor: Any, client: Any
) -> None:
    sync = small_hubstaff_sync(sandbox)
    # names only: the emulator's deliberately messy phones and e-mails would fail some records (tested elsewhere)
    rules = [r for r in default_rules("hubstaff", "contact", "ghl", "contact") if r["target"] in NAME_TARGETS]
    v1 = mapping_version_create(sync=sync, rules=rules, note="names", user=editor)
    first = run_now(sync)
    assert first.mapping_version == v1
    assert first.read_count > 0 and first.created_count == first.read_count, first.error_summary

    tagged = [
        *rules,
        {"source": None, "constant": ["from-hubstaff"], "target": "tags", "transforms": ["to_tags"]},
    ]
    v2 = mapping_version_create(sync=sync, rules=tagged, note="tag them", user=editor)
    second = run_now(sync)
    assert second.mapping_version == v2
    assert (
        second.updated_count == first.read_count
    )  # the new rule changed every payload, so every contact was written again
    item = second.items.filter(action=m.ItemAction.UPDATED).first()
    assert item is not None and "from-hubstaff" in str(item.payload)

    v3 = mapping_version_restore(version=v1, user=editor)
    third = run_now(sync)
    assert third.mapping_version == v3 and third.updated_count == first.read_count  # the tag rule is gone again

    client.force_login(editor)
    html = client.get(reverse("dashboard:run_detail", args=[second.pk])).content.decode()
    assert reverse("dashboard:mapping_version", args=[v2.pk]) in html
