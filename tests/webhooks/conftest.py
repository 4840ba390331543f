from __future__ import annotations

from typing import Any

import pytest

from tests.webhooks.signing import ed25519_key, public_pem, rsa_key


@pytest.fixture
def ghl_keys(settings: Any) -> None:
    """The service verifies with test key pairs instead of HighLevel's published keys."""
    settings.GHL_WEBHOOK_PUBLIC_KEY = public_pem(ed25519_key())
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = public_pem(rsa_key())
