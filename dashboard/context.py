from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from . import access

# (key, label, url name, role needed). An entry shows once its page exists.
NAV = [
    ("syncs", "Syncs", "dashboard:sync_list", access.VIEWER),
    ("runs", "Runs", "dashboard:run_list", access.VIEWER),
    ("fleet", "Fleet", "dashboard:fleet", access.VIEWER),
    ("alerts", "Alerts", "dashboard:alert_list", access.VIEWER),
    ("connections", "Connections", "dashboard:connection_list", access.VIEWER),
    ("catalog", "Catalogue", "dashboard:catalog", access.VIEWER),
    ("channels", "Alert channels", "dashboard:channel_list", access.ADMIN),
    ("users", "Users", "dashboard:user_list", access.ADMIN),
    ("audit", "Audit log", "dashboard:audit_list", access.ADMIN),
]


def nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for key, label, name, role in NAV:
            if not access.has_role(user, role):
                continue
            try:
                items.append({"key": key, "label": label, "url": reverse(name)})
            except NoReverseMatch:
                continue
    return {
        "nav_items": items,
        "user_role": access.role_of(user) if user is not None else None,
        "user_can_edit": access.can_edit(user) if user is not None else False,
        "user_is_admin": access.is_admin(user) if user is not None else False,
    }
