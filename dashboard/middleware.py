"""REQUIRE_MFA_FOR_ADMINS: an Admin without an authenticator app sees only the account pages until they add one."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from dashboard import access

# Reachable without MFA: the account pages (log out, set up TOTP), static files, and what machines call.
OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/metrics", "/webhooks/")
MFA_REQUIRED_MESSAGE = "Admins must use two-factor authentication here: set up an authenticator app to continue."


class AdminMfaRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_set_up_mfa(request):
            messages.warning(request, MFA_REQUIRED_MESSAGE)
            target = "mfa_activate_totp"
            if getattr(request, "htmx", False):
                from django.urls import reverse

                return HttpResponseClientRedirect(reverse(target))
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _must_set_up_mfa(request: HttpRequest) -> bool:
        if not getattr(settings, "REQUIRE_MFA_FOR_ADMINS", False):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(OPEN_PREFIXES):
            return False
        return access.is_admin(user) and not is_mfa_enabled(user, types=["totp"])
