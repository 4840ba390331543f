from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import access


def nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "user_role": access.role_of(user) if user is not None else None,
        "user_can_edit": access.can_edit(user) if user is not None else False,
        "user_is_admin": access.is_admin(user) if user is not None else False,
    }
