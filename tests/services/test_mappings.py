from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync import models as m
from contacts_sync.services.mappings import (
    MappingRulesInvalid,
    mapping_preview,
    mapping_version_create,
    mapping_version_diff,
    mapping_version_restore,
    source_fields_for,
    target_fields_for,
)
from contacts_sync.sync.recipes import default_rules
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = pytest.mark.django_db

CONTACT_RULES = default_rules("hubstaff", "contact", "ghl", "contact")


def hubstaff_sync(sandbox: Any, **kw: Any) -> m.Sync:
    """A Hubstaff-clients -> GHL-contacts sync whose source is the sandbox's Hubstaff emulator."""
    pat = requests.post(f"{sandbox.url}/hubstaff/_admin/pats", json={}, timeout=10).json()["refresh_token"]
    source = ConnectionFactory(
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.API_KEY,
        external_account_id="1001",
        base_url=f"{sandbox.url}/hubstaff",
        secrets={"refresh_token": pat},
    )
    target = ConnectionFactory(
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
    )
    return SyncFactory(source_connection=source, target_connection=target, **kw)


def test_saving_creates_an_immutable_numbered_version_that_becomes_current_and_is_audited(
    editor: Any,
) -> None:
    sync = SyncFactory()
    first = mapping_version_create(sync=sync, rules=CONTACT_RULES, note="first", user=editor)
    changed = [*CONTACT_RULES, {"source": "address", "target": "address1", "transforms": ["trim"]}]
    second = mapping_version_create(sync=sync, rules=changed, note=" add address ", user=editor)
    sync.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert sync.mapping_version == second
    assert second.author == editor and second.note == "add address"
    first.refresh_from_db()
    assert first.rules == CONTACT_RULES  # the old version is untouched
    entry = m.AuditEntry.objects.filter(action="mapping.save").latest("id")
    assert entry.actor == editor and entry.object_id == str(second.pk)
    assert entry.changes["version"] == 2
    assert entry.changes["diff"] == ["+ address → address1 via trim"]


def test_invalid_rules_are_refused_with_every_problem_and_nothing_is_saved(editor: Any) -> None:
    sync = SyncFactory()
    rules = [{"source": "a", "target": "email"}, {"source": "b", "target": "email", "transforms": ["shout"]}]
    with pytest.raises(MappingRulesInvalid) as caught:
        mapping_version_create(sync=sync, rules=rules, note="", user=editor)
    reasons = {(p.rule_index, p.reason) for p in caught.value.problems}
    assert reasons == {(1, "is already mapped in row 1"), (1, "unknown transform 'shout'")}
    assert not m.MappingVersion.objects.filter(sync=sync).exists()


def test_restoring_makes_an_old_version_current_as_a_new_version(editor: Any, admin_user: Any) -> None:
    sync = SyncFactory()
    v1 = mapping_version_create(sync=sync, rules=CONTACT_RULES, note="v1", user=editor)
    mapping_version_create(sync=sync, rules=CONTACT_RULES[:2], note="v2", user=editor)
    v3 = mapping_version_restore(version=v1, user=admin_user)
    sync.refresh_from_db()
    assert v3.number == 3 and v3.restored_from == v1 and v3.rules == v1.rules
    assert sync.mapping_version == v3
    assert m.MappingVersion.objects.filter(sync=sync).count() == 3
    entry = m.AuditEntry.objects.get(action="mapping.restore")
    assert entry.actor == admin_user and entry.changes["restored_from"] == 1


def test_the_diff_of_a_version_is_field_level_against_the_one_before(editor: Any) -> None:
    sync = SyncFactory()
    mapping_version_create(sync=sync, rules=CONTACT_RULES, note="", user=editor)
    rules = [dict(r) for r in CONTACT_RULES if r["target"] != "lastName"]
    phone = next(r for r in rules if r["target"] == "phone")
    phone["transforms"] = [{"name": "e164", "args": {"region": "DE"}}]
    v2 = mapping_version_create(sync=sync, rules=rules, note="", user=editor)
    changes = {(c.target, c.kind): c for c in mapping_version_diff(version=v2)}
    assert set(changes) == {("phone", "changed"), ("lastName", "removed")}
    assert changes[("phone", "changed")].details == ["transforms: e164 → e164(region=DE)"]


def test_the_preview_maps_five_real_samples_from_the_hubstaff_emulator(sandbox: Any) -> None:
    sync = hubstaff_sync(sandbox)
    rules = [
        {"source": "name", "target": "name", "transforms": ["trim"]},
        {"source": "phone", "target": "phone", "transforms": ["e164"]},
    ]
    preview = mapping_preview(sync=sync, rules=rules)
    assert preview.error == ""
    assert len(preview.rows) == 5
    for row in preview.rows:
        assert row.source["name"].strip() and row.payload.get("name") == " ".join(row.source["name"].split())
        if row.payload.get("phone"):
            assert row.payload["phone"].startswith("+")
    # the emulator's messy phone numbers ("n/a", local formats) show up as problems naming the field
    assert all(p.field == "phone" and p.rule_index == 1 for p in preview.sample_problems)


def test_the_source_field_list_comes_from_the_connector(sandbox: Any) -> None:
    paths = [f.path for f in source_fields_for(hubstaff_sync(sandbox))]
    assert "emails.0" in paths and "name" in paths


def test_an_unreachable_source_gives_a_clear_message_not_an_exception() -> None:
    source = ConnectionFactory(
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.API_KEY,
        external_account_id="1",
        base_url="http://127.0.0.1:9/hubstaff",
        secrets={"refresh_token": "x"},
        name="Hubstaff down",
    )
    sync = SyncFactory(source_connection=source)
    preview = mapping_preview(sync=sync, rules=CONTACT_RULES)
    assert preview.rows == []
    assert preview.error.startswith("Could not read sample records from Hubstaff (Hubstaff down)")


def test_a_source_without_a_connector_gives_a_clear_message_too() -> None:
    sync = SyncFactory(source_connection=ConnectionFactory(provider=m.Provider.STARBUERO, name="Phones"))
    preview = mapping_preview(sync=sync, rules=CONTACT_RULES)
    assert "Could not read sample records from starbuero.de (Phones)" in preview.error


def test_the_seeded_custom_fields_of_the_ghl_location_can_be_mapped(sandbox: Any) -> None:
    sync = hubstaff_sync(sandbox)
    custom = [f for f in target_fields_for(sync) if f.path.startswith("customField.")]
    assert custom, "the emulator seeds custom fields on its location"
    rules = [*CONTACT_RULES, {"source": "metadata.industry", "target": custom[0].path}]
    preview = mapping_preview(sync=sync, rules=rules)
    assert preview.rule_problems == []
    unknown = [*CONTACT_RULES, {"source": "name", "target": "customField.contact.no_such_field"}]
    assert [p.reason for p in mapping_preview(sync=sync, rules=unknown).rule_problems] == [
        "is not a known target custom field"
    ]


def test_a_hubstaff_target_offers_the_connectors_task_fields_with_summary_required() -> None:
    hubstaff = ConnectionFactory(
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.API_KEY,
        external_account_id="1001",
        secrets={"refresh_token": "x"},
    )
    sync = SyncFactory(
        recipe="ghl_critical_contact_to_hubstaff_task",
        source_connection=ConnectionFactory(),
        target_connection=hubstaff,
        source_object="contact",
        target_object="task",
    )
    fields = {f.path: f for f in target_fields_for(sync)}
    assert fields["summary"].required and "metadata.ghl_contact_id" in fields
    rules = default_rules("ghl", "contact", "hubstaff", "task")
    assert mapping_version_create(sync=sync, rules=rules, note="", user=None).number == 1


def test_saving_the_same_rules_again_creates_no_new_version(editor: Any) -> None:
    sync = SyncFactory()
    first = mapping_version_create(sync=sync, rules=CONTACT_RULES, note="first", user=editor)
    again = mapping_version_create(sync=sync, rules=CONTACT_RULES, note="clicked twice", user=editor)
    assert again == first and m.MappingVersion.objects.filter(sync=sync).count() == 1
    assert m.AuditEntry.objects.filter(action="mapping.save").count() == 1


def test_a_ghl_changes_sync_previews_its_mapping_on_the_locations_contacts(sandbox: Any) -> None:
    """The outbox recipe reads GHL changes from webhooks only; its preview samples the location's contacts."""
    from tests.e2e.deliveries_seed import delivery_sync

    sync, _, _ = delivery_sync()
    m.Connection.objects.filter(pk=sync.source_connection_id).update(
        external_account_id=sandbox.location_id, base_url=sandbox.ghl_url
    )
    source = m.Connection.objects.get(pk=sync.source_connection_id)
    source.secrets = {"access_token": sandbox.token}
    source.save()
    sync.refresh_from_db()
    for n, email in enumerate(["Ada@Example.com", "", "bo@EXAMPLE.com", "cy@example.com", "", "di@x.io"]):
        made = requests.post(
            f"{sandbox.ghl_url}/contacts/",
            json={"locationId": sandbox.location_id, "firstName": f" Ada {n}\t", **({"email": email} if email else {})},
            headers={"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"},
            timeout=10,
        )
        assert made.status_code == 201, made.text
    preview = mapping_preview(sync=sync, rules=sync.mapping_version.rules)
    assert preview.error == "" and len(preview.rows) == 5
    for row in preview.rows:
        assert row.payload["id"] == row.source["id"] and row.source.get("locationId") == sandbox.location_id
        assert row.payload["first_name"] == row.source["firstName"].strip()
