"""Users page forms: invite by email with a role, change a role."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts_sync.roles import ROLES

ROLE_HELP = "Admin: users, connections, everything. Editor: syncs, mappings, runs. Viewer: read-only."


class _Form(forms.Form):
    """No colon after labels (the stylesheet sets them in bold above the field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class InviteForm(_Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="Viewer", help_text=ROLE_HELP)


class RoleForm(_Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])
