"""The sandbox server process: health, fault injection admin, reset."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.sandbox_fixture import Sandbox


def test_health_lists_the_mounted_emulators(sandbox: Sandbox) -> None:
    health = sandbox.health()
    assert health["ok"] is True
    assert "ghl" in health["emulators"]


def test_fault_settings_are_set_listed_and_cleared(sandbox: Sandbox) -> None:
    try:
        saved = sandbox.set_faults("ghl", "loc-x", error_rate=0.5, latency_ms=10)
        assert (saved["error_rate"], saved["latency_ms"], saved["account"]) == (0.5, 10, "loc-x")
        listed = sandbox.admin("GET", "/_admin/faults")["faults"]
        assert [(f["app"], f["account"], f["error_rate"]) for f in listed] == [("ghl", "loc-x", 0.5)]
    finally:
        sandbox.clear_faults()
    assert sandbox.admin("GET", "/_admin/faults")["faults"] == []


def test_unknown_fault_settings_are_rejected_with_a_clear_error(sandbox: Sandbox) -> None:
    r = requests.post(f"{sandbox.url}/_admin/faults", json={"app": "ghl", "eror_rate": 1}, timeout=5)
    assert r.status_code == 400
    assert "eror_rate" in r.json()["error"]
    r = requests.post(f"{sandbox.url}/_admin/faults", json={"error_rate": 1}, timeout=5)
    assert r.status_code == 400


def test_a_429_storm_answers_429_with_retry_after_until_it_ends(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"}
    url = f"{sandbox.ghl_url}/users/?locationId={sandbox.location_id}"
    try:
        sandbox.set_faults("ghl", sandbox.location_id, storm_until=time.time() + 30)
        r = requests.get(url, headers=headers, timeout=5)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    finally:
        sandbox.clear_faults()
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_reset_reports_every_emulator_it_reset(sandbox: Sandbox) -> None:
    done = sandbox.admin("POST", "/_admin/reset")["reset"]
    assert "ghl" in done


def test_the_command_options_provision_location_token_seed_and_limit(tmp_path: Any) -> None:
    box = Sandbox(tmp_path, "--seed", "25", "--ghl-rate-limit", "7", location_id="my-loc", token="pit-mine")
    try:
        r = requests.post(
            f"{box.ghl_url}/contacts/search",
            json={"locationId": "my-loc", "pageLimit": 100},
            headers={"Authorization": "Bearer pit-mine", "Version": "2021-07-28"},
            timeout=5,
        )
        assert r.status_code == 200 and r.json()["total"] == 25
        assert r.headers["X-RateLimit-Max"] == "7"
        default = requests.get(
            f"{box.ghl_url}/users/",
            params={"locationId": "sandbox-location"},
            timeout=5,
            headers={"Authorization": "Bearer pit-sandbox-token", "Version": "2021-07-28"},
        )
        assert default.status_code == 401  # only the location and token given on the command line exist
    finally:
        box.stop()
    _n, problems = box.check_contracts()
    assert not problems


def test_injected_latency_slows_only_the_chosen_account(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"}
    url = f"{sandbox.ghl_url}/users/?locationId={sandbox.location_id}"
    try:
        sandbox.set_faults("ghl", sandbox.location_id, latency_ms=400)
        started = time.monotonic()
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.4
        assert sandbox.admin("GET", "/_admin/faults")["faults"][0]["latency_ms"] == 400
    finally:
        sandbox.clear_faults()
