"""Inbox → the one ingest path, after the vendor has had its answer.

Due events are taken oldest first, per connection; the connection's adapter turns their payloads into
SourceRecords (fetching thin notices in one batch) and one page transaction applies them and marks the
events done. Order within a batch does not decide the outcome: source timestamps do (the merge is
order-independent). A batch that fails is retried event by event, so one bad event cannot hold the rest
back; a failing event backs off and ends as a dead letter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.connectors.base import TransientError
from crmsync.errors import CrmsyncError
from crmsync.receiver import inbox
from crmsync.receiver.events import WebhookAdapter
from crmsync.receiver.inbox import StoredEvent
from crmsync.receiver.metrics import ReceiverMetrics
from crmsync.sync_engine import lease
from crmsync.sync_engine.identity import new_id
from crmsync.sync_engine.workspace import Workspace

log = logging.getLogger("crmsync.inbox")
LEASE_KEY = "inbox"


class InboxProcessor:
    def __init__(self, workspace: Workspace, adapters: Mapping[str, WebhookAdapter], metrics: ReceiverMetrics,
                 *, batch_size: int = 500, max_attempts: int = 5, retry_seconds: float = 5.0,
                 hold_seconds: float = 0.0) -> None:
        self.workspace, self.adapters, self.metrics = workspace, adapters, metrics
        self.batch_size, self.max_attempts, self.retry_seconds = batch_size, max_attempts, retry_seconds
        self.hold = timedelta(seconds=hold_seconds)  # events wait this long before processing (coalescing)
        self.lease = lease.HeldLease(workspace.engine, LEASE_KEY, 60)
        # The store lease keeps other processes off the inbox; this keeps this process's own callers (the
        # processor thread and a `wait_until_empty`) from applying the same events twice at once.
        self._one_batch = threading.Lock()

    def process_once(self) -> Counter[str]:
        """Process one batch of due events; returns counts (processed, failed, dead, records...)."""
        with self._one_batch:
            return self._process_batch()

    def _process_batch(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        engine = self.workspace.engine
        if not self.lease.keep():
            return counts  # another process drains the inbox
        events = inbox.due(engine, self.batch_size, not_before=datetime.now(UTC) - self.hold)
        by_connection: dict[str, list[StoredEvent]] = defaultdict(list)
        for event in events:
            by_connection[event.connection].append(event)
        for connection, group in by_connection.items():
            counts.update(self._apply(connection, group))
        return counts

    def _apply(self, connection: str, events: list[StoredEvent]) -> Counter[str]:
        counts: Counter[str] = Counter()
        adapter = self.adapters.get(connection)
        if adapter is None:
            counts["dead"] += inbox.mark_failed(self.workspace.engine, events, f"connection {connection} is no "
                                                "longer configured to receive webhooks", 1, self.retry_seconds)
            return counts
        try:
            self._ingest(connection, adapter, events, counts)
        except (TransientError, CrmsyncError) as exc:
            if len(events) > 1:  # find the culprit: the others go through
                for event in events:
                    counts.update(self._apply(connection, [event]))
                return counts
            # A vendor hiccup is worth retrying; an event we cannot read will not read better later.
            limit = self.max_attempts if isinstance(exc, TransientError) else 1
            dead = inbox.mark_failed(self.workspace.engine, events, str(exc), limit, self.retry_seconds)
            counts["dead" if dead else "failed"] += 1
            log.warning("inbox %s event %s failed (%s): %s", connection, events[0].event_id,
                        "dead letter" if dead else "will retry", exc)
        return counts

    def _ingest(self, connection: str, adapter: WebhookAdapter, events: Sequence[StoredEvent],
                counts: Counter[str]) -> None:
        records = adapter.records([event.payload for event in events])
        run_id = new_id()
        ingestor = self.workspace.ingestor(connection, run_id)
        ids = [event.id for event in events]
        ingestor.page_hooks.append(lambda conn, _result, _records: inbox.mark_done(conn, ids))
        result = ingestor.ingest_page(records, run_id)
        now = datetime.now(UTC)
        for event in events:
            self.metrics.observe_applied(connection, (now - event.received_at).total_seconds())
        counts["processed"] += len(events)
        counts.update({f"records_{key}": value for key, value in result.counts.items()})

    def run(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Process until `stop` is set; sleeps `poll_seconds` whenever the inbox is empty."""
        while not stop.is_set():
            try:
                counts = self.process_once()
            except Exception:  # keep the receiver alive; the next loop retries
                log.exception("inbox processing failed; retrying")
                counts = Counter()
            if not counts.get("processed") and not counts.get("failed"):
                stop.wait(poll_seconds)
        self.lease.release()


def start_processor(processor: InboxProcessor, poll_seconds: float = 0.2) -> tuple[threading.Thread, Any]:
    stop = threading.Event()
    thread = threading.Thread(target=processor.run, args=(stop, poll_seconds), name="crmsync-inbox", daemon=True)
    thread.start()
    return thread, stop


def wait_until_empty(processor: InboxProcessor, timeout: float) -> bool:
    """For tests and the demo: process until nothing is due (or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = processor.process_once()
        if not counts:
            return True
    return False
