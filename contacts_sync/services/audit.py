from __future__ import annotations

from typing import Any

from django.db import models

from contacts_sync.models import AuditEntry

# Keys never written to the audit log, whatever a caller passes.
SECRET_KEYS = {
    "password",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "secret",
    "webhook_secret",
    "client_secret",
    "private_token",
    "secrets",
}


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[secret]" if k.lower() in SECRET_KEYS else v) for k, v in changes.items()}


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    ip_address: str | None = None,
) -> AuditEntry:
    """Who did what to which object; secrets are replaced by a marker, never stored."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=_scrub(changes or {}),
        ip_address=ip_address or None,
    )


# A login typed into the email field is kept this long at most (enough to recognise it, not a stored essay).
ATTEMPTED_LOGIN_MAX = 100


def audit_login(*, user: Any, ip_address: str | None, method: str = "password") -> AuditEntry:
    return audit_record(
        actor=user,
        action="user.login",
        obj=user,
        object_repr=str(getattr(user, "email", user)),
        changes={"method": method},
        ip_address=ip_address,
    )


def audit_logout(*, user: Any, ip_address: str | None) -> AuditEntry:
    return audit_record(
        actor=user, action="user.logout", obj=user, object_repr=str(getattr(user, "email", user)), ip_address=ip_address
    )


def audit_login_failed(
    *, attempted: str, ip_address: str | None, reason: str = "wrong email or password"
) -> AuditEntry:
    """A refused sign-in. The typed login is kept (truncated) so repeated attempts on one account show; the
    password never reaches here (Django masks it before the signal)."""
    from django.contrib.auth import get_user_model

    attempted = (attempted or "").strip()[:ATTEMPTED_LOGIN_MAX]
    user = get_user_model().objects.filter(email__iexact=attempted).only("pk").first() if attempted else None
    return audit_record(
        actor=None,
        action="user.login_failed",
        object_type="user",
        object_id=str(user.pk) if user else "",
        object_repr=attempted,
        changes={"reason": reason},
        ip_address=ip_address,
    )


def audit_record_many(*, actor: Any, action: str, items: list[tuple[models.Model, dict[str, Any]]]) -> None:
    """The same action on many objects (a template edit reaching hundreds of syncs) in one INSERT."""
    who = actor if getattr(actor, "is_authenticated", False) else None
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=who,
                action=action,
                object_type=obj._meta.model_name or "",
                object_id=str(obj.pk),
                object_repr=str(obj)[:300],
                changes=_scrub(changes),
            )
            for obj, changes in items
        ]
    )
