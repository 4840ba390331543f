"""Re-encrypt every encrypted column under the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first (FIELD_ENCRYPTION_KEYS=new,old), deploy, run this command, then drop the old key.
Rows are re-encrypted in batches, each batch in one transaction with its rows locked, so a token refresh running at
the same time never loses its write.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection as db
from django.db import transaction

from contacts_sync import crypto
from contacts_sync.models.fields import EncryptedJSONField

# Rows locked and rewritten per transaction: short locks, few round trips.
BATCH_SIZE = 200


def encrypted_columns() -> list[tuple[Any, Any]]:
    """(model, field) for every EncryptedJSONField of every installed model."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedJSONField)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every secret (Connection.secrets, AlertChannel.secrets, ...) under the first encryption key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="check every value decrypts; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model, field in encrypted_columns():
            done = self._rotate(model, field, dry_run=options["dry_run"])
            total += done
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {done} value(s) "
                f"{'checked' if options['dry_run'] else 're-encrypted'}"
            )
        self.stdout.write(self.style.SUCCESS(f"done: {total} value(s)"))

    def _rotate(self, model: Any, field: Any, *, dry_run: bool) -> int:
        table, column, pk = (db.ops.quote_name(n) for n in (model._meta.db_table, field.column, model._meta.pk.column))
        last, done = None, 0
        while True:
            with transaction.atomic(), db.cursor() as cur:
                where = f"{column} <> ''" + (f" AND {pk} > %s" if last is not None else "")
                cur.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {where} ORDER BY {pk} "  # noqa: S608
                    f"LIMIT {BATCH_SIZE} FOR UPDATE",
                    [last] if last is not None else [],
                )
                rows = cur.fetchall()
                if not rows:
                    return done
                for row_pk, token in rows:
                    try:
                        new = crypto.rotate(token)
                    except Exception as exc:  # noqa: BLE001 - name the row, never the value
                        raise CommandError(
                            f"{model._meta.label} id={row_pk}: cannot decrypt with any of "
                            f"FIELD_ENCRYPTION_KEYS ({exc.__class__.__name__}); nothing in this "
                            "batch was changed"
                        ) from None
                    if not dry_run:
                        cur.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", [new, row_pk])  # noqa: S608
                    done += 1
                last = rows[-1][0]
