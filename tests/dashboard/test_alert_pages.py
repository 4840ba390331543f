"""The alert rules pages and the kind-specific channel forms over HTTP, with every role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.apiclient.signatures import standard_secret_generate
from tests.factories import SyncFactory

pytestmark = pytest.mark.django_db

RULE_POST = {
    "failed_share_percent": "20",
    "failing_after_runs": "3",
    "stale_after_hours": "6",
    "slow_run_minutes": "",
    "renotify_hours": "2",
}


def test_a_viewer_reads_the_rules_but_cannot_change_or_mute_them(login: Any, viewer: Any):
    sync = SyncFactory(name="Hubstaff clients")
    c = login(viewer)
    html = c.get("/alerts/rules/").content.decode()
    assert "Hubstaff clients" in html and "every enabled channel" in html
    assert f"/alerts/rules/{sync.pk}/mute" not in html  # no buttons for a Viewer
    assert c.get(f"/alerts/rules/{sync.pk}/").status_code == 403
    assert c.post(f"/alerts/rules/{sync.pk}/", RULE_POST).status_code == 403
    assert c.post(f"/alerts/rules/{sync.pk}/mute", {"hours": "4"}).status_code == 403
    assert not m.AlertRule.objects.exists()


def test_an_editor_saves_thresholds_routing_and_reminders(login: Any, editor: Any):
    sync = SyncFactory()
    ops = m.AlertChannel.objects.create(name="ops", kind="email", target="ops@example.com")
    resp = login(editor).post(f"/alerts/rules/{sync.pk}/", {**RULE_POST, "channels": [str(ops.pk)]})
    assert resp.status_code == 302
    rule = m.AlertRule.objects.get(sync=sync)
    assert (
        rule.failed_share_percent,
        rule.failing_after_runs,
        rule.stale_after_hours,
        rule.slow_run_minutes,
        rule.renotify_hours,
    ) == (20, 3, 6, None, 2)
    assert list(rule.channels.all()) == [ops]
    html = login(editor).get("/alerts/rules/").content.decode()
    assert "every 2 h" in html and "6 h" in html and "ops" in html


def test_an_invalid_rule_is_shown_again_with_the_reason_and_nothing_is_saved(login: Any, editor: Any):
    sync = SyncFactory()
    resp = login(editor).post(
        f"/alerts/rules/{sync.pk}/", {**RULE_POST, "failing_after_runs": "0"}, HTTP_HX_REQUEST="true"
    )
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="rule-form"' in html and "<html" not in html
    assert "greater than or equal to 1" in html
    assert not m.AlertRule.objects.exists()


def test_an_editor_mutes_until_a_moment_and_unmutes(login: Any, editor: Any):
    sync = SyncFactory()
    c = login(editor)
    until = (timezone.localtime() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    c.post(f"/alerts/rules/{sync.pk}/mute", {"hours": "until", "until": until})
    rule = m.AlertRule.objects.get(sync=sync)
    assert rule.muted_until is not None and rule.muted_by == editor
    assert timezone.localtime(rule.muted_until).strftime("%Y-%m-%dT%H:%M") == until
    assert "Muted" in c.get(f"/alerts/rules/{sync.pk}/").content.decode()
    c.post(f"/alerts/rules/{sync.pk}/unmute")
    rule.refresh_from_db()
    assert rule.muted_until is None


def test_a_mute_in_the_past_is_refused_with_a_message(login: Any, editor: Any):
    sync = SyncFactory()
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    resp = login(editor).post(f"/alerts/rules/{sync.pk}/mute", {"hours": "until", "until": past}, follow=True)
    assert "Not muted" in resp.content.decode() and "future" in resp.content.decode()
    assert not m.AlertRule.objects.filter(muted_until__isnull=False).exists()


def test_the_mute_redirect_stays_on_this_site(login: Any, editor: Any):
    sync = SyncFactory()
    resp = login(editor).post(f"/alerts/rules/{sync.pk}/mute", {"hours": "1", "next": "https://evil.example/"})
    assert resp["Location"] == f"/alerts/rules/{sync.pk}/"


# --- channel forms: only the chosen kind's fields, checked before anything is stored -------------------------


@pytest.mark.parametrize(
    "kind,shown,hidden",
    [
        ("email", ["Email addresses"], ["slack_url", "secret"]),
        ("slack", ['name="slack_url"'], ["Email addresses", 'name="secret"']),
        ("webhook", ["Receiver URL", 'name="secret"'], ['name="slack_url"', "Email addresses"]),
    ],
)
def test_each_kind_shows_only_its_own_fields(login: Any, admin_user: Any, kind: str, shown: list, hidden: list):
    html = login(admin_user).get(f"/alerts/channels/?kind={kind}").content.decode()
    form = html.split('id="channel-form"')[1].split("</form>")[0]
    assert f'name="kind" value="{kind}"' in form
    assert all(s in form for s in shown) and not any(h in form for h in hidden)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T000/B000/XXXX",
        "http://hooks.slack.com/services/T000/B000/XXXX",
        "https://hooks.slack.com.evil.example/services/T0/B0/X",
        "https://hooks.slack.com/services/",
        "hooks.slack.com/services/T000/B000/XXXX",
    ],
)
def test_a_url_that_is_not_a_slack_webhook_is_refused(login: Any, admin_user: Any, url: str):
    resp = login(admin_user).post("/alerts/channels/", {"kind": "slack", "name": "team", "slack_url": url})
    html = resp.content.decode()
    assert resp.status_code == 200 and ("not a Slack webhook URL" in html or "incomplete" in html)
    assert f'value="{url}"' not in html  # a secret URL is never rendered back, even when refused
    assert not m.AlertChannel.objects.exists()


def test_a_slack_webhook_url_is_stored_encrypted_and_masked(login: Any, admin_user: Any):
    url = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
    resp = login(admin_user).post(
        "/alerts/channels/", {"kind": "slack", "name": "team", "slack_url": url, "target": "#sync-alerts"}
    )
    assert resp.status_code == 302
    channel = m.AlertChannel.objects.get()
    assert channel.secrets == {"url": url} and channel.target == "#sync-alerts"
    assert "XXXXsecretXXXX" not in login(admin_user).get("/alerts/channels/").content.decode()


@pytest.mark.parametrize(
    "secret,reason",
    [
        ("whsec_not*base64", "not valid base64"),
        ("whsec_c2hvcnQ=", "bytes"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with whsec_"),
    ],
)
def test_a_malformed_signing_secret_is_refused_instead_of_disabling_the_channel_later(
    login: Any,
    admin_user: Any,
    settings: Any,
    secret: str,
    reason: str,
):
    settings.DEBUG = True
    resp = login(admin_user).post(
        "/alerts/channels/", {"kind": "webhook", "name": "hook", "target": "http://127.0.0.1:9/hook", "secret": secret}
    )
    html = resp.content.decode()
    assert resp.status_code == 200 and reason in html and secret not in html
    assert not m.AlertChannel.objects.exists()


def test_a_given_signing_secret_is_kept_as_given_and_not_shown(login: Any, admin_user: Any, settings: Any):
    settings.DEBUG = True
    secret = standard_secret_generate()
    resp = login(admin_user).post(
        "/alerts/channels/", {"kind": "webhook", "name": "hook", "target": "http://127.0.0.1:9/hook", "secret": secret}
    )
    assert resp.status_code == 302  # nothing to show: the receiver already has it
    assert m.AlertChannel.objects.get().secrets == {"secret": secret}


def test_an_editor_cannot_open_the_channels_page(login: Any, editor: Any):
    assert login(editor).get("/alerts/channels/?kind=slack").status_code == 403
    assert (
        login(editor).post("/alerts/channels/", {"kind": "email", "name": "x", "target": "a@example.com"}).status_code
        == 403
    )
    assert not m.AlertChannel.objects.exists()
