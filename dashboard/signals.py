"""Who signs in, out, and fails to: allauth and Django auth signals written to the audit log.

Handlers only translate a signal into one services.audit call (the request gives the address); they decide
nothing. Connected in DashboardConfig.ready().
"""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.http import HttpRequest

from contacts_sync.services import audit


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address Django saw (a proxy in front must pass the client's on as REMOTE_ADDR)."""
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def _logged_in(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        audit.audit_login(user=user, ip_address=client_ip(request))


def _logged_out(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and getattr(user, "is_authenticated", False):
        audit.audit_logout(user=user, ip_address=client_ip(request))


def _login_failed(
    sender: Any, credentials: dict[str, Any] | None = None, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    credentials = credentials or {}
    attempted = str(credentials.get("email") or credentials.get("username") or credentials.get("login") or "")
    audit.audit_login_failed(attempted=attempted, ip_address=client_ip(request))


def _mfa_failed(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    audit.audit_record(actor=user, action="user.mfa_failed", obj=user, ip_address=client_ip(request))


def _user_event(action: str) -> Any:
    def handler(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
        authenticator = kwargs.get("authenticator")
        changes = {"type": str(getattr(authenticator, "type", ""))} if authenticator is not None else {}
        audit.audit_record(actor=user, action=action, obj=user, changes=changes, ip_address=client_ip(request))

    return handler


# Kept referenced: Signal.connect holds weak references by default.
_HANDLERS = {
    "password_changed": _user_event("user.password_change"),
    "password_set": _user_event("user.password_set"),
    "password_reset": _user_event("user.password_reset"),
    "authenticator_added": _user_event("user.mfa_add"),
    "authenticator_removed": _user_event("user.mfa_remove"),
    "authenticator_reset": _user_event("user.mfa_reset"),
}


def connect() -> None:
    auth_signals.user_logged_in.connect(_logged_in, dispatch_uid="audit.user_logged_in")
    auth_signals.user_logged_out.connect(_logged_out, dispatch_uid="audit.user_logged_out")
    auth_signals.user_login_failed.connect(_login_failed, dispatch_uid="audit.user_login_failed")
    mfa_signals.authentication_failed.connect(_mfa_failed, dispatch_uid="audit.mfa_failed")
    for name in ("password_changed", "password_set", "password_reset"):
        getattr(account_signals, name).connect(_HANDLERS[name], dispatch_uid=f"audit.{name}")
    for name in ("authenticator_added", "authenticator_removed", "authenticator_reset"):
        getattr(mfa_signals, name).connect(_HANDLERS[name], dispatch_uid=f"audit.{name}")
