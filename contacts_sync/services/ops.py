from __future__ import annotations

from contacts_sync.models import WorkerPing


def worker_ping_record(*, token: str, worker: str) -> WorkerPing:
    ping, _ = WorkerPing.objects.get_or_create(token=token, defaults={"worker": worker})
    return ping
