from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail

from contacts_sync.alerts.transports import AlertMessage, TransportError, transport_for
from contacts_sync.apiclient.signatures import standard_secret_generate as secret_generate
from contacts_sync.apiclient.signatures import standard_sign as sign
from contacts_sync.apiclient.signatures import standard_verify as verify
from contacts_sync.models import AlertChannel, ChannelKind, Notification
from contacts_sync.services.alerts import notification_send
from tests.alerts.receiver import http_receiver

MESSAGE = AlertMessage(
    subject="[failing] sync Hubstaff clients",
    text="healthy -> failing",
    event={"type": "sync.status_changed", "new_status": "failing"},
    url="/runs/1/",
)


def test_the_webhook_is_signed_per_standard_webhooks_and_verifies_at_the_receiver(db: None):
    secret = secret_generate()
    with http_receiver() as rx:
        channel = AlertChannel.objects.create(
            name="hook", kind=ChannelKind.WEBHOOK, target=rx.url, secrets={"secret": secret}
        )
        n = notification_send(channel=channel, message=MESSAGE)
    assert n.ok and n.error == ""
    [req] = rx.requests
    assert req.headers["webhook-id"].startswith("msg_")
    assert req.headers["webhook-signature"].startswith("v1,")
    assert verify(secret=secret, headers=req.headers, body=req.body)
    assert not verify(secret=secret_generate(), headers=req.headers, body=req.body)
    assert not verify(secret=secret, headers=req.headers, body=req.body + b" ")
    payload = json.loads(req.body)
    assert payload["type"] == "sync.status_changed" and payload["data"]["new_status"] == "failing"


def test_the_signature_matches_the_standard_webhooks_reference_vector():
    # From the Standard Webhooks spec test vectors (whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw).
    sig = sign(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_slack_gets_the_text_at_the_secret_url(db: None):
    with http_receiver() as rx:
        channel = AlertChannel.objects.create(
            name="slack", kind=ChannelKind.SLACK, target="#ops", secrets={"url": rx.url}
        )
        assert notification_send(channel=channel, message=MESSAGE).ok
    body = json.loads(rx.requests[0].body)
    assert "[failing] sync Hubstaff clients" in body["text"]


def test_a_permanent_error_disables_the_channel_and_keeps_its_last_error(db: None):
    with http_receiver(status=404) as rx:
        channel = AlertChannel.objects.create(
            name="revoked", kind=ChannelKind.SLACK, target="#ops", secrets={"url": rx.url}
        )
        n = notification_send(channel=channel, message=MESSAGE)
    channel.refresh_from_db()
    assert not n.ok and "HTTP 404" in n.error
    assert channel.enabled is False
    assert "HTTP 404" in channel.last_error and "permanent" in channel.disabled_reason


def test_a_server_error_is_transient_and_leaves_the_channel_enabled(db: None):
    with http_receiver(status=503) as rx:
        channel = AlertChannel.objects.create(
            name="flaky", kind=ChannelKind.WEBHOOK, target=rx.url, secrets={"secret": secret_generate()}
        )
        n = notification_send(channel=channel, message=MESSAGE)
    channel.refresh_from_db()
    assert not n.ok and channel.enabled and "HTTP 503" in channel.last_error
    assert Notification.objects.filter(channel=channel, ok=False).count() == 1


def test_an_unreachable_receiver_is_a_transient_error(unused_port: int):
    channel: Any = type(
        "C", (), {"target": f"http://127.0.0.1:{unused_port}/x", "secrets": {"secret": secret_generate()}}
    )
    with pytest.raises(TransportError) as exc:
        transport_for("webhook").send(channel, MESSAGE)
    assert exc.value.permanent is False


def test_email_goes_to_every_listed_address(db: None):
    channel = AlertChannel.objects.create(name="mail", kind=ChannelKind.EMAIL, target="a@example.com, b@example.com")
    assert notification_send(channel=channel, message=MESSAGE).ok
    assert mail.outbox[0].to == ["a@example.com", "b@example.com"]
    assert "/runs/1/" in mail.outbox[0].body


@pytest.fixture
def unused_port() -> int:
    from tests.support import free_port

    return free_port()


def test_a_private_address_is_refused_at_send_time_unless_allowlisted(db: None, settings: Any):
    """The receivers listen on 127.0.0.1, on the tests' PRIVATE_URL_ALLOWLIST; without it (production), nothing is
    sent. DEBUG makes no difference."""
    settings.PRIVATE_URL_ALLOWLIST = []
    settings.DEBUG = True
    with http_receiver() as rx:
        channel = AlertChannel.objects.create(
            name="internal", kind=ChannelKind.WEBHOOK, target=rx.url, secrets={"secret": secret_generate()}
        )
        n = notification_send(channel=channel, message=MESSAGE)
    channel.refresh_from_db()
    assert rx.requests == []  # nothing left the building
    assert not n.ok and "private or loopback" in n.error and not channel.enabled
