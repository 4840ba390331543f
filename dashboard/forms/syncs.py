"""Forms of the sync pages: create a sync from a recipe, and a sync's settings. Validation only, no saving."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from contacts_sync.models import Connection, ConnectionStatus, Sync, SyncMode

# The dispatcher ticks every 30 s; polling more often than once a minute only burns the apps' rate budgets.
MIN_POLL_INTERVAL_SECONDS = 60
# A sync that polls less than weekly is better run by hand.
MAX_POLL_INTERVAL_SECONDS = 7 * 24 * 3600


def _options_field() -> forms.CharField:
    return forms.CharField(
        label="Options (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
        help_text='Recipe options as a JSON object, e.g. {"project_id": 123} or {"tag": "critical"}.',
    )


def _clean_options(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise forms.ValidationError("Options must be a JSON object ({...}).")
    return value


def _poll_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Polling interval (seconds)",
        required=False,
        min_value=MIN_POLL_INTERVAL_SECONDS,
        max_value=MAX_POLL_INTERVAL_SECONDS,
        help_text="Empty = no polling. At least 60.",
    )


class ConnectionChoice(forms.ModelChoiceField):
    """A connection with what matters when picking one: its account, its status, and whether another
    connection holds the same account (selectors.syncs.connections_for annotates `twins`)."""

    def label_from_instance(self, obj: Connection) -> str:
        parts = [obj.name]
        if obj.external_account_id:
            parts.append(obj.external_account_id)
        parts.append(obj.get_status_display() if obj.status != ConnectionStatus.CONNECTED else "connected")
        label = " · ".join(parts)
        if obj.status != ConnectionStatus.CONNECTED:
            label = f"⚠ {label}"
        if getattr(obj, "twins", 0):
            label += " · duplicate: the same account is connected twice"
        return label

    def clean(self, value: Any) -> Any:
        connection = super().clean(value)
        if connection is not None and connection.status == ConnectionStatus.DISABLED:
            raise forms.ValidationError(f"{connection.name} is disconnected; connect it again first.")
        return connection


class SyncCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    source_connection = ConnectionChoice(queryset=Connection.objects.none(), empty_label=None)
    target_connection = ConnectionChoice(queryset=Connection.objects.none(), empty_label=None)
    webhook_trigger = forms.BooleanField(label="Start a run when a webhook arrives", required=False)
    poll_interval_seconds = _poll_field()
    options = _options_field()

    def __init__(self, *args: Any, recipe: Any, sources: Any, targets: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.recipe = recipe
        self.fields["source_connection"].queryset = sources
        self.fields["source_connection"].label = f"Source: {recipe.source_label} connection"
        for name in ("source_connection", "target_connection"):
            self.fields[name].help_text = ("Working connections first; ⚠ marks one whose credentials do not work "
                                           "now. A duplicate holds the same account as another connection.")
        self.fields["target_connection"].queryset = targets
        self.fields["target_connection"].label = f"Target: {recipe.target_label} connection"
        if "webhook" not in recipe.triggers:
            del self.fields["webhook_trigger"]
        if "poll" not in recipe.triggers:
            del self.fields["poll_interval_seconds"]

    def clean_options(self) -> dict[str, Any]:
        return _clean_options(self.cleaned_data.get("options") or "")


class SyncSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    enabled = forms.BooleanField(label="Enabled (unticked = paused)", required=False)
    webhook_trigger = forms.BooleanField(label="Start a run when a webhook arrives", required=False)
    poll_interval_seconds = _poll_field()
    mode = forms.ChoiceField(choices=SyncMode.choices)
    backfill_from = forms.DateTimeField(
        label="Backfill from",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Only for the backfill mode: records changed since this moment.",
    )
    options = _options_field()

    @classmethod
    def for_sync(cls, sync: Sync, data: Any = None) -> SyncSettingsForm:
        initial = {
            "name": sync.name,
            "enabled": sync.enabled,
            "webhook_trigger": sync.webhook_trigger,
            "poll_interval_seconds": sync.poll_interval_seconds,
            "mode": sync.mode,
            "backfill_from": sync.backfill_from,
            "options": json.dumps(sync.options, indent=1, sort_keys=True) if sync.options else "",
        }
        form = cls(data, initial=initial, label_suffix="")
        if not sync.is_live or sync.archived_at:
            # A sync that never went live starts writing through "Go live" after its preview, not a checkbox; an
            # archived one is restored first.
            del form.fields["enabled"]
        return form

    def clean_options(self) -> dict[str, Any]:
        return _clean_options(self.cleaned_data.get("options") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == SyncMode.BACKFILL and not data.get("backfill_from"):
            self.add_error("backfill_from", "Pick the date to backfill from.")
        if data.get("mode") != SyncMode.BACKFILL:
            data["backfill_from"] = None
        return data


class SyncCloneForm(forms.Form):
    """A copy of a sync, between the same connections or other ones of the same apps."""

    name = forms.CharField(max_length=200)
    source_connection = forms.ModelChoiceField(queryset=Connection.objects.none(), empty_label=None)
    target_connection = forms.ModelChoiceField(queryset=Connection.objects.none(), empty_label=None)

    def __init__(self, *args: Any, sync: Sync, sources: Any, targets: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["source_connection"].queryset = sources
        self.fields["source_connection"].label = f"Source: {sync.source_connection.get_provider_display()} connection"
        self.fields["target_connection"].queryset = targets
        self.fields["target_connection"].label = f"Target: {sync.target_connection.get_provider_display()} connection"


class SyncDeleteForm(forms.Form):
    """Deleting a sync is confirmed by typing its name (the service checks it again)."""

    confirm = forms.CharField(label="Type the sync's name to confirm", max_length=200,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def __init__(self, *args: Any, sync: Sync, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.sync = sync

    def clean_confirm(self) -> str:
        value = self.cleaned_data.get("confirm", "")
        if value.strip() != self.sync.name.strip():
            raise forms.ValidationError("That is not the sync's name; nothing was deleted.")
        return value
