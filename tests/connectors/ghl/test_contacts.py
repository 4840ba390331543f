"""Contacts over real HTTP against the emulator: CRUD, duplicates, upsert matching, tags, search paging."""

from __future__ import annotations

import pytest

from contacts_sync.connectors.ghl.client import GHLClient
from contacts_sync.connectors.ghl.errors import DuplicateContactError, NotFoundError, ValidationError
from tests.connectors.ghl.conftest import Account


def test_it_creates_gets_updates_and_deletes_a_contact(ghl: GHLClient, account: Account) -> None:
    created = ghl.create_contact(
        {
            "firstName": "Zoë",
            "lastName": "Dvořák",
            "email": "Zoe@Example.com",
            "phone": "+49 30 1234567",
            "tags": ["VIP"],
        }
    )
    assert created["locationId"] == account.id
    assert created["phone"] == "+49301234567"  # stored in E.164
    assert created["tags"] == ["vip"]  # GHL lower-cases tags
    fetched = ghl.get_contact(created["id"])
    assert (fetched["firstName"], fetched["email"]) == ("Zoë", "Zoe@Example.com")
    updated = ghl.update_contact(created["id"], {"city": "Berlin", "firstName": "Zoe"})
    assert (updated["city"], updated["name"]) == ("Berlin", "Zoe Dvořák")
    assert ghl.delete_contact(created["id"]) is True
    with pytest.raises(NotFoundError) as info:
        ghl.get_contact(created["id"])
    assert info.value.operation == "get_contact" and info.value.status == 400
    assert [c.path_template for c in account.calls] == [
        "/contacts/",
        "/contacts/{contactId}",
        "/contacts/{contactId}",
        "/contacts/{contactId}",
        "/contacts/{contactId}",
    ]
    assert [c.status for c in account.calls] == [201, 200, 200, 200, 400]


def test_a_duplicate_on_a_location_without_duplicates_exposes_the_existing_id(ghl: GHLClient) -> None:
    first = ghl.create_contact({"email": "dup@example.com", "firstName": "Ann"})
    with pytest.raises(DuplicateContactError) as info:
        ghl.create_contact({"email": "DUP@example.com", "firstName": "Ann B."})
    assert info.value.existing_id == first["id"]
    assert info.value.matching_field == "email"
    assert info.value.status == 400 and isinstance(info.value, ValidationError)


def test_a_location_that_allows_duplicates_creates_a_second_contact(ghl: GHLClient, account: Account) -> None:
    account.admin("POST", "locations", json={"id": account.id, "allowDuplicates": True})
    a = ghl.create_contact({"email": "twin@example.com"})
    b = ghl.create_contact({"email": "twin@example.com"})
    assert a["id"] != b["id"]


def test_upsert_matches_by_email_first_then_by_phone(ghl: GHLClient) -> None:
    contact, new = ghl.upsert_contact({"email": "ola@example.com", "phone": "+14155550123", "firstName": "Ola"})
    assert new is True
    again, new = ghl.upsert_contact({"email": "OLA@example.com", "lastName": "Nordmann"})
    assert (new, again["id"], again["lastName"], again["firstName"]) == (
        False,
        contact["id"],
        "Nordmann",
        "Ola",
    )
    by_phone, new = ghl.upsert_contact({"phone": "(415) 555-0123", "city": "Oslo"})
    assert (new, by_phone["id"], by_phone["city"]) == (False, contact["id"], "Oslo")
    other, new = ghl.upsert_contact({"email": "someone-else@example.com"})
    assert new is True and other["id"] != contact["id"]


def test_upsert_keeps_the_email_match_and_ignores_a_phone_owned_by_another_contact(ghl: GHLClient) -> None:
    a, _ = ghl.upsert_contact({"email": "a@example.com", "phone": "+4915112345678"})
    b, _ = ghl.upsert_contact({"email": "b@example.com", "phone": "+4915187654321"})
    result, new = ghl.upsert_contact({"email": "a@example.com", "phone": "+4915187654321"})
    assert (new, result["id"], result["phone"]) == (False, a["id"], "+4915112345678")  # highlevel-api-docs#37
    assert ghl.get_contact(b["id"])["phone"] == "+4915187654321"


def test_put_with_tags_replaces_them_while_the_tag_endpoints_merge(ghl: GHLClient) -> None:
    c = ghl.create_contact({"email": "tags@example.com", "tags": ["one", "two"]})
    assert ghl.add_tags(c["id"], ["Three", "one"]) == ["one", "two", "three"]
    assert ghl.remove_tags(c["id"], ["two"]) == ["one", "three"]
    assert ghl.update_contact(c["id"], {"tags": ["only"]})["tags"] == ["only"]
    assert ghl.get_contact(c["id"])["tags"] == ["only"]


def test_additional_emails_on_write_is_rejected_with_the_message_list(ghl: GHLClient) -> None:
    with pytest.raises(ValidationError) as info:
        ghl.upsert_contact(
            {"email": "x@example.com", "additionalEmails": [{"email": "y@example.com"}], "companyNme": "typo"}
        )
    assert info.value.status == 422
    assert info.value.messages == [
        "property additionalEmails should not exist",
        "property companyNme should not exist",
    ]
    assert ghl.search_duplicate(email="x@example.com") is None  # nothing was written


def test_a_field_of_the_wrong_type_is_a_validation_error(ghl: GHLClient) -> None:
    with pytest.raises(ValidationError, match="email must be an email"):
        ghl.create_contact({"email": "not-an-email"})
    with pytest.raises(ValidationError, match="tags must be an array"):
        ghl.create_contact({"email": "ok@example.com", "tags": "vip"})


def test_custom_fields_are_written_by_id_or_key_and_read_back_as_id_value(ghl: GHLClient) -> None:
    fields = {f["fieldKey"]: f["id"] for f in ghl.list_custom_fields()}
    c = ghl.create_contact(
        {
            "email": "cf@example.com",
            "customFields": [
                {"id": fields["contact.industry"], "field_value": "Bakery"},
                {"key": "plan", "field_value": "pro"},
            ],
        }
    )
    got = {cf["id"]: cf["value"] for cf in ghl.get_contact(c["id"])["customFields"]}
    assert got == {fields["contact.industry"]: "Bakery", fields["contact.plan"]: "pro"}
    with pytest.raises(ValidationError, match="not a custom field"):
        ghl.update_contact(c["id"], {"customFields": [{"id": "nope", "field_value": "x"}]})


def test_search_duplicate_finds_by_email_or_phone(ghl: GHLClient) -> None:
    c = ghl.create_contact({"email": "Find.Me@example.com", "phone": "+44 20 7946 0958"})
    assert ghl.search_duplicate(email="find.me@EXAMPLE.com")["id"] == c["id"]
    assert ghl.search_duplicate(phone="+442079460958")["id"] == c["id"]
    assert ghl.search_duplicate(email="nobody@example.com") is None


def test_search_pages_with_search_after_past_the_ten_thousand_record_window(ghl: GHLClient, account: Account) -> None:
    account.admin("POST", "locations", json={"id": account.id, "seed": 10_050, "children": False})
    seen = [c["id"] for c in ghl.search_contacts(page_limit=500)]
    assert len(seen) == 10_050 == len(set(seen))
    assert len([c for c in account.calls if c.path_template == "/contacts/search"]) == 21
    # plain `page` paging stops at 10,000 records, as in GHL
    with pytest.raises(ValidationError, match="searchAfter"):
        ghl._request(
            "POST",
            "/contacts/search",
            operation="search_contacts",
            json={"locationId": account.id, "pageLimit": 500, "page": 21},
        )


def test_search_resumes_from_a_checkpointed_search_after(ghl: GHLClient) -> None:
    ids = [ghl.create_contact({"email": f"p{i}@example.com"})["id"] for i in range(7)]
    it = ghl.search_contacts(page_limit=3)
    first = [next(it) for _ in range(4)]
    rest = list(ghl.search_contacts(page_limit=3, search_after=first[-1]["searchAfter"]))
    # GHL orders by dateAdded, then id: contacts created in the same millisecond come in id order, not in the
    # order they were made. Resuming gives exactly the uninterrupted order, each contact once.
    whole = [c["id"] for c in ghl.search_contacts(page_limit=3)]
    assert sorted(whole) == sorted(ids)
    assert [c["id"] for c in first + rest] == whole


def test_search_filters_by_field_range_and_query(ghl: GHLClient) -> None:
    ghl.create_contact({"email": "berlin1@example.com", "city": "Berlin", "tags": ["vip"]})
    ghl.create_contact({"email": "berlin2@example.com", "city": "Berlin"})
    ghl.create_contact({"email": "paris@example.com", "city": "Paris", "tags": ["vip"]})
    vip_berlin = list(
        ghl.search_contacts(
            filters=[
                {"field": "city", "operator": "eq", "value": "Berlin"},
                {"field": "tags", "operator": "eq", "value": "vip"},
            ]
        )
    )
    assert [c["email"] for c in vip_berlin] == ["berlin1@example.com"]
    recent = list(
        ghl.search_contacts(
            filters=[{"field": "dateUpdated", "operator": "range", "value": {"gte": "2000-01-01T00:00:00Z"}}],
            sort=[{"field": "dateUpdated", "direction": "desc"}],
        )
    )
    assert len(recent) == 3
    assert [c["email"] for c in ghl.search_contacts(query="paris")] == ["paris@example.com"]


def test_the_deprecated_list_pages_with_start_after_and_start_after_id(ghl: GHLClient, account: Account) -> None:
    account.admin("POST", "locations", json={"id": account.id, "seed": 230, "children": False})
    rows = list(ghl.iter_contacts_deprecated(limit=100))
    assert len(rows) == 230 == len({r["id"] for r in rows})
    assert len([c for c in account.calls if c.path_template == "/contacts/"]) == 3


def test_contacts_are_linked_to_a_business_and_listed_by_it(ghl: GHLClient) -> None:
    business = ghl.list_businesses()[0]
    a = ghl.create_contact({"email": "b1@example.com"})
    b = ghl.create_contact({"email": "b2@example.com"})
    assert ghl.bulk_business([a["id"], b["id"]], business["id"])["ids"] == [a["id"], b["id"]]
    assert {c["id"] for c in ghl.contacts_by_business(business["id"], page_size=1)} >= {a["id"], b["id"]}
    ghl.bulk_business([a["id"]], None)
    assert "businessId" not in ghl.get_contact(a["id"])
    with pytest.raises(ValidationError, match="not found"):
        ghl.bulk_business([a["id"]], "no-such-business")


def test_a_malformed_search_filter_is_a_validation_error(ghl: GHLClient) -> None:
    with pytest.raises(ValidationError, match="range needs a value") as info:
        list(ghl.search_contacts(filters=[{"field": "dateUpdated", "operator": "range", "value": "yesterday"}]))
    assert info.value.status == 422 and info.value.operation == "search_contacts"
