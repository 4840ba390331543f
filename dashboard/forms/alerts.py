"""Alert channel form: the kind decides which fields are required; secrets are write-only."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts_sync.alerts.transports.email import recipients
from contacts_sync.models import ChannelKind
from contacts_sync.services.channels import ChannelURLError, url_check


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ChannelKind.choices)
    target = forms.CharField(
        label="Address or URL", max_length=500, required=False,
        help_text="Email: one or more addresses, comma-separated. Signed webhook: the receiver's URL.",
    )
    slack_url = forms.CharField(
        label="Slack incoming webhook URL", max_length=500, required=False,
        help_text="https://hooks.slack.com/services/… Stored encrypted, never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    secret = forms.CharField(
        label="Signing secret (optional)", max_length=200, required=False,
        help_text="A whsec_… secret your receiver already has; empty = we generate one and show it once.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if kind == ChannelKind.EMAIL:
            addresses = recipients(target)
            if not addresses:
                self.add_error("target", "Enter at least one email address.")
            for a in addresses:
                try:
                    forms.EmailField().clean(a)
                except forms.ValidationError:
                    self.add_error("target", f"{a!r} is not an email address.")
        elif kind == ChannelKind.WEBHOOK:
            self._check_url("target", target)
        elif kind == ChannelKind.SLACK:
            self._check_url("slack_url", (data.get("slack_url") or "").strip())
        return data

    def _check_url(self, field: str, url: str) -> None:
        if not url:
            self.add_error(field, "Enter the URL.")
            return
        try:
            url_check(url)
        except ChannelURLError as exc:
            self.add_error(field, str(exc))
