"""A task that only the broker-restart test loads (`celery worker --include tests.reliability.broker_tasks`).

It keeps a message unacknowledged (late acks) while the broker goes away, the state in which a real sync run
is when Redis restarts, then records that it finished.
"""

from __future__ import annotations

import time

from celery import shared_task

from contacts_sync.services import ops


@shared_task(name="tests.reliability.broker_tasks.slow_ping_task", bind=True)
def slow_ping_task(self, token: str, seconds: float) -> str:  # type: ignore[no-untyped-def]
    # "started" is recorded first: the test takes the broker away only once the task is running (a task merely
    # received when the broker goes is restored to the queue instead, and a wiped broker loses it)
    ops.worker_ping_record(token=f"{token}:started", worker=self.request.hostname or "")
    time.sleep(seconds)
    ops.worker_ping_record(token=token, worker=self.request.hostname or "")
    return token
