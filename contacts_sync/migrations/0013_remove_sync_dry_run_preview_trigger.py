"""Dry run is a one-off action ("Preview a run", Run.dry_run), no longer a stored setting of the sync."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts_sync", "0012_sync_went_live_archived"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="sync",
            name="dry_run",
        ),
        migrations.AlterField(
            model_name="run",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("manual", "Run now"),
                    ("schedule", "Schedule"),
                    ("webhook", "Webhook"),
                    ("retry", "Retry failed items"),
                    ("reconcile", "Reconcile poll"),
                    ("preview", "Preview"),
                ],
                default="manual",
                max_length=16,
            ),
        ),
    ]
