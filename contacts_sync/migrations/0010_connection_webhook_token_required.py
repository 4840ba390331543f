"""Every connection has a webhook token (filled by 0009); new ones get one from the model default.

A separate migration (its own transaction): PostgreSQL refuses to ALTER a table that has pending trigger events
from the UPDATEs of 0009 (the deferred foreign-key checks on created_by / updated_by).
"""

from __future__ import annotations

from django.db import migrations, models

import contacts_sync.models.connections


class Migration(migrations.Migration):
    dependencies = [("contacts_sync", "0009_connection_webhook_token")]

    operations = [
        migrations.AlterField(
            model_name="connection",
            name="webhook_token",
            field=models.CharField(
                default=contacts_sync.models.connections.webhook_token_new, editable=False, max_length=64, unique=True
            ),
        ),
    ]
