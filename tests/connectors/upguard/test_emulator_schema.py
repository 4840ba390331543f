"""The UpGuard emulator answers in the shapes of UpGuard's v1.11.1 swagger `definitions` (jsonschema).

Vendor contacts come from v1.13.2, which is not saved locally, so they are checked against the fields listed in
../shared/reference/source-apps.md instead.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

SPEC = Path("/work/shared/specs/upguard/upguard-cyberrisk-swagger-1.11.1.json")
KEY = {"Authorization": "upguard-sandbox-key"}
VENDOR_CONTACT_FIELDS = {
    "id",
    "vendor_id",
    "name",
    "title",
    "email_address",
    "phone_mobile",
    "notes",
    "created_at",
    "updated_at",
}


@cache
def definitions() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.fail(f"the official UpGuard spec is missing at {SPEC}")
    return json.loads(SPEC.read_text())["definitions"]


def validate(instance: Any, definition: str) -> None:
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions()}
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


@pytest.fixture
def upguard(sandbox: Any) -> str:
    sandbox.reset("upguard")
    return f"{sandbox.url}/upguard"


def get(url: str, **params: Any) -> requests.Response:
    return requests.get(url, params=params, headers=KEY, timeout=10)


def test_vendors_labels_organisation_risks_and_notifications_match_the_spec(upguard: str) -> None:
    vendors = get(f"{upguard}/vendors", page_size=25).json()
    validate(vendors, "VendorsResponsePayloadBody")
    assert len(vendors["vendors"]) == 25 and vendors["total_results"] == 60 and vendors["next_page_token"]
    last = get(
        f"{upguard}/vendors",
        page_size=25,
        page_token=get(f"{upguard}/vendors", page_size=50).json()["next_page_token"],
    ).json()
    assert "next_page_token" not in last  # omitted when there are no more results
    validate(get(f"{upguard}/labels").json(), "GetLabelsV1RespBody")
    validate(get(f"{upguard}/organisation").json(), "GetOrganisationV1RespBody")
    for vendor in vendors["vendors"][:10]:
        validate(
            get(f"{upguard}/risks/vendors", primary_hostname=vendor["primary_hostname"]).json(),
            "GetRisksV1RespBody",
        )
    validate(get(f"{upguard}/notifications").json(), "GetNotificationsV1ResponsePayloadBody")


def test_vendor_contacts_carry_the_documented_fields(upguard: str) -> None:
    body = get(f"{upguard}/vendor/contact/list", vendor_id=5002).json()
    assert set(body) <= {"contacts", "next_page_token"}
    for contact in body["contacts"]:
        assert set(contact) == VENDOR_CONTACT_FIELDS


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/vendors", {"page_size": 5}, 422),
        ("/vendor/contact/list", {}, 422),
        ("/risks/vendors", {"primary_hostname": "nobody.example"}, 404),
    ],
)
def test_errors_use_the_endpoint_error_shape(upguard: str, path: str, params: dict[str, Any], status: int) -> None:
    r = get(f"{upguard}{path}", **params)
    assert r.status_code == status
    validate(r.json(), "endpointError")
    assert r.json()["error"]
