from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from contacts_sync.roles import ADMIN
from contacts_sync.services.users import user_create

DEMO_ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = "Create the demo admin (admin@example.com / $DEMO_ADMIN_PASSWORD or 'demo') and the demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or "demo"
        # The demo's published password ("demo") is too short for the validators; only the demo skips them.
        user_create(email=DEMO_ADMIN_EMAIL, role=ADMIN, password=password, check_password=False, is_superuser=True)
        try:
            from contacts_sync.services.demo import demo_seed  # filled in by the connections/sync work
        except ImportError:
            demo_seed = None
        if demo_seed is not None:
            demo_seed(admin_email=DEMO_ADMIN_EMAIL)
        bar = "=" * 60
        self.stdout.write(f"\n{bar}\n  demo admin:  {DEMO_ADMIN_EMAIL}\n  password:    {password}\n{bar}\n")
