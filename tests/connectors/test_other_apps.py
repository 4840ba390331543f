"""HotspotSystem, UpGuard, starbuero.de and the custom-app connector against their emulators over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contacts_sync.apiclient.errors import AuthError, ForbiddenError
from contacts_sync.connectors.base import ConnectionInfo
from contacts_sync.connectors.custom import parse_webhook, verify_webhook
from contacts_sync.connectors.registry import get_connector
from contacts_sync.exceptions import ConfigurationError

KEYS = {
    "hotspotsystem": {"api_key": "hotspot-sandbox-key"},
    "upguard": {"api_key": "upguard-sandbox-key"},
    "starbuero": {"api_token": "starbuero-sandbox-token"},
    "custom": {"api_token": "custom-sandbox-token"},
}
WRONG = {
    "hotspotsystem": ({"api_key": "wrong"}, "HotspotSystem rejected the API key (Authorization Required)"),
    "upguard": ({"api_key": "wrong"}, "UpGuard rejected the API key (invalid or missing API key)"),
    "starbuero": ({"api_token": "wrong"}, "starbuero.de rejected the API token (Unauthenticated."),
    "custom": ({"api_token": "wrong"}, "Custom app rejected the API token (invalid bearer token)"),
}
GOOD = {
    "hotspotsystem": "HotspotSystem operator sandbox-operator (user sandbox-user-1)",
    "upguard": "UpGuard organisation Sandbox Org (sandbox.example)",
    "starbuero": "starbuero.de account Sandbox GmbH, Berlin",
}


@pytest.fixture
def apps(sandbox: Any) -> Iterator[Any]:
    for app in KEYS:
        sandbox.reset(app)
    yield sandbox
    for app in KEYS:
        sandbox.reset(app)


def connector(sandbox: Any, provider: str, secrets: dict[str, Any] | None = None, **config: Any) -> Any:
    return get_connector(
        ConnectionInfo(
            provider=provider,
            connection_id=None,
            account_id="",
            base_url=f"{sandbox.url}/{provider}",
            secrets=KEYS[provider] if secrets is None else secrets,
            config=config,
        )
    )


@pytest.mark.parametrize("provider", sorted(GOOD))
def test_test_with_the_right_key_describes_the_account(apps: Any, provider: str) -> None:
    assert connector(apps, provider).test() == GOOD[provider]


def test_test_of_the_custom_app_reads_one_record(apps: Any) -> None:
    assert connector(apps, "custom").test().endswith("answers /records (1 record(s) on a 1-record page)")


@pytest.mark.parametrize("provider", sorted(WRONG))
def test_test_with_a_wrong_key_raises_a_clear_auth_error(apps: Any, provider: str) -> None:
    secrets, message = WRONG[provider]
    with pytest.raises(AuthError) as info:
        connector(apps, provider, secrets).test()
    assert info.value.status == 401
    assert message in str(info.value)


@pytest.mark.parametrize("provider", sorted(KEYS))
def test_a_connection_without_its_secret_is_a_configuration_error(apps: Any, provider: str) -> None:
    if provider == "custom":
        with pytest.raises(AuthError):
            connector(apps, provider, {}).test()
    else:
        with pytest.raises(ConfigurationError, match="has no API"):
            connector(apps, provider, {})


def test_an_upguard_key_without_vendor_risk_permission_is_named_in_the_error(apps: Any) -> None:
    with pytest.raises(ForbiddenError) as info:
        connector(apps, "upguard", {"api_key": "upguard-sandbox-key-breachsight"}).test()
    assert "lacks the VendorRisk permission" in str(info.value)


@pytest.mark.parametrize(
    ("provider", "kind", "options", "total"),
    [
        ("hotspotsystem", "contact", {"page_limit": 40}, 300),
        ("starbuero", "contact", {"page_limit": 25}, 120),
        ("custom", "contact", {"page_limit": 30}, 200),
    ],
)
def test_read_pages_through_everything_and_resumes_from_a_cursor(
    apps: Any, provider: str, kind: str, options: dict[str, Any], total: int
) -> None:
    con = connector(apps, provider)
    pages = list(con.read(kind, cursor=None, options=options))
    ids = [con.record_id(kind, r) for p in pages for r in p.records]
    assert len(pages) > 2 and pages[-1].cursor is None and all(p.cursor for p in pages[:-1])
    assert len(ids) == len(set(ids)) == total
    resumed = [
        con.record_id(kind, r) for p in con.read(kind, cursor=pages[1].cursor, options=options) for r in p.records
    ]
    assert resumed == ids[len(pages[0].records) + len(pages[1].records) :]


def test_upguard_reads_vendor_contacts_with_their_vendor_labels_and_resumes(apps: Any) -> None:
    con = connector(apps, "upguard")
    pages = list(con.read("contact", cursor=None, options={"page_limit": 10}))
    contacts = [r for p in pages for r in p.records]
    stats = requests.get(f"{apps.url}/upguard/_admin/stats").json()
    assert len(contacts) == len({c["id"] for c in contacts}) == stats["contacts"]
    assert all({"name", "primary_hostname", "labels"} <= set(c["vendor"]) for c in contacts)
    resumed = [
        r["id"] for p in con.read("contact", cursor=pages[14].cursor, options={"page_limit": 10}) for r in p.records
    ]
    assert resumed == [c["id"] for p in pages[15:] for c in p.records]
    vendors = [
        v for p in con.read("contact", cursor=None, options={"source": "vendors", "page_limit": 25}) for v in p.records
    ]
    assert len(vendors) == stats["vendors"] == 60


def test_upguard_vendor_labels_can_be_replaced(apps: Any) -> None:
    con = connector(apps, "upguard")
    vendor = con.sample("contact", limit=1, options={"source": "vendors"})[0]
    con.client.set_vendor_labels(vendor["primary_hostname"], ["ghl-synced", "vip"])
    again = con.sample("contact", limit=1, options={"source": "vendors"})[0]
    assert again["labels"] == ["ghl-synced", "vip"]


def test_hotspotsystem_answers_with_total_count_and_a_link_header(apps: Any) -> None:
    r = requests.get(
        f"{apps.url}/hotspotsystem/v2.0/customers",
        params={"limit": 10, "offset": 20},
        headers={"sn-apikey": "hotspot-sandbox-key"},
    )
    assert r.json()["metadata"] == {"total_count": 300} and len(r.json()["items"]) == 10
    assert 'offset=30>; rel="next"' in r.headers["Link"] and 'offset=10>; rel="prev"' in r.headers["Link"]
    basic = requests.get(f"{apps.url}/hotspotsystem/v2.0/me", auth=("hotspot-sandbox-key", "x"))
    assert basic.status_code == 200  # v1-style Basic auth is accepted too


def test_starbuero_completed_tasks_and_call_windows(apps: Any) -> None:
    con = connector(apps, "starbuero")
    done = [t for p in con.read("task", cursor=None, options={"task_status": "completed"}) for t in p.records]
    assert done and all(t["status"] == "completed" for t in done)
    calls = [c for p in con.read("note", cursor=None, options={}) for c in p.records]
    since = calls[60]["call_start"]
    recent = [c for p in con.read("note", cursor=None, options={"updated_since": since}) for c in p.records]
    assert [c["id"] for c in recent] == [c["id"] for c in calls[60:]]


def test_custom_app_reads_only_records_changed_since(apps: Any) -> None:
    con = connector(apps, "custom")
    before = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 1))
    requests.post(f"{apps.url}/custom/_admin/records", json={"id": "rec_00007", "email": "new@example.com"})
    changed = [r for p in con.read("contact", cursor=None, options={"updated_since": before}) for r in p.records]
    assert [(r["id"], r["email"]) for r in changed] == [("rec_00007", "new@example.com")]


def test_an_unknown_object_kind_is_a_configuration_error_for_every_app(apps: Any) -> None:
    for provider in KEYS:
        with pytest.raises(ConfigurationError):
            list(connector(apps, provider).read("appointment", cursor=None, options={}))


# ---- custom-app webhooks ---------------------------------------------------------------------------------

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = json.dumps({"id": "evt_1", "type": "contact.updated", "data": {"id": "rec_00001"}}).encode()


def standard_headers(body: bytes, secret: str = SECRET, ts: int | None = None, msg_id: str = "msg_1") -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    key = base64.b64decode(secret[len("whsec_") :])
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}


def test_custom_webhooks_verify_standard_webhooks_signatures() -> None:
    assert verify_webhook(standard_headers(BODY), BODY, SECRET)
    rotating = standard_headers(BODY)
    rotating["webhook-signature"] = "v1,b2xkLWtleQ== " + rotating["webhook-signature"]
    assert verify_webhook(rotating, BODY, SECRET)  # several signatures during a key rotation


def test_custom_webhooks_reject_bad_stale_or_missing_signatures() -> None:
    assert not verify_webhook(standard_headers(BODY), BODY + b"x", SECRET)
    assert not verify_webhook(standard_headers(BODY, ts=int(time.time()) - 3600), BODY, SECRET)
    assert not verify_webhook({}, BODY, SECRET)
    assert not verify_webhook(standard_headers(BODY), BODY, "")


def test_custom_webhooks_accept_a_plain_hex_hmac_of_the_body() -> None:
    hexsig = hmac.new(b"plain-secret", BODY, hashlib.sha256).hexdigest()
    assert verify_webhook({"X-Webhook-Signature": f"sha256={hexsig}"}, BODY, "plain-secret")
    assert not verify_webhook({"X-Webhook-Signature": hexsig}, BODY, "other-secret")


def test_custom_webhooks_parse_to_event_and_record_ids() -> None:
    assert parse_webhook(BODY) == {
        "event_id": "evt_1",
        "event_type": "contact.updated",
        "account_id": "",
        "record_ids": {"id": "rec_00001"},
        "payload": {"id": "rec_00001"},
    }
    with pytest.raises(ValueError):
        parse_webhook(b'{"data": {}}')


def test_the_custom_emulator_signs_what_it_sends(apps: Any) -> None:
    from tests.connectors.hubstaff.test_webhooks import Receiver

    receiver = Receiver()
    try:
        sent = requests.post(
            f"{apps.url}/custom/_admin/emit",
            json={"url": receiver.url, "secret": SECRET, "type": "contact.created", "data": {"id": "rec_9"}},
        ).json()
        assert sent == {"status": 200}
        headers, body = receiver.events[0]
        assert verify_webhook(headers, body, SECRET)
        assert parse_webhook(body)["record_ids"] == {"id": "rec_9"}
    finally:
        receiver.close()


def test_hotspotsystem_transactions_are_notes_across_every_type_and_resume(apps: Any) -> None:
    con = connector(apps, "hotspotsystem")
    pages = list(con.read("note", cursor=None, options={"page_limit": 25}))
    notes = [r for p in pages for r in p.records]
    assert len(notes) == len({n["id"] for n in notes}) > 100
    assert {n["type"] for n in notes} == {"mac", "voucher", "social", "paid"}
    assert all(n["location_name"] for n in notes)
    assert pages[-1].cursor is None and all(p.cursor for p in pages[:-1])
    middle = len(pages) // 2
    resumed = [
        r["id"] for p in con.read("note", cursor=pages[middle].cursor, options={"page_limit": 25}) for r in p.records
    ]
    assert resumed == [n["id"] for p in pages[middle + 1 :] for n in p.records]


def test_upguard_vendor_risks_are_tasks_and_notifications_are_notes(apps: Any) -> None:
    con = connector(apps, "upguard")
    risks = [r for p in con.read("task", cursor=None, options={}) for r in p.records]
    assert risks and len({con.record_id("task", r) for r in risks}) == len(risks)
    vendor_risks = [r for r in risks if not r["id"].startswith("notification:")]
    assert vendor_risks and all(r["id"].startswith(f"{r['vendor']['id']}:") and r["finding"] for r in vendor_risks)
    breaches = [r for r in risks if r["id"].startswith("notification:")]  # breach notifications are tasks too
    assert breaches and all(r["severity"] == "high" and r["status"] == "open" for r in breaches)
    notes = [n for p in con.read("note", cursor=None, options={"page_limit": 10}) for n in p.records]
    assert notes and all(n["id"] == n["notification_id"] and n["description"] for n in notes)
    assert {f.path for f in con.fields("task")} >= {"finding", "severity", "vendor.primary_hostname"}
