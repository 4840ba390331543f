"""GHL (LeadConnector API v2) emulator; see app.py."""

from contacts_sync.sandbox.ghl.app import mount

__all__ = ["mount"]
