from __future__ import annotations

import pytest

from contacts_sync.connectors.registry import default_pairs, default_rules
from contacts_sync.mapping import apply, validate_rules
from contacts_sync.mapping.targets import target_fields


@pytest.mark.parametrize("pair", default_pairs(), ids="-".join)
def test_every_default_mapping_passes_its_own_validation(pair: tuple[str, str, str, str]) -> None:
    rules = default_rules(*pair)
    assert rules, "a default mapping has rows"
    assert validate_rules(rules, target_fields=target_fields(pair[3], provider=pair[2])) == []


def test_a_hubstaff_client_maps_to_a_ghl_contact_with_name_email_phone_company() -> None:
    client = {
        "id": 1,
        "name": "Acme Corp",
        "emails": ["Ops@Acme.example"],
        "phone": "+1 415 555 2671",
        "status": "active",
    }
    result = apply(client, default_rules("hubstaff", "contact", "ghl", "contact"))
    assert result.ok, result.problems
    assert result.payload["email"] == "ops@acme.example"
    assert result.payload["phone"] == "+14155552671"
    assert result.payload["companyName"] == "Acme Corp"
    assert result.payload["name"] == "Acme Corp" and "firstName" not in result.payload  # a client is a company


def test_a_hubstaff_member_maps_its_first_and_last_name() -> None:
    member = {
        "user_id": 7,
        "user": {"name": "Jane Doe", "first_name": "Jane", "last_name": "Doe", "email": "Jane@Example.com"},
    }
    result = apply(member, default_rules("hubstaff", "contact", "ghl", "contact"))
    assert result.ok, result.problems
    assert {k: result.payload[k] for k in ("name", "firstName", "lastName", "email")} == {
        "name": "Jane Doe",
        "firstName": "Jane",
        "lastName": "Doe",
        "email": "jane@example.com",
    }


def test_a_hubstaff_task_maps_to_a_ghl_task_with_title_due_date_completed_body() -> None:
    task = {
        "id": 5,
        "summary": " Call Jane ",
        "details": "About the invoice",
        "status": "completed",
        "due_at": None,
        "created_at": "2024-05-01T10:00:00Z",
    }
    result = apply(task, default_rules("hubstaff", "task", "ghl", "task"))
    assert result.payload == {
        "title": "Call Jane",
        "dueDate": "2024-05-01T10:00:00Z",
        "completed": True,
        "body": "About the invoice",
    }


def test_an_upguard_vendor_contact_gets_its_labels_as_tags_and_the_upguard_marker() -> None:
    contact = {
        "id": "c1",
        "name": "Ann Lee",
        "email_address": "ann@vendor.example",
        "labels": ["Critical", "EU"],
        "vendor": {"primary_hostname": "Vendor.Example"},
    }
    result = apply(contact, default_rules("upguard", "contact", "ghl", "contact"))
    # "upguard" marks the contacts the label flow back reads (ghl_tags_to_upguard_vendor_labels)
    assert result.payload["tags"] == ["Critical", "EU", "upguard"]
    assert result.payload["website"] == "vendor.example"


def test_a_ghl_contact_becomes_a_hubstaff_task_summary() -> None:
    result = apply(
        {"id": "abc", "firstName": "Jane", "email": "j@x.example"},
        default_rules("ghl", "contact", "hubstaff", "task"),
    )
    assert result.payload["summary"] == "Follow up: Jane"
    assert result.payload["details"].splitlines()[:2] == ["GHL contact abc", "Email: j@x.example"]
    assert result.payload["metadata"] == {"ghl_contact_id": "abc"}  # the Hubstaff writer sends it as metadata


def test_an_unknown_pair_has_no_default_and_copies_are_independent() -> None:
    assert default_rules("hubstaff", "appointment", "ghl", "appointment") == []
    first = default_rules("hubstaff", "task", "ghl", "task")
    first[0]["target"] = "changed"
    assert default_rules("hubstaff", "task", "ghl", "task")[0]["target"] == "title"
