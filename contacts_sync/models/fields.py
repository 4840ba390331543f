from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models

from contacts_sync import crypto

if TYPE_CHECKING:
    # A dict in, a dict out: django-stubs types a model's attribute from the field's type arguments.
    _TextField = models.TextField[Mapping[str, object], dict[str, Any]]
else:
    _TextField = models.TextField


class EncryptedJSONField(_TextField):
    """A dict of secrets, stored as one Fernet token. Never shown in forms or the admin."""

    description = "Encrypted JSON"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict[str, Any]:
        if not value:
            return {}
        return json.loads(crypto.decrypt(value))

    def to_python(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return json.loads(crypto.decrypt(value))

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def formfield(self, **kwargs: Any) -> None:
        return None
