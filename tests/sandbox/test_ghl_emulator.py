"""The GHL emulator over raw HTTP: what the client hides (headers, Version, scopes, locations, webhooks, seed)."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tests.sandbox.ghl_support import KEYS, Loc, Receiver, receiver, spec_conformance
from tests.sandbox_fixture import Sandbox
from tests.support import wait_until

__all__ = ["receiver", "spec_conformance"]  # fixtures used by this module

RATE_HEADERS = [
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
]


@pytest.fixture
def loc(sandbox: Sandbox) -> Loc:
    return Loc(sandbox)


def test_a_fresh_start_serves_the_documented_default_location_and_token(sandbox: Sandbox) -> None:
    r = requests.get(
        f"{sandbox.ghl_url}/users/",
        params={"locationId": "sandbox-location"},
        timeout=5,
        headers={"Authorization": "Bearer pit-sandbox-token", "Version": "2021-07-28"},
    )
    assert r.status_code == 200 and r.json()["users"]


def test_the_version_header_is_required(loc: Loc) -> None:
    r = loc.call("GET", "/users/", params={"locationId": loc.id}, version=None)
    assert r.status_code == 400 and "version" in r.json()["message"].lower()
    assert loc.call("GET", "/users/", params={"locationId": loc.id}, version="1999-01-01").status_code == 400


def test_every_answer_carries_the_rate_limit_headers(loc: Loc) -> None:
    ok = loc.call("GET", "/users/", params={"locationId": loc.id})
    missing = loc.call("GET", "/contacts/nope")
    for r in (ok, missing):
        assert all(h in r.headers for h in RATE_HEADERS), r.headers
    assert int(ok.headers["X-RateLimit-Remaining"]) == 99
    assert int(missing.headers["X-RateLimit-Remaining"]) == 98
    assert ok.headers["X-RateLimit-Interval-Milliseconds"] == "10000"


def test_beyond_100_requests_in_10_seconds_a_location_gets_429_and_others_do_not(sandbox: Sandbox) -> None:
    busy, quiet = Loc(sandbox), Loc(sandbox)
    with requests.Session() as s:
        s.headers.update({"Authorization": f"Bearer {busy.token}", "Version": "2021-07-28"})
        codes = [s.get(f"{sandbox.ghl_url}/contacts/x", timeout=5).status_code for _ in range(101)]
    assert codes[:100] == [400] * 100 and codes[100] == 429
    assert quiet.call("GET", "/users/", params={"locationId": quiet.id}).status_code == 200


def test_scopes_separate_readonly_from_write(loc: Loc, sandbox: Sandbox) -> None:
    ro = sandbox.admin("POST", "/ghl/_admin/tokens", json={"locationId": loc.id, "scopes": ["contacts.readonly"]})
    r = loc.call("POST", "/contacts/", token=ro["token"], json={"locationId": loc.id, "email": "a@example.com"})
    assert r.status_code == 401 and r.json()["message"] == "The token is not authorized for this scope."
    assert (
        loc.call(
            "POST", "/contacts/search", token=ro["token"], json={"locationId": loc.id, "pageLimit": 10}
        ).status_code
        == 200
    )
    users = loc.call("GET", "/users/", token=ro["token"], params={"locationId": loc.id})
    assert users.status_code == 401  # users.readonly is a separate scope


def test_locations_are_isolated(sandbox: Sandbox) -> None:
    a, b = Loc(sandbox), Loc(sandbox)
    contact = a.call("POST", "/contacts/", json={"locationId": a.id, "email": "iso@example.com"}).json()["contact"]
    assert b.call("GET", f"/contacts/{contact['id']}").status_code == 400  # not found from b's token
    r = b.call("POST", "/contacts/", json={"locationId": a.id, "email": "x@example.com"})
    assert r.status_code == 403
    dup = b.call("POST", "/contacts/", json={"locationId": b.id, "email": "iso@example.com"})
    assert dup.status_code == 201  # the same email in another location is not a duplicate


def test_the_duplicate_answer_carries_meta_contact_id(loc: Loc) -> None:
    first = loc.call("POST", "/contacts/", json={"locationId": loc.id, "phone": "+1 415 555 0100"}).json()
    r = loc.call("POST", "/contacts/", json={"locationId": loc.id, "phone": "(415) 555-0100", "firstName": "B"})
    body = r.json()
    assert r.status_code == 400 and body["message"] == "This location does not allow duplicated contacts."
    assert body["meta"] == {"contactId": first["contact"]["id"], "contactName": "", "matchingField": "phone"}


def test_unknown_paths_get_a_json_404(loc: Loc) -> None:
    r = loc.call("GET", "/contacts/x/unknown/deeper")
    assert r.status_code == 404 and r.json()["message"] == "Cannot GET /ghl/contacts/x/unknown/deeper"


def test_the_seed_is_messy_like_real_data(sandbox: Sandbox) -> None:
    loc = Loc(sandbox, seed=400)
    rows = loc.call("POST", "/contacts/search", json={"locationId": loc.id, "pageLimit": 500}).json()["contacts"]
    assert len(rows) == 400
    names = " ".join(c.get("name", "") for c in rows)
    assert re.search(r"[^\x00-\x7f]", names)  # unicode names
    emails = [c["email"] for c in rows if c.get("email")]
    assert any(e != e.lower() for e in emails)  # mixed-case emails
    assert len({c["phone"][:3] for c in rows if c.get("phone")}) >= 5  # international numbers
    lowered = [e.lower() for e in emails]
    assert len(lowered) > len(set(lowered)) or any(  # near-duplicates: same email in another case,
        not c.get("email")
        for c in rows  # or the same person with only a phone
    )
    assert any(c.get("customFields") for c in rows) and any(c.get("tags") for c in rows)
    with_tasks = [c for c in rows[:20] if loc.call("GET", f"/contacts/{c['id']}/tasks").json()["tasks"]]
    assert with_tasks


def test_webhooks_are_sent_signed_for_every_documented_event(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    c = loc.call("POST", "/contacts/", json={"locationId": loc.id, "email": "hook@example.com"}).json()["contact"]
    cid = c["id"]
    loc.call("PUT", f"/contacts/{cid}", json={"city": "Köln"})
    loc.call("POST", f"/contacts/{cid}/tags", json={"tags": ["vip"]})
    task = loc.call(
        "POST",
        f"/contacts/{cid}/tasks",
        json={"title": "T", "dueDate": "2026-12-01T00:00:00Z", "completed": False},
    ).json()["task"]
    loc.call("PUT", f"/contacts/{cid}/tasks/{task['id']}/completed", json={"completed": True})
    loc.call("DELETE", f"/contacts/{cid}/tasks/{task['id']}")
    note = loc.call("POST", f"/contacts/{cid}/notes", json={"body": "n"}).json()["note"]
    loc.call("PUT", f"/contacts/{cid}/notes/{note['id']}", json={"body": "n2"})
    loc.call("DELETE", f"/contacts/{cid}/notes/{note['id']}")
    appt = sandbox.admin("POST", "/ghl/_admin/appointments", json={"locationId": loc.id, "contactId": cid})
    sandbox.admin(
        "PUT",
        "/ghl/_admin/appointments",
        json={"locationId": loc.id, "id": appt["appointment"]["id"], "title": "Moved"},
    )
    sandbox.admin("DELETE", "/ghl/_admin/appointments", params={"locationId": loc.id, "id": appt["appointment"]["id"]})
    loc.call("DELETE", f"/contacts/{cid}")
    expected = [
        "ContactCreate",
        "ContactUpdate",
        "ContactTagUpdate",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
        "ContactDelete",
    ]
    wait_until(lambda: len(receiver.received) >= len(expected), timeout=10, what="webhooks")
    assert sorted(receiver.types()) == sorted(expected)
    public_key = load_pem_public_key((KEYS / "ghl-webhook-ed25519-public.pem").read_bytes())
    for headers, body in receiver.received:
        public_key.verify(base64.b64decode(headers["x-ghl-signature"]), body)  # raises if the signature is bad
        payload = json.loads(body)
        assert payload["locationId"] == loc.id and payload["webhookId"] and payload["timestamp"]
    by_type = {json.loads(b)["type"]: json.loads(b) for _h, b in receiver.received}
    assert by_type["ContactUpdate"]["city"] == "Köln"
    assert by_type["TaskComplete"]["contactId"] == cid
    assert by_type["AppointmentUpdate"]["appointment"]["title"] == "Moved"


def test_a_tampered_webhook_body_fails_verification(sandbox: Sandbox, receiver: Receiver) -> None:
    from cryptography.exceptions import InvalidSignature

    loc = Loc(sandbox, webhookUrl=receiver.url)
    loc.call("POST", "/contacts/", json={"locationId": loc.id, "email": "sig@example.com"})
    wait_until(lambda: receiver.received, timeout=10, what="webhook")
    headers, body = receiver.received[0]
    public_key = load_pem_public_key((KEYS / "ghl-webhook-ed25519-public.pem").read_bytes())
    with pytest.raises(InvalidSignature):
        public_key.verify(base64.b64decode(headers["x-ghl-signature"]), body.replace(b"sig@", b"evil@"))


def test_dropped_webhooks_are_not_delivered_but_logged(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox, webhookUrl=receiver.url)
    sandbox.set_faults("ghl", loc.id, drop_webhooks=True)
    try:
        loc.call("POST", "/contacts/", json={"locationId": loc.id, "email": "drop@example.com"})
        log = wait_until(
            lambda: [
                d for d in sandbox.admin("GET", "/ghl/_admin/webhooks")["deliveries"] if d["locationId"] == loc.id
            ],
            timeout=10,
            what="delivery log",
        )
    finally:
        sandbox.admin("DELETE", "/_admin/faults", params={"app": "ghl", "account": loc.id})
    assert [d["status"] for d in log] == ["dropped"]
    time.sleep(0.3)
    assert receiver.received == []


def test_the_webhook_url_can_be_set_per_location_by_the_admin_endpoint(sandbox: Sandbox, receiver: Receiver) -> None:
    loc = Loc(sandbox)
    sandbox.admin("POST", "/ghl/_admin/webhooks", json={"locationId": loc.id, "url": receiver.url})
    loc.call("POST", "/contacts/", json={"locationId": loc.id, "email": "url@example.com"})
    wait_until(lambda: receiver.received, timeout=10, what="webhook")
    assert receiver.types() == ["ContactCreate"]


def test_the_public_key_is_served_for_configuring_the_service(sandbox: Sandbox) -> None:
    pem = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=5).text
    assert pem == (KEYS / "ghl-webhook-ed25519-public.pem").read_text()


def test_a_location_can_send_the_legacy_rsa_signature_too(sandbox: Sandbox, receiver: Receiver) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    loc = Loc(sandbox, webhookUrl=receiver.url, signatures="rsa")
    loc.call("POST", "/contacts/", json={"locationId": loc.id, "email": "rsa@example.com"})
    wait_until(lambda: receiver.received, timeout=10, what="webhook")
    headers, body = receiver.received[0]
    assert "x-ghl-signature" not in headers  # legacy only: exercises the service's fallback
    rsa_key = load_pem_public_key((KEYS / "ghl-webhook-rsa-public.pem").read_bytes())
    rsa_key.verify(base64.b64decode(headers["x-wh-signature"]), body, padding.PKCS1v15(), hashes.SHA256())
    bad = requests.post(f"{sandbox.url}/ghl/_admin/locations", json={"id": loc.id, "signatures": "md5"}, timeout=5)
    assert bad.status_code == 400
