from __future__ import annotations

from django.db import models


class WorkerPing(models.Model):
    """Written by the `ping` task: proof that a worker consumed a message and reached the database."""

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
