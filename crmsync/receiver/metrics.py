"""Prometheus metrics of the receiver: events received / rejected / processed per connection, inbox depth,
processing lag, run counts and outbox depth (the last three read from the store at scrape time)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from crmsync.receiver import inbox
from crmsync.store.models import SyncRun
from crmsync.sync_engine import outbox

LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _StoreGauges(Collector):
    """Gauges computed from the store when Prometheus scrapes, so every process reports the same truth."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("crmsync_inbox_events", "Inbox events by connection and status",
                                  labels=["connection", "status"])
        for (connection, status), count in inbox.depth(self.engine).items():
            depth.add_metric([connection, status], count)
        yield depth
        pending = GaugeMetricFamily("crmsync_outbox_items", "Outbox items by target and status",
                                    labels=["target", "status"])
        for target, statuses in outbox.depth(self.engine).items():
            for status, count in statuses.items():
                pending.add_metric([target, status], count)
        yield pending
        runs = GaugeMetricFamily("crmsync_sync_runs", "Sync runs by connection, kind and status",
                                 labels=["connection", "kind", "status"])
        query = select(SyncRun.connection, SyncRun.kind, SyncRun.status, func.count()).group_by(
            SyncRun.connection, SyncRun.kind, SyncRun.status)  # type: ignore[arg-type]
        with self.engine.connect() as conn:
            for connection, kind, status, count in conn.execute(query):
                runs.add_metric([connection, kind, status], count)
        yield runs


class ReceiverMetrics:
    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter("crmsync_webhook_events_received", "Webhook events stored in the inbox",
                                ["connection"], registry=self.registry)
        self.duplicates = Counter("crmsync_webhook_events_duplicate", "Redelivered events acknowledged and ignored",
                                  ["connection"], registry=self.registry)
        self.rejected = Counter("crmsync_webhook_requests_rejected", "Webhook requests refused, by HTTP status",
                                ["connection", "status"], registry=self.registry)
        self.processed = Counter("crmsync_webhook_events_processed", "Inbox events applied to the store",
                                 ["connection"], registry=self.registry)
        self.lag = Histogram("crmsync_webhook_processing_lag_seconds", "Time from receipt to applied",
                             ["connection"], buckets=LAG_BUCKETS, registry=self.registry)
        if engine is not None:
            self.registry.register(_StoreGauges(engine))

    def observe_applied(self, connection: str, lag_seconds: float) -> None:
        self.processed.labels(connection).inc()
        self.lag.labels(connection).observe(lag_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
