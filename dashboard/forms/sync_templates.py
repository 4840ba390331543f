"""Sync template forms: create one (recipe chosen before), its settings, more locations. Validation only."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts_sync.models import Connection
from dashboard.forms.syncs import _clean_options, _options_field, _poll_field


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LocationChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Connection) -> str:
        agency = f" · {obj.agency.name}" if obj.agency_id and obj.agency else ""
        return f"{obj.name} ({obj.external_account_id}){agency}"


def _locations_field(queryset: Any) -> LocationChoice:
    return LocationChoice(
        queryset=queryset,
        widget=forms.CheckboxSelectMultiple,
        label="Locations",
        help_text="Each gets its own sync: its own runs, health and rate budget.",
    )


class TemplateSettingsForm(_Form):
    webhook_trigger = forms.BooleanField(label="Start a run when a webhook arrives", required=False)
    poll_interval_seconds = _poll_field()
    options = _options_field()

    def __init__(self, *args: Any, recipe: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "webhook" not in recipe.triggers:
            del self.fields["webhook_trigger"]
        if "poll" not in recipe.triggers:
            del self.fields["poll_interval_seconds"]

    def clean_options(self) -> dict[str, Any]:
        return _clean_options(self.cleaned_data.get("options") or "")


class TemplateCreateForm(TemplateSettingsForm):
    name = forms.CharField(max_length=150)
    counterpart = forms.ModelChoiceField(queryset=Connection.objects.none(), empty_label=None)

    field_order = ["name", "counterpart", "locations", "webhook_trigger", "poll_interval_seconds", "options"]

    def __init__(
        self, *args: Any, recipe: Any, counterparts: Any, locations: Any, counterpart_label: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, recipe=recipe, **kwargs)
        self.fields["counterpart"].queryset = counterparts
        self.fields["counterpart"].label = f"{counterpart_label} connection (the same for every location)"
        self.fields["locations"] = _locations_field(locations)
        self.order_fields(self.field_order)


class TemplateApplyForm(_Form):
    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["locations"] = _locations_field(locations)
