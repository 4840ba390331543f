"""Alert forms: one channel form per kind (only that kind's fields), a sync's alert rule, and a mute.

Secrets are write-only (PasswordInput without its value). The checks are the service's own
(services.channels), run here first so each message sits under its field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from contacts_sync.models import AlertChannel, ChannelKind
from contacts_sync.services import alert_rules
from contacts_sync.services.channels import (
    ChannelURLError,
    email_problems,
    secret_problem,
    slack_url_problem,
    url_check,
)


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class _ChannelForm(_Form):
    kind_value = ""
    name = forms.CharField(max_length=200, help_text="How the channel shows in lists, e.g. “On-call mail”.")

    def create_args(self) -> dict[str, str]:
        """Keyword arguments of services.channels.channel_create."""
        return {"name": self.cleaned_data["name"], "kind": self.kind_value}


class EmailChannelForm(_ChannelForm):
    kind_value = ChannelKind.EMAIL
    target = forms.CharField(
        label="Email addresses", max_length=500, help_text="One or more addresses, separated by commas."
    )

    def clean_target(self) -> str:
        target = self.cleaned_data["target"].strip()
        if problems := email_problems(target):
            raise forms.ValidationError(problems)
        return target

    def create_args(self) -> dict[str, str]:
        return {**super().create_args(), "target": self.cleaned_data["target"]}


class SlackChannelForm(_ChannelForm):
    kind_value = ChannelKind.SLACK
    slack_url = forms.CharField(
        label="Slack incoming webhook URL",
        max_length=500,
        help_text="https://hooks.slack.com/services/… Stored encrypted, never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    target = forms.CharField(
        label="Slack channel (optional)",
        max_length=200,
        required=False,
        help_text="For the list only, e.g. #sync-alerts; the URL decides where it posts.",
    )

    def clean_slack_url(self) -> str:
        url = self.cleaned_data["slack_url"].strip()
        if problem := slack_url_problem(url):
            raise forms.ValidationError(problem)
        return url

    def create_args(self) -> dict[str, str]:
        return {
            **super().create_args(),
            "slack_url": self.cleaned_data["slack_url"],
            "target": self.cleaned_data.get("target") or "",
        }


class WebhookChannelForm(_ChannelForm):
    kind_value = ChannelKind.WEBHOOK
    target = forms.CharField(
        label="Receiver URL",
        max_length=500,
        help_text="Your endpoint; every alert is POSTed there as JSON, signed per Standard Webhooks.",
    )
    secret = forms.CharField(
        label="Signing secret (optional)",
        max_length=200,
        required=False,
        help_text="A whsec_… secret your receiver already has. Empty: we generate one and show it once.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_target(self) -> str:
        try:
            return url_check(self.cleaned_data["target"])
        except ChannelURLError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret", "").strip()
        if problem := secret_problem(secret):
            raise forms.ValidationError(problem)
        return secret

    def create_args(self) -> dict[str, str]:
        return {
            **super().create_args(),
            "target": self.cleaned_data["target"],
            "secret": self.cleaned_data.get("secret") or "",
        }


CHANNEL_FORMS: dict[str, type[_ChannelForm]] = {
    ChannelKind.EMAIL: EmailChannelForm,
    ChannelKind.SLACK: SlackChannelForm,
    ChannelKind.WEBHOOK: WebhookChannelForm,
}


# --- a sync's alert rule ------------------------------------------------------------------------------------


def _number(label: str, bounds: tuple[int, int], help_text: str, *, required: bool) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=bounds[0], max_value=bounds[1], required=required, help_text=help_text
    )


class ChannelChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AlertChannel) -> str:
        state = "" if obj.enabled else " (disabled)"
        return f"{obj.name} · {obj.get_kind_display()}{state}"


class AlertRuleForm(_Form):
    failed_share_percent = _number(
        "Degraded above this share of failed records (%)",
        alert_rules.FAILED_SHARE_RANGE,
        "A run whose failed records exceed this share of what it handled leaves the sync degraded. Default 5.",
        required=True,
    )
    failing_after_runs = _number(
        "Failing after this many failed runs in a row",
        alert_rules.FAILING_AFTER_RANGE,
        "1 = the first failed run alerts. 3 = a blip or two is tolerated.",
        required=True,
    )
    stale_after_hours = _number(
        "Stale after this many hours without a successful run",
        alert_rules.HOURS_RANGE,
        "Empty = three polling intervals (a sync without polling then never goes stale).",
        required=False,
    )
    slow_run_minutes = _number(
        "Degraded when a run takes longer than (minutes)",
        alert_rules.SLOW_MINUTES_RANGE,
        "Empty = no limit.",
        required=False,
    )
    renotify_hours = _number(
        "Remind every (hours) while the alert stays open",
        alert_rules.HOURS_RANGE,
        "Empty = tell once. Acknowledging the alert stops the reminders.",
        required=False,
    )
    channels = ChannelChoices(
        queryset=AlertChannel.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send this sync's alerts to",
        help_text="None ticked = every enabled channel.",
    )


MUTE_CHOICES = (("1", "1 hour"), ("4", "4 hours"), ("24", "24 hours"), ("168", "7 days"), ("until", "until…"))


class MuteForm(_Form):
    """Mute for a fixed time, or until a moment typed in the browser's local time."""

    hours = forms.ChoiceField(choices=MUTE_CHOICES, initial="4", label="Mute for")
    until = forms.DateTimeField(
        required=False,
        label="Until",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("hours") == "until":
            if not data.get("until"):
                self.add_error("until", "Pick the moment the mute ends.")
            elif data["until"] <= timezone.now():
                self.add_error("until", "Pick a moment in the future.")
        return data

    def moment(self) -> Any:
        data = self.cleaned_data
        if data["hours"] == "until":
            return data["until"]
        return timezone.now() + timedelta(hours=int(data["hours"]))
