"""A random webhook token per connection: /webhooks/<token>/ replaces the guessable /webhooks/<id>/.

Existing rows get their own token here (a callable default on AddField would give every row the same value).
Webhooks registered in an app (Hubstaff) still point at the old URL, which now answers 404 like any unknown URL:
the registration state of those connections is marked so the sync page asks to register again.
"""

from __future__ import annotations

import secrets

from django.db import migrations, models

TOKEN_BYTES = 24  # the same as models.connections.WEBHOOK_TOKEN_BYTES, frozen for this migration
REREGISTER = "the webhook URL changed (it now carries a random token instead of the connection id): register again"


def fill_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    Connection = apps.get_model("contacts_sync", "Connection")
    for conn in Connection.objects.only("pk", "config").iterator():
        hook = (conn.config or {}).get("webhook") if isinstance(conn.config, dict) else None
        config = conn.config
        if isinstance(hook, dict) and hook.get("status") in ("active", "registering", "unverified"):
            config = {**conn.config, "webhook": {**hook, "status": "error", "error": REREGISTER}}
        Connection.objects.filter(pk=conn.pk).update(webhook_token=secrets.token_urlsafe(TOKEN_BYTES), config=config)


class Migration(migrations.Migration):
    dependencies = [("contacts_sync", "0008_component_status_changes")]

    operations = [
        migrations.AddField(
            model_name="connection",
            name="webhook_token",
            field=models.CharField(max_length=64, null=True, unique=True, editable=False),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
    ]
