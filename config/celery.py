"""The Celery app: Redis broker, JSON only, late acks, four queues, beat for periodic tasks."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("contacts_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["contacts_sync"])
