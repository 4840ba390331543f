"""The three roles and the permissions each holds. Groups are created after every migrate."""

from __future__ import annotations

ADMIN = "Admin"
EDITOR = "Editor"
VIEWER = "Viewer"
ROLES = (ADMIN, EDITOR, VIEWER)
ROLE_RANK = {VIEWER: 1, EDITOR: 2, ADMIN: 3}

_VIEW = ["view_sync", "view_run", "view_runitem", "view_connection", "view_mappingversion", "view_alert"]
_EDIT = [
    "add_sync",
    "change_sync",
    "add_mappingversion",
    "add_run",
    "change_run",
    "change_alert",
]
# "*" = every permission of the project's app.
ROLE_PERMISSIONS: dict[str, list[str]] = {VIEWER: _VIEW, EDITOR: _VIEW + _EDIT, ADMIN: ["*"]}
