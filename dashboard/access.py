"""Roles and the access helpers every view uses.

Three roles, as Django groups with permissions:
- Admin: users, connections, alert channels, everything;
- Editor: syncs, mappings, run / retry / cancel;
- Viewer: read-only.
A superuser counts as Admin.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from contacts_sync.roles import ADMIN, EDITOR, ROLE_RANK, VIEWER

F = TypeVar("F", bound=Callable[..., HttpResponse])


def role_of(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    for role in (ADMIN, EDITOR, VIEWER):
        if role in names:
            return role
    return None


def has_role(user: Any, role: str) -> bool:
    mine = role_of(user)
    return mine is not None and ROLE_RANK[mine] >= ROLE_RANK[role]


def can_edit(user: Any) -> bool:
    return has_role(user, EDITOR)


def is_admin(user: Any) -> bool:
    return has_role(user, ADMIN)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_role(role: str) -> Callable[[F], F]:
    """Login required, then at least `role`; 403 otherwise (never a redirect loop for a logged-in user).

    Writes (any method but GET/HEAD/OPTIONS) always need at least Editor: Viewers are read-only everywhere,
    even on a page whose reading is open to them.
    """
    needed_for_write = role if ROLE_RANK[role] >= ROLE_RANK[EDITOR] else EDITOR

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            needed = role if request.method in SAFE_METHODS else needed_for_write
            if not has_role(request.user, needed):
                raise PermissionDenied(f"This needs the {needed} role.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


viewer_required = require_role(VIEWER)
editor_required = require_role(EDITOR)
admin_required = require_role(ADMIN)
