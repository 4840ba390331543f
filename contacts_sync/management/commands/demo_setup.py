from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from contacts_sync.roles import ADMIN
from contacts_sync.services.demo import demo_seed
from contacts_sync.services.users import user_create

DEMO_ADMIN_EMAIL = "admin@example.com"
DEFAULT_PASSWORD = "demo"


class Command(BaseCommand):
    help = "Create the demo admin (admin@example.com / $DEMO_ADMIN_PASSWORD or 'demo') and the demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or DEFAULT_PASSWORD
        # The demo's published password ("demo") is too short for the validators; only the demo skips them.
        user_create(email=DEMO_ADMIN_EMAIL, role=ADMIN, password=password, check_password=False, is_superuser=True)
        demo_seed(admin_email=DEMO_ADMIN_EMAIL)
        bar = "=" * 60
        # The published default is printed; a password of one's own (DEMO_ADMIN_PASSWORD) is a secret: never.
        shown = DEFAULT_PASSWORD if password == DEFAULT_PASSWORD else "the value of DEMO_ADMIN_PASSWORD"
        self.stdout.write(f"\n{bar}\n  demo admin:  {DEMO_ADMIN_EMAIL}\n  password:    {shown}\n{bar}\n")
