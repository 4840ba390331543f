from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contacts_sync.roles import ROLES
from contacts_sync.services.users import user_create


class Command(BaseCommand):
    help = "Create (or update) a user with one role. Without --password the user sets one via 'Forgot password'."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("email")
        parser.add_argument("--role", choices=ROLES, default="Viewer")
        parser.add_argument("--password", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_create(email=options["email"], role=options["role"], password=options["password"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{user.email} is now {options['role']}")
