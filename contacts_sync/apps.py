from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ContactsSyncConfig(AppConfig):
    name = "contacts_sync"
    verbose_name = "contacts-sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .signals import ensure_roles_after_migrate

        post_migrate.connect(ensure_roles_after_migrate, sender=self)
