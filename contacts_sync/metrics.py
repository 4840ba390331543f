"""Prometheus metrics, computed from the database and Redis at scrape time (a custom collector).

Counts come from the tables, so every web and worker process reports the same numbers and nothing is lost
when a process restarts. A scrape costs a handful of aggregate queries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from contacts_sync.models import Alert, AlertState, ApiCall, Connection, Run, Sync

log = logging.getLogger(__name__)


def _queue_names() -> list[str]:
    return [q.name for q in getattr(settings, "CELERY_TASK_QUEUES", [])] or ["celery"]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        runs = GaugeMetricFamily("contacts_sync_runs", "Runs by status (all time)", labels=["status"])
        for row in Run.objects.values("status").annotate(n=Count("pk")).order_by():
            runs.add_metric([row["status"]], row["n"])
        yield runs

        # From the runs' per-action counters (kept with the items): summing 100k runs is ~10x cheaper than
        # grouping 1M items at every scrape.
        items = CounterMetricFamily("contacts_sync_run_items", "Run items by action (all time)", labels=["action"])
        fields = {
            "created": "created_count",
            "updated": "updated_count",
            "unchanged": "unchanged_count",
            "skipped": "skipped_count",
            "failed": "failed_count",
            "would_create": "would_create_count",
            "would_update": "would_update_count",
        }
        sums = Run.objects.aggregate(**{action: Sum(field) for action, field in fields.items()})
        for action, n in sums.items():
            items.add_metric([action], n or 0)
        yield items

        yield from self._api_calls()

        seen = CounterMetricFamily(
            "contacts_sync_http_429_seen",
            "HTTP 429 answers seen inside retries, by the sync's target provider",
            labels=["provider"],
        )
        for seen_row in Run.objects.values("sync__target_connection__provider").annotate(n=Sum("http_429s")).order_by():
            seen.add_metric([seen_row["sync__target_connection__provider"]], seen_row["n"] or 0)
        yield seen

        health = GaugeMetricFamily("contacts_sync_syncs", "Syncs by health", labels=["health"])
        for sync_row in Sync.objects.values("health").annotate(n=Count("pk")).order_by():
            health.add_metric([sync_row["health"]], sync_row["n"])
        yield health

        alerts = GaugeMetricFamily("contacts_sync_alerts_unresolved", "Alerts open or acknowledged")
        alerts.add_metric([], Alert.objects.exclude(state=AlertState.RESOLVED).count())
        yield alerts

        yield self._token_expiry()
        yield from self._queues()

    def _api_calls(self) -> Iterator[CounterMetricFamily]:
        calls = CounterMetricFamily(
            "contacts_sync_api_calls",
            "Outbound API calls by provider and status class",
            labels=["provider", "status_class"],
        )
        limited = CounterMetricFamily(
            "contacts_sync_api_calls_429", "Outbound API calls that ended in HTTP 429, by provider", labels=["provider"]
        )
        per_provider_429: dict[str, int] = {}
        for call in ApiCall.objects.values("provider", "status").annotate(n=Count("pk")).order_by():
            status = call["status"]
            cls = f"{status // 100}xx" if status else "error"
            calls.add_metric([call["provider"], cls], call["n"])
            if status == 429:
                per_provider_429[call["provider"]] = per_provider_429.get(call["provider"], 0) + call["n"]
        for provider, n in per_provider_429.items():
            limited.add_metric([provider], n)
        yield calls
        yield limited

    def _token_expiry(self) -> GaugeMetricFamily:
        expiry = GaugeMetricFamily(
            "contacts_sync_token_expires_in_seconds",
            "Seconds until a connection's access token expires (negative = expired)",
            labels=["connection_id", "provider", "name"],
        )
        now = timezone.now()
        for c in Connection.objects.filter(token_expires_at__isnull=False).only(
            "pk", "provider", "name", "token_expires_at"
        ):
            if c.token_expires_at is not None:  # the filter above: always
                expiry.add_metric([str(c.pk), c.provider, c.name], (c.token_expires_at - now).total_seconds())
        return expiry

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "contacts_sync_queue_depth", "Messages waiting in each Celery queue", labels=["queue"]
        )
        up = GaugeMetricFamily("contacts_sync_broker_up", "1 when the Redis broker answered the scrape")
        try:
            broker = settings.CELERY_BROKER_URL
            url = broker if broker.startswith(("redis://", "rediss://", "unix://")) else settings.REDIS_URL
            client = redis.Redis.from_url(url, socket_timeout=2)
            # kombu's Redis transport keeps a queue as a list named after it (priority lists get a suffix).
            with client.pipeline() as pipe:
                for name in _queue_names():
                    pipe.llen(name)
                lengths = pipe.execute()
            for name, n in zip(_queue_names(), lengths, strict=True):
                depth.add_metric([name], n)
            up.add_metric([], 1)
        except (redis.RedisError, ValueError) as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
        yield depth
        yield up


def registry() -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(DatabaseCollector())
    return reg
