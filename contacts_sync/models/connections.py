from __future__ import annotations

import secrets as pysecrets

from django.conf import settings
from django.db import models

from contacts_sync.connectors import registry

from .fields import EncryptedJSONField


class Provider(models.TextChoices):
    GHL = "ghl", "HighLevel"
    HUBSTAFF = "hubstaff", "Hubstaff"
    HOTSPOTSYSTEM = "hotspotsystem", "HotspotSystem"
    STARBUERO = "starbuero", "starbuero.de"
    UPGUARD = "upguard", "UpGuard"
    CUSTOM = "custom", "Custom app"


class AuthKind(models.TextChoices):
    OAUTH2 = "oauth2", "OAuth 2.0"
    PRIVATE_TOKEN = "private_token", "Private integration token"
    API_KEY = "api_key", "API key"
    WEBHOOK_SECRET = "webhook_secret", "Token and webhook secret"
    LOCATION_TOKEN = "location_token", "Location token from the agency"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    NEEDS_REAUTH = "needs_reauth", "Needs re-auth"
    ERROR = "error", "Error"
    DISABLED = "disabled", "Disabled"


# 24 random bytes, URL-safe (32 characters): the part of a webhook URL nobody can guess.
WEBHOOK_TOKEN_BYTES = 24


def webhook_token_new() -> str:
    return pysecrets.token_urlsafe(WEBHOOK_TOKEN_BYTES)


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def agencies(self) -> ConnectionQuerySet:
        """GHL agencies (Company installs): a company id and no location of their own."""
        return self.filter(provider="ghl", external_account_id="").exclude(company_id="")

    def accounts(self) -> ConnectionQuerySet:
        """Connections a sync can read from or write to (every one but GHL agencies)."""
        return self.exclude(provider="ghl", external_account_id="", company_id__gt="")


class Connection(models.Model):
    """One authorized account in one app (a GHL location, a Hubstaff organization, ...).

    A GHL agency (Company) is a connection too, with `company_id` and no location; the sub-accounts connected
    through it are connections whose `agency` points at it.
    """

    name = models.CharField(max_length=200)
    # Every app of connectors.registry (a callable: adding an app needs no migration).
    provider = models.CharField(max_length=32, choices=registry.choices)
    auth_kind = models.CharField(max_length=32, choices=AuthKind.choices)
    external_account_id = models.CharField(max_length=200, blank=True)  # GHL locationId, Hubstaff org id, ...
    company_id = models.CharField(max_length=200, blank=True)  # GHL companyId
    # The GHL agency this sub-account was connected through (its token is minted from the agency's, or it uses
    # its own private token listed by the agency); null for everything else.
    agency = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="locations")
    base_url = models.URLField(max_length=500, blank=True)  # empty = the provider's public API
    config = models.JSONField(default=dict, blank=True)  # non-secret settings (default phone region, ...)
    secrets = EncryptedJSONField(blank=True, default=dict)  # access/refresh tokens, api keys, webhook secret
    scopes = models.JSONField(default=list, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=32, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The app posts its webhooks to /webhooks/<webhook_token>/ (never the guessable primary key).
    webhook_token = models.CharField(max_length=64, unique=True, default=webhook_token_new, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # archived: disconnected and hidden from the lists and pickers, its history kept; None = in use
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "name"]
        indexes = [models.Index(fields=["provider", "external_account_id"])]
        constraints = [
            # One connection per sub-account of an agency: an INSTALL webhook and an admin's click may race.
            models.UniqueConstraint(
                fields=["agency", "external_account_id"],
                condition=models.Q(agency__isnull=False),
                name="one_connection_per_agency_location",
            ),
            # One agency connection per GHL company (reconnecting updates it).
            models.UniqueConstraint(
                fields=["company_id"],
                condition=models.Q(provider="ghl", external_account_id="") & ~models.Q(company_id=""),
                name="one_agency_connection_per_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    @property
    def is_agency(self) -> bool:
        return self.provider == "ghl" and not self.external_account_id and bool(self.company_id)


class PendingOAuthGrant(models.Model):
    """A HighLevel consent for a location that is already connected, held until the admin decides whether it
    replaces that connection's credentials (services.ghl_oauth). Encrypted like every secret; short-lived."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)  # the name typed when the consent was started
    secrets = EncryptedJSONField(blank=True, default=dict)  # the new access/refresh pair
    details = models.JSONField(default=dict, blank=True)  # scopes, company id, base URL, token URL, expiry
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
