from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """No public sign-up: admins create or invite users (manage.py createuser, or the Users page)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
