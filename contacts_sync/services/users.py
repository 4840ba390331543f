from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from contacts_sync.roles import ADMIN, ROLE_PERMISSIONS, ROLES


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
def user_create(*, email: str, role: str, password: str | None = None, **extra: Any) -> Any:
    """Create a user with one role. Without a password the user sets one through "forgot password"."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email[:150], email=email, **extra)
    if password:
        user.set_password(password)
    elif not user.pk:
        user.set_unusable_password()
    user.is_staff = role == ADMIN
    user.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"primary": True, "verified": True}
    )
    roles_ensure()
    user.groups.set([Group.objects.get(name=role)])
    return user
