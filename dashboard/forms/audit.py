"""The audit page's filters (GET): unknown values are refused by the form, never passed to the database."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts_sync.selectors.audit import SYSTEM_ACTOR, AuditFilters, FilterOptions


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label="Who")
    type = forms.ChoiceField(required=False, label="Object")
    id = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)  # one object's history
    action = forms.ChoiceField(required=False, label="Action")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, *, options: FilterOptions) -> None:
        params = {
            k: data.get(v, "")
            for k, v in (
                ("actor", "actor"),
                ("type", "type"),
                ("id", "id"),
                ("action", "action"),
                ("date_from", "from"),
                ("date_to", "to"),
            )
        }
        super().__init__(params, label_suffix="")
        self.fields["actor"].choices = [("", "Everyone"), (SYSTEM_ACTOR, "system (no person)"), *options.actors]
        self.fields["type"].choices = [("", "Any object"), *((t, t) for t in options.object_types)]
        prefixes = sorted({a.split(".")[0] + "." for a in options.actions if "." in a})
        self.fields["action"].choices = [
            ("", "Any action"),
            *((p, f"{p}*") for p in prefixes),
            *((a, a) for a in options.actions),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end is before the start.")
        return data

    def filters(self) -> AuditFilters:
        """The valid filters ("" for each one that is not): a bad value is ignored and named on the page."""
        data = self.cleaned_data if self.is_bound else {}
        bad = set(self.errors)
        return AuditFilters(
            actor="" if "actor" in bad else data.get("actor") or "",
            object_type="" if "type" in bad else data.get("type") or "",
            object_id="" if "id" in bad else (data.get("id") or "").strip(),
            action="" if "action" in bad else data.get("action") or "",
            date_from=None if bad & {"date_from", "date_to"} else data.get("date_from"),
            date_to=None if bad & {"date_from", "date_to"} else data.get("date_to"),
        )
