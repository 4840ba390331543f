"""Agency (Company) installs over raw HTTP: the company token, agency PITs, installed locations, location tokens
minted from the company token, location reads, the admin agency endpoints and their webhooks, and the burst budget
per location token."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.sandbox.ghl_support import (
    APP_ID,
    AUTH_CLASS_REFUSED,
    FORM,
    Agency,
    Loc,
    Receiver,
    call,
    code_for,
    receiver,
    spec_conformance,
    token_request,
)
from tests.sandbox_fixture import Sandbox

__all__ = ["receiver", "spec_conformance"]  # fixtures used by this module

BOTH_LISTINGS = ["/oauth/installedLocations", "/oauth/installed-locations"]
BOTH_MINTS = ["/oauth/locationToken", "/oauth/location-token"]


def test_an_agency_install_gives_a_company_token_without_a_location(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=[{}, {}, {"installed": False}], installToFutureLocations=True)
    pair = agency.pair
    assert pair["userType"] == "Company" and pair["companyId"] == agency.id
    assert "locationId" not in pair and pair["refresh_token"] and pair["expires_in"] == 86_399
    assert pair["approvedLocations"] == agency.location_ids[:2]
    assert pair["installToFutureLocations"] is True and pair["approveAllLocations"] is False
    assert {"oauth.readonly", "oauth.write"} <= set(pair["scope"].split())
    refreshed = token_request(
        sandbox, grant_type="refresh_token", refresh_token=pair["refresh_token"], user_type="Company"
    )
    assert refreshed.status_code == 200 and refreshed.json()["userType"] == "Company"
    assert refreshed.json()["refresh_token"] != pair["refresh_token"]
    again = token_request(sandbox, grant_type="refresh_token", refresh_token=pair["refresh_token"], user_type="Company")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # single use, as for locations


def test_the_token_class_follows_the_install_not_the_user_type_asked_for(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=1)
    r = token_request(
        sandbox,
        grant_type="authorization_code",
        code=code_for(sandbox, company_id=agency.id),
        user_type="Location",
    )
    assert r.status_code == 400 and "user_type=Company" in r.json()["message"]
    loc_code = code_for(sandbox, location_id=agency.location_ids[0])
    r = token_request(sandbox, grant_type="authorization_code", code=loc_code, user_type="Company")
    assert r.status_code == 400 and "user_type=Location" in r.json()["message"]
    assert token_request(sandbox, grant_type="authorization_code", code="x", user_type="Agency").status_code == 422


def test_agency_tokens_are_refused_on_sub_account_operations_with_ghls_messages(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=1)
    pit = sandbox.admin("POST", "/ghl/_admin/tokens", json={"companyId": agency.id})["token"]
    body = {"locationId": agency.location_ids[0], "pageLimit": 10}
    oauth_answer = call(sandbox, "POST", "/contacts/search", agency.token, json=body)
    assert oauth_answer.status_code == 401 and oauth_answer.json()["message"] == AUTH_CLASS_REFUSED
    pit_answer = call(sandbox, "POST", "/contacts/search", pit, json=body)
    assert pit_answer.status_code == 401 and pit_answer.json()["message"] == "Token's user type mismatch!"
    # an agency PIT reads the agency's locations, but cannot mint location tokens (Agency-Access-Only)
    assert call(sandbox, "GET", f"/locations/{agency.location_ids[0]}", pit).status_code == 200
    assert agency.mint(agency.location_ids[0], token=pit).json()["message"] == AUTH_CLASS_REFUSED


@pytest.mark.parametrize("path", BOTH_LISTINGS)
def test_installed_locations_lists_the_agencys_locations_in_both_spellings(sandbox: Sandbox, path: str) -> None:
    agency = Agency(
        sandbox, locations=[{"name": "Berlin Mitte"}, {"name": "Köln"}, {"name": "Bonn", "installed": False}]
    )
    base = {"companyId": agency.id, "appId": APP_ID}
    every = call(sandbox, "GET", path, agency.token, params=base).json()
    assert every["count"] == 3 and [r["isInstalled"] for r in every["locations"]] == [True, True, False]
    assert all(r["versionId"] and r["installedAt"] for r in every["locations"][:2])
    installed = call(sandbox, "GET", path, agency.token, params={**base, "isInstalled": "true"}).json()
    assert [r["_id"] for r in installed["locations"]] == agency.location_ids[:2]
    found = call(sandbox, "GET", path, agency.token, params={**base, "query": "köln"}).json()["locations"]
    assert [r["name"] for r in found] == ["Köln"]
    second = call(sandbox, "GET", path, agency.token, params={**base, "limit": "1", "skip": "1"}).json()
    assert [r["_id"] for r in second["locations"]] == [agency.location_ids[1]] and second["count"] == 3


def test_installed_locations_refuses_bad_parameters_and_other_agencies(sandbox: Sandbox) -> None:
    agency, other = Agency(sandbox, locations=1), Agency(sandbox, locations=1)
    path = BOTH_LISTINGS[0]
    missing = call(sandbox, "GET", path, agency.token, params={"companyId": agency.id})
    assert missing.status_code == 422 and missing.json()["message"] == ["appId should not be empty"]
    foreign = call(sandbox, "GET", path, agency.token, params={"companyId": other.id, "appId": APP_ID})
    assert foreign.status_code == 403
    wrong_app = call(sandbox, "GET", path, agency.token, params={"companyId": agency.id, "appId": "nope"})
    assert wrong_app.status_code == 400
    location_token = agency.location_token(agency.location_ids[0])
    refused = call(sandbox, "GET", path, location_token, params={"companyId": agency.id, "appId": APP_ID})
    assert refused.status_code == 401 and refused.json()["message"] == AUTH_CLASS_REFUSED


@pytest.mark.parametrize("path", BOTH_MINTS)
def test_a_location_token_is_minted_from_the_company_token(sandbox: Sandbox, path: str) -> None:
    agency = Agency(sandbox, locations=[{"contacts": [{"email": "Kim@Example.com", "firstName": "Kim"}]}, {}])
    r = agency.mint(agency.location_ids[0], path)
    body = r.json()
    assert r.status_code == 201 and "refresh_token" not in body
    assert body["locationId"] == agency.location_ids[0] and body["expires_in"] == 86_399
    assert body["appId"] == APP_ID and body["userId"] and "contacts.write" in body["scope"].split()
    token = body["access_token"]
    rows = call(
        sandbox,
        "POST",
        "/contacts/search",
        token,
        json={"locationId": agency.location_ids[0], "pageLimit": 10},
    )
    assert [c["email"] for c in rows.json()["contacts"]] == ["Kim@Example.com"]
    other = call(
        sandbox,
        "POST",
        "/contacts/search",
        token,
        json={"locationId": agency.location_ids[1], "pageLimit": 10},
    )
    assert other.status_code == 403


def test_minting_refuses_other_agencies_uninstalled_locations_and_json_bodies(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=[{}, {"installed": False}])
    other = Agency(sandbox, locations=1)
    assert agency.mint(other.location_ids[0]).status_code == 403
    uninstalled = agency.mint(agency.location_ids[1])
    assert uninstalled.status_code == 400 and "not installed" in uninstalled.json()["message"]
    as_json = call(
        sandbox,
        "POST",
        BOTH_MINTS[0],
        agency.token,
        json={"companyId": agency.id, "locationId": agency.location_ids[0]},
    )
    assert as_json.status_code == 422
    missing = call(sandbox, "POST", BOTH_MINTS[0], agency.token, data={"companyId": agency.id})
    assert missing.status_code == 422 and missing.json()["message"] == ["locationId should not be empty"]
    wrong_company = call(
        sandbox,
        "POST",
        BOTH_MINTS[0],
        agency.token,
        data={"companyId": other.id, "locationId": agency.location_ids[0]},
    )
    assert wrong_company.status_code == 403


def test_location_tokens_expire_after_the_configured_ttl_and_are_then_refused(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=1)
    lid = agency.location_ids[0]
    sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 1})
    try:
        r = agency.mint(lid)
    finally:
        sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 86_399})
    assert r.json()["expires_in"] == 1
    token = r.json()["access_token"]
    assert call(sandbox, "GET", "/users/", token, params={"locationId": lid}).status_code == 200
    time.sleep(1.2)
    expired = call(sandbox, "GET", "/users/", token, params={"locationId": lid})
    assert expired.status_code == 401 and expired.json()["message"] == "Invalid JWT"
    fresh = agency.location_token(lid)  # regenerated from the company token: there is no refresh token
    assert call(sandbox, "GET", "/users/", fresh, params={"locationId": lid}).status_code == 200


def test_location_detail_carries_country_timezone_and_company(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=[{"country": "AT", "timezone": "Europe/Vienna", "name": "Wien"}])
    lid = agency.location_ids[0]
    for token in (agency.token, agency.location_token(lid)):
        r = call(sandbox, "GET", f"/locations/{lid}", token)
        loc = r.json()["location"]
        assert r.status_code == 200
        assert (loc["id"], loc["country"], loc["timezone"], loc["companyId"]) == (
            lid,
            "AT",
            "Europe/Vienna",
            agency.id,
        )
    stranger = Loc(sandbox)
    assert call(sandbox, "GET", f"/locations/{lid}", stranger.token).status_code == 403
    assert call(sandbox, "GET", f"/locations/{stranger.id}", agency.token).status_code == 403


def test_location_search_pages_and_filters_an_agencys_locations(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=[{"name": "A", "email": "a@x.example"}, {"name": "B"}, {"name": "C"}])
    ids = agency.location_ids
    rows = call(sandbox, "GET", "/locations/search", agency.token, params={"companyId": agency.id}).json()["locations"]
    assert [r["id"] for r in rows] == ids and all(r["timezone"] and r["country"] for r in rows)
    desc = call(sandbox, "GET", "/locations/search", agency.token, params={"order": "desc", "limit": "2"}).json()
    assert [r["id"] for r in desc["locations"]] == [ids[2], ids[1]]
    by_mail = call(sandbox, "GET", "/locations/search", agency.token, params={"email": "A@X.example"}).json()
    assert [r["id"] for r in by_mail["locations"]] == [ids[0]]
    own = call(sandbox, "GET", "/locations/search", agency.location_token(ids[1])).json()["locations"]
    assert [r["id"] for r in own] == [ids[1]]  # a sub-account token sees only its own location


def test_an_agency_is_created_with_seeded_and_given_contacts_per_location(sandbox: Sandbox) -> None:
    agency = Agency(
        sandbox,
        seed=3,
        locations=[
            {"seed": 12},
            {"contacts": [{"email": "one@example.com"}, {"phone": "+49 30 1234567"}]},
            {},
        ],
    )
    counts = [loc["contacts"] for loc in agency.body["locations"]]
    assert counts == [12, 5, 3]  # the second location: its own 2 plus the agency-wide seed of 3
    token = agency.location_token(agency.location_ids[1])
    found = call(
        sandbox,
        "GET",
        "/contacts/search/duplicate",
        token,
        params={"locationId": agency.location_ids[1], "number": "+49301234567"},
    )
    assert found.json()["contact"]["phone"] == "+49301234567"
    bad = requests.post(
        f"{sandbox.ghl_url}/_admin/agencies", json={"locations": [{"contacts": [{"email": 5}]}]}, timeout=5
    )
    assert bad.status_code == 400 and "email must be a string" in bad.json()["error"]


def test_adding_a_location_sends_a_signed_location_create_and_install_for_future_locations(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    agency = Agency(sandbox, locations=1, webhookUrl=receiver.url, installToFutureLocations=True, name="Acme Agency")
    new_id = f"loc-{uuid.uuid4().hex[:8]}"
    added = sandbox.admin(
        "POST",
        f"/ghl/_admin/agencies/{agency.id}/locations",
        json={"id": new_id, "name": "Neu", "email": "neu@acme.example"},
    )
    assert added["installed"] is True
    create, install = receiver.payloads(2)
    assert (create["type"], create["id"], create["companyId"], create["name"], create["email"]) == (
        "LocationCreate",
        new_id,
        agency.id,
        "Neu",
        "neu@acme.example",
    )
    assert (install["type"], install["locationId"], install["companyId"]) == ("INSTALL", new_id, agency.id)
    assert install["appId"] == APP_ID and install["companyName"] == "Acme Agency"
    assert "userId" not in install  # installs on future locations carry no userId (AppInstall.md)
    assert agency.location_token(new_id)


def test_install_and_uninstall_send_webhooks_and_uninstall_revokes_the_apps_tokens(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    pit = f"pit-{uuid.uuid4().hex}"
    agency = Agency(sandbox, locations=[{"installed": False, "token": pit}], webhookUrl=receiver.url)
    lid = agency.location_ids[0]
    sandbox.admin("POST", "/ghl/_admin/installs", json={"locationId": lid})
    minted = agency.location_token(lid)
    assert call(sandbox, "GET", "/users/", minted, params={"locationId": lid}).status_code == 200
    gone = sandbox.admin("DELETE", "/ghl/_admin/installs", params={"locationId": lid})
    assert gone["installed"] is False and gone["revokedTokens"] == 1
    install, uninstall = receiver.payloads(2)
    assert (install["type"], install["locationId"], install["userId"]) == (
        "INSTALL",
        lid,
        f"{agency.id}-admin",
    )
    assert (uninstall["type"], uninstall["locationId"], uninstall["appId"]) == ("UNINSTALL", lid, APP_ID)
    refused = call(sandbox, "GET", "/users/", minted, params={"locationId": lid})
    assert refused.status_code == 401 and refused.json()["message"] == "Invalid token: access token is invalid"
    assert agency.mint(lid).status_code == 400  # not installed any more
    # the location's private integration token is not the app's: it keeps working
    assert call(sandbox, "GET", "/users/", pit, params={"locationId": lid}).status_code == 200
    listing = call(
        sandbox,
        "GET",
        BOTH_LISTINGS[1],
        agency.token,
        params={"companyId": agency.id, "appId": APP_ID, "isInstalled": "false"},
    ).json()
    assert [r["_id"] for r in listing["locations"]] == [lid]


def test_an_agency_uninstall_revokes_the_company_token_and_its_location_tokens(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    agency = Agency(sandbox, locations=1, webhookUrl=receiver.url)
    minted = agency.location_token(agency.location_ids[0])
    sandbox.admin("DELETE", "/ghl/_admin/installs", params={"companyId": agency.id})
    (uninstall,) = receiver.payloads(1)
    assert uninstall == {**uninstall, "type": "UNINSTALL", "companyId": agency.id, "appId": APP_ID}
    assert "locationId" not in uninstall
    for token in (agency.token, minted):
        assert call(sandbox, "GET", f"/locations/{agency.location_ids[0]}", token).status_code == 401
    refresh = token_request(sandbox, grant_type="refresh_token", refresh_token=agency.pair["refresh_token"])
    assert refresh.status_code == 400


def test_the_burst_budget_applies_per_location_token_and_per_company(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=2)
    busy, quiet = (agency.location_token(lid) for lid in agency.location_ids)
    with requests.Session() as s:
        s.headers.update({"Authorization": f"Bearer {busy}", "Version": "2021-07-28"})
        answers = [s.get(f"{sandbox.ghl_url}/contacts/x", timeout=5) for _ in range(101)]
    assert [r.status_code for r in answers[:100]] == [400] * 100 and answers[100].status_code == 429
    assert answers[99].headers["X-RateLimit-Remaining"] == "0"
    second = call(sandbox, "GET", "/contacts/x", quiet)
    assert second.status_code == 400 and second.headers["X-RateLimit-Remaining"] == "99"
    # the company token spends the agency's own budget (minting the two tokens took 2 of it)
    agency_call = call(sandbox, "GET", f"/locations/{agency.location_ids[0]}", agency.token)
    assert agency_call.status_code == 200 and agency_call.headers["X-RateLimit-Remaining"] == "97"


def test_the_choose_page_offers_agencies_and_locations(sandbox: Sandbox) -> None:
    agency = Agency(sandbox, locations=1, name="Page Agency")
    r = requests.get(
        f"{sandbox.ghl_url}/oauth/chooselocation",
        params={"client_id": "sandbox-client-id", "redirect_uri": "http://127.0.0.1:9/cb"},
        timeout=5,
    )
    assert r.status_code == 200 and f"company_id={agency.id}" in r.text and agency.location_ids[0] in r.text
    form = requests.post(
        f"{sandbox.ghl_url}/oauth/locationToken",
        data={"companyId": agency.id},
        headers={"Content-Type": FORM, "Version": "2021-07-28"},
        timeout=5,
    )
    assert form.status_code == 401  # no token at all


def test_consent_on_the_choose_page_installs_the_app_with_an_install_webhook(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    agency = Agency(sandbox, locations=[{"installed": False}], webhookUrl=receiver.url)
    sandbox.admin("DELETE", "/ghl/_admin/installs", params={"companyId": agency.id})
    lid = agency.location_ids[0]
    pair = token_request(
        sandbox,
        grant_type="authorization_code",
        code=code_for(sandbox, location_id=lid),
        user_type="Location",
    ).json()
    assert pair["userType"] == "Location" and pair["locationId"] == lid and pair["companyId"] == agency.id
    code_for(sandbox, company_id=agency.id)  # the agency consents again: an agency-level INSTALL
    uninstall, location_install, agency_install = receiver.payloads(3)
    assert uninstall["type"] == "UNINSTALL"
    assert (location_install["type"], location_install["locationId"]) == ("INSTALL", lid)
    assert agency_install == {**agency_install, "type": "INSTALL", "companyId": agency.id}
    assert "locationId" not in agency_install
    code_for(sandbox, location_id=lid)  # already installed: no second INSTALL
    time.sleep(0.3)
    assert len(receiver.received) == 3
