"""Users page forms: invite by email with a role, change a role."""

from __future__ import annotations

from django import forms

from contacts_sync.roles import ROLES

ROLE_HELP = "Admin: users, connections, everything. Editor: syncs, mappings, runs. Viewer: read-only."


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="Viewer", help_text=ROLE_HELP)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])
