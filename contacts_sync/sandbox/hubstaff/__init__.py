"""Hubstaff API v2 emulator, mounted at /hubstaff by the sandbox server.

Defaults: organization 1001, personal access token "hubstaff-sandbox-pat" (owner user 7001), project 3001,
2,500 messy clients, 25 members, 400 tasks, 300 notes. Grow or add organizations with
`POST /hubstaff/_admin/seed {"organization_id": 1002, "clients": 5000, "tasks": 100}`; mint more PATs
(each rotates on use) with `POST /hubstaff/_admin/pats`; set the hourly limit with
`POST /hubstaff/_admin/limits {"requests": 1000, "window_s": 3600}` (0 = off).
"""

from __future__ import annotations

from .app import HubstaffEmulator, mount
from .state import DEFAULT_ORG_ID, DEFAULT_PAT, DEFAULT_PROJECT_ID, DEFAULT_USER_ID

__all__ = [
    "DEFAULT_ORG_ID",
    "DEFAULT_PAT",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_USER_ID",
    "HubstaffEmulator",
    "mount",
]
