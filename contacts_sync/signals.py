from __future__ import annotations

from typing import Any


def ensure_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    from contacts_sync.services.users import roles_ensure

    roles_ensure()
