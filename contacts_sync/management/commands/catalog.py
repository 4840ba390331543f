"""`manage.py catalog [--json]`: every flow of every app, generated from the connector packages."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from contacts_sync.selectors.catalog import app_pages_write, catalog_groups, catalog_json


class Command(BaseCommand):
    help = "List every flow (trigger -> action) of every app with its GHL operations, scopes and end-to-end test."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help='print {"flows": [...]} as JSON')
        parser.add_argument("--docs", action="store_true", help="rewrite the generated block of docs/apps/<app>.md")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["docs"]:
            for path in app_pages_write():
                self.stdout.write(f"wrote {path}")
            return
        if options["json"]:
            self.stdout.write(json.dumps(catalog_json(), indent=2))
            return
        for group in catalog_groups():
            self.stdout.write(f"\n{group.app_title}: {group.direction_title}")
            for flow in group.flows:
                self.stdout.write(f"  {flow.flow}: {flow.trigger} -> {flow.action}")
                self.stdout.write(f"    GHL: {', '.join(flow.ghl_operations) or '-'}; scopes: {', '.join(flow.scopes)}")
                self.stdout.write(f"    test: {flow.test or 'MISSING'}")
