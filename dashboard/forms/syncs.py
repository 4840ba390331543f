"""Forms of the sync pages: create a sync from a recipe, and a sync's settings. Validation only, no saving."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from contacts_sync.models import Connection, ConnectionStatus, Sync, SyncMode
from contacts_sync.services.outbox import FORWARDED_KINDS

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
            self.fields[name].help_text = (
                "Working connections first; ⚠ marks one whose credentials do not work "
                "now. A duplicate holds the same account as another connection."
            )
        self.fields["target_connection"].queryset = targets
        self.fields["target_connection"].label = f"Target: {recipe.target_label} connection"
        if "webhook" not in recipe.triggers:
            del self.fields["webhook_trigger"]
        if "poll" not in recipe.triggers:
            del self.fields["poll_interval_seconds"]

    def clean_options(self) -> dict[str, Any]:
        return _clean_options(self.cleaned_data.get("options") or "")


# A checklist is for onboarding, not a project plan: each item is one GHL call per new contact.
MAX_CHECKLIST_ITEMS = 20
MAX_DUE_DAYS = 365


def _parse_checklist(raw: str) -> list[dict[str, Any]]:
    """One task per line: "Title | due in N days | assignee user id | description" (all but the title optional)."""
    items: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        title, days = parts[0], parts[1] if len(parts) > 1 else ""
        if not title:
            raise forms.ValidationError(f"Line {number}: the task has no title.")
        if len(title) > 255:
            raise forms.ValidationError(f"Line {number}: the title is longer than 255 characters.")
        try:
            due = int(days or 0)
        except ValueError:
            raise forms.ValidationError(f"Line {number}: “{days}” is not a number of days.") from None
        if not 0 <= due <= MAX_DUE_DAYS:
            raise forms.ValidationError(f"Line {number}: due in 0 to {MAX_DUE_DAYS} days, not {due}.")
        item: dict[str, Any] = {"title": title, "due_in_days": due}
        if len(parts) > 2 and parts[2]:
            item["assigned_to"] = parts[2]
        if len(parts) > 3 and "|".join(parts[3:]).strip():
            item["body"] = " | ".join(parts[3:]).strip()
        items.append(item)
    if len(items) > MAX_CHECKLIST_ITEMS:
        raise forms.ValidationError(f"At most {MAX_CHECKLIST_ITEMS} tasks ({len(items)} given).")
    return items


def _format_checklist(items: Any) -> str:
    lines = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            parts = [
                str(item.get("title") or ""),
                str(item.get("due_in_days") or 0),
                str(item.get("assigned_to") or ""),
                str(item.get("body") or ""),
            ]
            lines.append(" | ".join(parts).rstrip(" |"))
    return "\n".join(lines)


def _setting_fields() -> dict[str, forms.Field]:
    """The form fields of the Sync.options a recipe names in `settings` (their keys are the options' keys)."""
    return {
        "onboarding_tasks": forms.CharField(
            label="Onboarding checklist",
            required=False,
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
            help_text="One task per new contact and line: Title | due in N days | assignee user id | description. "
            "Applies to contacts this sync links from now on. Empty = no onboarding tasks.",
        ),
        "project_id": forms.IntegerField(
            label="Hubstaff project ID",
            required=False,
            min_value=1,
            help_text="The project new Hubstaff to-dos are created in (else the connection's).",
        ),
        "tag": forms.CharField(label="Only contacts with this tag", required=False, max_length=100),
        "kinds": forms.MultipleChoiceField(
            label="Changes sent to your app",
            required=False,
            choices=[(k, f"{k.capitalize()} changes") for k in FORWARDED_KINDS],
            widget=forms.CheckboxSelectMultiple,
            help_text="Events of the kinds left unticked are not forwarded (nor kept in the changes feed).",
        ),
        "ghl_contact_id": forms.CharField(
            label="Default GHL contact ID",
            required=False,
            max_length=50,
            help_text="Where records that name no contact go (e.g. notifications about no vendor).",
        ),
    }


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

    def __init__(self, *args: Any, settings: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = _setting_fields()
        self.setting_keys = [key for key in settings if key in offered]
        for key in self.setting_keys:  # before the JSON options, which then hold only the rest
            self.fields[f"setting_{key}"] = offered[key]
        self.order_fields([*(f for f in self.fields if f != "options"), "options"])

    @classmethod
    def for_sync(cls, sync: Sync, data: Any = None, *, settings: tuple[str, ...] = ()) -> SyncSettingsForm:
        """`settings`: the Sync.options keys the sync's recipe offers as their own fields (Recipe.settings)."""
        options = dict(sync.options or {})
        shown = {k: options.pop(k) for k in settings if k in options}
        initial = {
            "name": sync.name,
            "enabled": sync.enabled,
            "webhook_trigger": sync.webhook_trigger,
            "poll_interval_seconds": sync.poll_interval_seconds,
            "mode": sync.mode,
            "backfill_from": sync.backfill_from,
            "options": json.dumps(options, indent=1, sort_keys=True) if options else "",
            **{f"setting_{k}": _format_checklist(v) if k == "onboarding_tasks" else v for k, v in shown.items()},
        }
        if "kinds" in settings and "kinds" not in shown:
            initial["setting_kinds"] = list(FORWARDED_KINDS)  # no `kinds` option: every kind is forwarded
        form = cls(data, initial=initial, label_suffix="", settings=settings)
        if not sync.is_live or sync.archived_at:
            # A sync that never went live starts writing through "Go live" after its preview, not a checkbox; an
            # archived one is restored first.
            del form.fields["enabled"]
        return form

    def clean_options(self) -> dict[str, Any]:
        options = _clean_options(self.cleaned_data.get("options") or "")
        clash = sorted(set(options) & set(self.setting_keys))
        if clash:
            raise forms.ValidationError(f"Set {', '.join(clash)} in its own field above, not here.")
        return options

    def clean_setting_onboarding_tasks(self) -> list[dict[str, Any]]:
        return _parse_checklist(self.cleaned_data.get("setting_onboarding_tasks") or "")

    def clean_setting_kinds(self) -> list[str] | None:
        kinds = list(self.cleaned_data.get("setting_kinds") or [])
        if not kinds:
            raise forms.ValidationError("Tick at least one kind; to stop forwarding, pause the sync.")
        return None if set(kinds) == set(FORWARDED_KINDS) else kinds  # all of them: no option, as a new sync

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == SyncMode.BACKFILL and not data.get("backfill_from"):
            self.add_error("backfill_from", "Pick the date to backfill from.")
        if data.get("mode") != SyncMode.BACKFILL:
            data["backfill_from"] = None
        if "options" in data:  # the recipe's own settings go back into the options they came from
            for key in self.setting_keys:
                value = data.get(f"setting_{key}")
                if value not in (None, "") or key == "onboarding_tasks":
                    data["options"][key] = value
                else:
                    data["options"].pop(key, None)
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

    confirm = forms.CharField(
        label="Type the sync's name to confirm",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, sync: Sync, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.sync = sync

    def clean_confirm(self) -> str:
        value = self.cleaned_data.get("confirm", "")
        if value.strip() != self.sync.name.strip():
            raise forms.ValidationError("That is not the sync's name; nothing was deleted.")
        return value
