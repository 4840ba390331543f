from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction

from contacts_sync.roles import ADMIN, ROLE_PERMISSIONS, ROLES
from contacts_sync.services.audit import audit_record


def roles_ensure() -> None:
    """Create or refresh the Admin / Editor / Viewer groups with their permissions."""
    app_perms = Permission.objects.filter(content_type__app_label="contacts_sync")
    by_code = {p.codename: p for p in app_perms}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = ROLE_PERMISSIONS[role]
        perms = list(app_perms) if wanted == ["*"] else [by_code[c] for c in wanted if c in by_code]
        group.permissions.set(perms)


@transaction.atomic
def user_create(
    *, email: str, role: str, password: str | None = None, check_password: bool = True, **extra: Any
) -> Any:
    """Create a user with one role. Without a password the user sets one through "forgot password".

    A password goes through AUTH_PASSWORD_VALIDATORS (ValueError listing every problem); only the demo's
    well-known admin password skips them (`check_password=False`, manage.py demo_setup).
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email[:150], email=email, **extra)
    if password and check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValueError("password refused: " + " ".join(exc.messages)) from exc
    if password:
        user.set_password(password)
    elif not user.pk:
        user.set_unusable_password()
    user.is_staff = role == ADMIN
    user.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"primary": True, "verified": True})
    roles_ensure()
    user.groups.set([Group.objects.get(name=role)])
    return user


class UserActionError(Exception):
    """A users-page action that must not happen (shown to the admin as it is)."""


def _active_admins() -> Any:
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(models.Q(groups__name=ADMIN) | models.Q(is_superuser=True))
        .distinct()
    )


def _role_of(user: Any) -> str | None:
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in ROLES if r in names), None)


def user_invite(*, email: str, role: str, actor: Any, request: Any) -> Any:
    """Create a user with an unusable password and email them allauth's set-password link.

    The link is allauth's password-reset link (its token generator and its "reset password from key" page), in
    an invitation email, so they choose their own password. An existing address is refused (change its role
    instead), so an invite never resets someone's password.
    """
    from allauth.account.adapter import get_adapter
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str
    from django.urls import reverse

    User = get_user_model()
    email = User.objects.normalize_email(email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise UserActionError(f"{email} already has an account; change its role in the list instead")
    with transaction.atomic():
        user = user_create(email=email, role=role)
        audit_record(actor=actor, action="user.invite", obj=user, changes={"email": email, "role": role})
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    get_adapter(request).send_mail(
        "users/email/invite",
        email,
        {
            "user": user,
            "role": role,
            "invited_by": getattr(actor, "email", ""),
            "password_set_url": request.build_absolute_uri(path),
            "login_url": request.build_absolute_uri(reverse("account_login")),
        },
    )
    return user


def user_role_set(*, user: Any, role: str, actor: Any) -> Any:
    if role not in ROLES:
        raise UserActionError(f"role must be one of {', '.join(ROLES)}")
    old = _role_of(user)
    if old == role:
        return user
    if old == ADMIN and user.is_active and not _active_admins().exclude(pk=user.pk).exists():
        raise UserActionError("this is the last active admin; make someone else admin first")
    if user.is_superuser:
        raise UserActionError("a superuser is always an admin; change it with manage.py")
    roles_ensure()
    with transaction.atomic():
        user.groups.set([Group.objects.get(name=role)])
        user.is_staff = role == ADMIN
        user.save(update_fields=["is_staff"])
        audit_record(actor=actor, action="user.role_set", obj=user, changes={"role": {"from": old, "to": role}})
    return user


def user_active_set(*, user: Any, active: bool, actor: Any) -> Any:
    """Deactivate (cannot log in; history kept) or reactivate a user. Nobody deactivates themselves."""
    if user.is_active == active:
        return user
    if not active:
        if user.pk == getattr(actor, "pk", None):
            raise UserActionError("you cannot deactivate yourself")
        if _role_of(user) == ADMIN and not _active_admins().exclude(pk=user.pk).exists():
            raise UserActionError("this is the last active admin")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.activate" if active else "user.deactivate",
            obj=user,
            changes={"email": user.email},
        )
    if not active:
        _sessions_end(user)
    return user


def _sessions_end(user: Any) -> None:
    """Log a deactivated user out everywhere (database sessions)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
