"""Connection forms. Secret fields are write-only: never rendered back (PasswordInput without its value)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.functional import lazy

from contacts_sync.services.connections import region_problem
from contacts_sync.services.ghl_oauth import GHL_SCOPES

SECRET_SET_PLACEHOLDER = "•••• set, replace?"


def base_url_help(path: str, public: str = "the app's public API") -> str:
    """The base URL's help: the emulators' real address when they run (make demo sets SANDBOX_URL)."""
    emulators = (
        f"{settings.SANDBOX_URL.rstrip('/')}{path}"
        if settings.SANDBOX_URL
        else f"the emulators' address followed by {path} (make demo prints it)"
    )
    return f"Advanced. Empty = {public}. To use the local emulators: {emulators}."


def _secret_field(label: str, help_text: str, *, required: bool, already_set: bool) -> forms.CharField:
    attrs = {"autocomplete": "new-password", "spellcheck": "false"}
    if already_set:
        attrs["placeholder"] = SECRET_SET_PLACEHOLDER
    return forms.CharField(
        label=label,
        required=required,
        strip=True,
        max_length=4000,
        help_text=("Stored encrypted; leave empty to keep the current one. " if already_set else "Stored encrypted. ")
        + help_text,
        widget=forms.PasswordInput(attrs=attrs, render_value=False),
    )


class _Form(forms.Form):
    """No colon after labels (the stylesheet sets them in bold above the field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ConnectionForm(_Form):
    """Create (all secrets required) or edit (secrets optional: empty keeps the stored one) one connection."""

    name = forms.CharField(max_length=200)

    def __init__(self, *args: Any, spec: Any, secrets_set: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        editing = secrets_set is not None
        if spec.account_label:
            self.fields["external_account_id"] = forms.CharField(
                label=spec.account_label, max_length=200, required=spec.account_required
            )
        self.fields["base_url"] = forms.URLField(
            label="Base URL",
            required=spec.base_url_required,
            max_length=500,
            assume_scheme="https",
            help_text=("Your app's API root, e.g. https://app.example.com/api. " if spec.base_url_required else "")
            + base_url_help(spec.emulator_path or ""),
        )
        self.fields["default_region"] = forms.CharField(
            label="Default phone region",
            required=False,
            max_length=2,
            help_text="Two letters (DE, US, CH): numbers written without a country code are read as this "
            "country's. Empty: the account's own country when it says (a GHL location), else US.",
        )
        for secret in spec.secrets:
            self.fields[f"secret_{secret.key}"] = _secret_field(
                secret.label,
                secret.help,
                required=not editing,
                already_set=editing and secret.key in (secrets_set or set()),
            )

    def secret_values(self) -> dict[str, str]:
        return {
            s.key: self.cleaned_data[f"secret_{s.key}"]
            for s in self.spec.secrets
            if self.cleaned_data.get(f"secret_{s.key}")
        }

    def clean_default_region(self) -> str:
        region = (self.cleaned_data.get("default_region") or "").strip().upper()
        problem = region_problem(region)
        if problem:
            raise forms.ValidationError(problem)
        return region

    def settings_values(self) -> dict[str, Any]:
        values = {
            "name": self.cleaned_data["name"],
            "base_url": self.cleaned_data.get("base_url") or "",
            "default_region": self.cleaned_data.get("default_region") or "",
        }
        if "external_account_id" in self.fields:
            values["external_account_id"] = self.cleaned_data.get("external_account_id") or ""
        return values


def scope_choices() -> list[tuple[str, str]]:
    return [(s.scope, f"{s.scope} · {'write' if s.write else 'read-only'} · {s.purpose}") for s in GHL_SCOPES]


class GHLConnectForm(_Form):
    """Start the HighLevel OAuth consent: a name, one sub-account or an agency, the scopes to ask for, and
    (advanced) the emulator's URL."""

    name = forms.CharField(max_length=200, initial="HighLevel")
    scopes = forms.MultipleChoiceField(choices=scope_choices, widget=forms.CheckboxSelectMultiple)
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=lazy(base_url_help, str)("/ghl", "HighLevel itself"),
    )
    kind = forms.ChoiceField(
        label="What to connect",
        initial="location",
        widget=forms.RadioSelect,
        choices=(
            ("location", "One sub-account (location)"),
            ("agency", "An agency and its sub-accounts (HighLevel Company install)"),
        ),
    )
    connect_all = forms.BooleanField(
        label="Connect every sub-account where the app is installed right away",
        required=False,
        initial=True,
        help_text="Agency only; new sub-accounts are connected as the app gets installed on them. Untick to "
        "choose them on the agency's page.",
    )


class AgencyPITForm(_Form):
    """An agency by its private integration token (it lists the sub-accounts; each needs its own token)."""

    name = forms.CharField(max_length=200, initial="HighLevel agency")
    company_id = forms.CharField(label="Agency (company) ID", max_length=200)
    token = forms.CharField(
        label="Agency private integration token",
        max_length=4000,
        strip=True,
        help_text="Stored encrypted. Agency settings → Private Integrations; grant locations.readonly.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}, render_value=False),
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=lazy(base_url_help, str)("/ghl"),
    )


class LocationPITForm(_Form):
    """A sub-account of a private-token agency, connected with its own private integration token."""

    location_id = forms.CharField(max_length=200, widget=forms.HiddenInput)
    token = forms.CharField(
        label="Sub-account private integration token",
        max_length=4000,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}, render_value=False),
    )


class ConfirmForm(_Form):
    """Typed confirmation for destructive actions (disconnect)."""

    confirm = forms.CharField(max_length=200, help_text="Type the connection's name to confirm.")

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError("That is not the connection's name.")
        return value
