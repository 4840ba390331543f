"""A sync goes live on purpose ("Go live" after its preview) and can be archived.

Existing syncs were live already (went_live_at = their creation), except those whose stored "dry run" setting was
on: that setting goes away in the next migration, and a sync that only ever previewed must not start writing on
its own. They become paused syncs that wait for "Go live".
"""

from django.db import migrations, models


def mark_live(apps, schema_editor):
    Sync = apps.get_model("contacts_sync", "Sync")
    Sync.objects.filter(dry_run=False).update(went_live_at=models.F("created_at"))
    Sync.objects.filter(dry_run=True).update(enabled=False, went_live_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts_sync", "0011_sync_source_cursor"),
    ]

    operations = [
        migrations.AddField(
            model_name="sync",
            name="went_live_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sync",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_live, migrations.RunPython.noop),
    ]
