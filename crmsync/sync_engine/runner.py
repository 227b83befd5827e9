"""Runs of one connection: an incremental pass from each stream's checkpoint, or a backfill of a time range.

Both go page by page through the one ingest path, each page in one transaction with its checkpoint, so a
crash at any point loses nothing and a re-run repeats at most one page (which the content hashes make a
no-op). A backfill slices its range into windows and keeps its own checkpoint per stream
(`backfill:<stream>`: the range, the window it is in, the cursor inside that window), which `--resume`
continues from. Every run writes a SyncRun row: what it did, how long it took, how it ended.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, and_, select

from crmsync.connectors.base import Capability, ConnectorError, QuotaExhausted
from crmsync.errors import CrmsyncError, NotFoundError
from crmsync.store.models import Checkpoint, SyncRun
from crmsync.sync_engine import lease
from crmsync.sync_engine.bulk_mode import bulk_write_mode
from crmsync.sync_engine.deletes import DeleteGuard, MassDeletePaused, missing_ids
from crmsync.sync_engine.identity import new_id
from crmsync.sync_engine.ingest import CheckpointUpdate, Ingestor, PageResult, save_checkpoint
from crmsync.sync_engine.prefetch import prefetched
from crmsync.sync_engine.prepare import PagePreparer
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.workspace import Workspace

log = logging.getLogger("crmsync.runner")
CHECKPOINT: Table = Checkpoint.__table__  # type: ignore[assignment]
SYNC_RUN: Table = SyncRun.__table__  # type: ignore[assignment]
BACKFILL_PREFIX = "backfill:"
RECONCILE_PAGE = 500  # deletes found by listing ids, applied a page at a time
SUMMARY_KEYS = ("read", "created", "updated", "unchanged", "deleted", "conflicts", "failed", "queued")


class RunObserver(Protocol):
    """What a progress display hears: a stream starting (with an estimate when the connector has one and the
    observer asks for it: counting costs the vendor a query) and each page stored."""

    wants_estimate: bool

    def stream_started(self, stream: str, estimate: int | None) -> None: ...

    def page_stored(self, stream: str, result: PageResult) -> None: ...


class SilentObserver:
    wants_estimate = False

    def stream_started(self, stream: str, estimate: int | None) -> None:
        return None

    def page_stored(self, stream: str, result: PageResult) -> None:
        return None


@dataclass
class RunSummary:
    run_id: str
    connection: str
    kind: str
    status: str = "running"
    error: str | None = None
    streams: dict[str, Counter[str]] = field(default_factory=dict)
    # Dry runs: per stream, how often each canonical field would change, and a few example changes.
    field_changes: dict[str, Counter[str]] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.streams.values():
            total.update(counts)
        return total


@dataclass(frozen=True)
class BackfillRange:
    """[since, until); `until=None` reads up to whatever exists when the last window is read."""

    since: datetime | None
    until: datetime | None

    def windows(self, start: datetime | None, width: timedelta) -> list[tuple[datetime | None, datetime | None]]:
        """[start, until) in windows of `width`; one window when the range has no start."""
        if start is None:
            return [(None, self.until)]
        end_of_range = self.until or datetime.now(UTC)
        edges: list[tuple[datetime | None, datetime | None]] = []
        while start < end_of_range:
            end = min(start + width, end_of_range)
            edges.append((start, end))
            start = end
        if self.until is None:  # the last window stays open, so records made meanwhile are not cut off
            last_start = edges[-1][0] if edges else start
            edges[-1:] = [(last_start, None)]
        return edges


class SyncRunner:
    """One connection's runs. `stop` (an Event) ends a run cleanly between pages."""

    def __init__(self, workspace: Workspace, connection: str, observer: RunObserver | None = None,
                 stop: threading.Event | None = None, confirm_deletes: bool = False) -> None:
        self.workspace, self.connection = workspace, connection
        self.config = workspace.connection(connection)
        self.observer = observer or SilentObserver()
        self.stop = stop or threading.Event()
        self.lease = lease.HeldLease(workspace.engine, f"sync:{connection}")
        self.confirm_deletes = confirm_deletes  # lifts the mass-delete rail for this runner's passes

    def _ingestor(self, run_id: str) -> Ingestor:
        ingestor = self.workspace.ingestor(self.connection, run_id)
        ingestor.delete_guard = DeleteGuard(self.connection, self.workspace.settings.deletes, self.confirm_deletes)
        return ingestor

    def streams(self, only: Sequence[str] | None) -> list[str]:
        pulled = self.config.pulled_objects()
        if not only:
            return pulled
        unknown = [s for s in only if s not in pulled]
        if unknown:
            raise NotFoundError(f"connection {self.connection} does not pull {', '.join(unknown)} "
                                f"(it pulls: {', '.join(pulled) or 'nothing'}); check `objects` in the config")
        return list(only)

    # -- incremental -------------------------------------------------------------------------------------
    def incremental(self, only: Sequence[str] | None = None, dry_run: bool = False) -> RunSummary:
        streams = self.streams(only)
        summary = RunSummary(new_id(), self.connection, "incremental")
        with self._run(summary, dry_run):
            connector = self.workspace.connector(self.connection)
            ingestor = self._ingestor(summary.run_id)
            for stream in streams:
                self.observer.stream_started(stream, None)
                cursor = self.checkpoint(stream)
                for page in prefetched(connector.read(stream, cursor)):
                    update = CheckpointUpdate(self.connection, stream, page.cursor)
                    self._stored(summary, stream, ingestor.ingest_page(page.records, summary.run_id, update, dry_run))
                    if self.stop.is_set():
                        return summary
        return summary

    # -- hard deletes ------------------------------------------------------------------------------------
    def reconcile_deletes(self, only: Sequence[str] | None = None, dry_run: bool = False) -> RunSummary:
        """List the ids every stream still has (where the connector can) and apply the records the store links
        that are gone as deletes: hard deletes no incremental read reports (deletes.py)."""
        streams = self.streams(only)
        summary = RunSummary(new_id(), self.connection, "reconcile")
        with self._run(summary, dry_run):
            connector = self.workspace.connector(self.connection)
            if Capability.ID_LISTING not in connector.capabilities:
                raise ConnectorError(f"connection {self.connection} ({self.config.system}) cannot list record ids, "
                                     "so hard deletes can only arrive through its incremental reads")
            ingestor = self._ingestor(summary.run_id)
            for stream in streams:
                self.observer.stream_started(stream, None)
                began = datetime.now(UTC)
                listed = (record_id for page in connector.list_ids(stream) for record_id in page)  # type: ignore[attr-defined]
                gone = missing_ids(self.workspace.engine, self.connection, stream, listed, began)
                system = self.config.system
                for start in range(0, len(gone), RECONCILE_PAGE):
                    records = [SourceRecord(system, stream, external_id, began, {}, deleted=True,
                                            connection=self.connection)
                               for external_id in gone[start:start + RECONCILE_PAGE]]
                    self._stored(summary, stream, ingestor.ingest_page(records, summary.run_id, dry_run=dry_run))
                summary.streams.setdefault(stream, Counter())
        return summary

    # -- backfill ----------------------------------------------------------------------------------------
    def backfill(self, only: Sequence[str] | None = None, since: datetime | None = None,
                 until: datetime | None = None, resume: bool = False, dry_run: bool = False) -> RunSummary:
        streams = self.streams(only)
        summary = RunSummary(new_id(), self.connection, "backfill")
        use_worker = self.workspace.settings.backfill.mapping_worker
        with self._run(summary, dry_run):
            connector = self.workspace.connector(self.connection)
            ingestor = self._ingestor(summary.run_id)
            with bulk_write_mode(self.workspace.engine, ingestor.mappings, use_worker) as preparer:
                return self._backfill_streams(summary, streams, since, until, resume, dry_run, connector,
                                              ingestor, preparer)

    def _backfill_streams(self, summary: RunSummary, streams: Sequence[str], since: datetime | None,
                          until: datetime | None, resume: bool, dry_run: bool, connector: Any,
                          ingestor: Ingestor, preparer: PagePreparer) -> RunSummary:
        """The streams of one backfill run, each page prepared (mapped, hashed) by `preparer` ahead of it."""
        width = timedelta(days=self.workspace.settings.backfill.window_days)
        for stream in streams:
            state = self._backfill_state(stream, since, until, resume)
            if state is None:
                continue
            span = BackfillRange(_parse(state["since"]), _parse(state["until"]))
            estimate = self._estimate(connector, stream, _parse(state["window_start"]), span.until) \
                if self.observer.wants_estimate else None
            self.observer.stream_started(stream, estimate)
            cursor = state.get("cursor")
            last_cursor: Mapping[str, Any] | None = None
            for start, end in span.windows(_parse(state["window_start"]), width):
                pages = prefetched(connector.read(stream, cursor, since=start, until=end))
                for page, prepared in preparer.ahead(pages, _records_of):
                    last_cursor = page.cursor
                    state = {**state, "window_start": _iso(start), "cursor": dict(page.cursor)}
                    update = CheckpointUpdate(self.connection, BACKFILL_PREFIX + stream, state)
                    result = ingestor.ingest_prepared(page.records, prepared, summary.run_id, update, dry_run)
                    self._stored(summary, stream, result)
                    if self.stop.is_set():
                        return summary
                cursor = None
                state = {**state, "window_start": _iso(end or datetime.now(UTC)), "cursor": None}
                if not dry_run:
                    self._save(BACKFILL_PREFIX + stream, state, summary.run_id)
            if not dry_run:
                self._save(BACKFILL_PREFIX + stream, {**state, "done": True}, summary.run_id)
                if span.since is None and span.until is None and last_cursor is not None \
                        and self.checkpoint(stream) is None:
                    # A backfill of everything read the stream as a first incremental read does: incremental
                    # passes go on from where it ended, not from scratch (which re-read every record, and on
                    # Salesforce missed what was deleted meanwhile: a first read leaves the recycle bin out).
                    self._save(stream, last_cursor, summary.run_id)
        return summary

    def _backfill_state(self, stream: str, since: datetime | None, until: datetime | None,
                        resume: bool) -> dict[str, Any] | None:
        fresh = {"since": _iso(since), "until": _iso(until), "window_start": _iso(since),
                 "cursor": None, "done": False}
        if not resume:
            return fresh
        stored = self.checkpoint(BACKFILL_PREFIX + stream)
        if stored is None:
            log.info("%s %s: no backfill to resume; starting one", self.connection, stream)
            return fresh
        if stored.get("done"):
            log.info("%s %s: the last backfill finished; nothing to resume", self.connection, stream)
            return None
        return dict(stored)

    @staticmethod
    def _estimate(connector: Any, stream: str, since: datetime | None, until: datetime | None) -> int | None:
        counter = getattr(connector, "count", None)  # optional: progress bars get an ETA when there is one
        if counter is None:
            return None
        try:
            return int(counter(stream, since=since, until=until))
        except ConnectorError:
            return None

    # -- shared ------------------------------------------------------------------------------------------
    def checkpoint(self, stream: str) -> Mapping[str, Any] | None:
        with self.workspace.engine.connect() as conn:
            return conn.execute(select(CHECKPOINT.c.cursor).where(and_(
                CHECKPOINT.c.connection == self.connection, CHECKPOINT.c.stream == stream))).scalar()

    def _save(self, stream: str, cursor: Mapping[str, Any], run_id: str) -> None:
        with self.workspace.engine.begin() as conn:
            save_checkpoint(conn, CheckpointUpdate(self.connection, stream, cursor), run_id, datetime.now(UTC))

    def _stored(self, summary: RunSummary, stream: str, result: PageResult) -> None:
        summary.streams.setdefault(stream, Counter()).update(result.counts)
        fields = summary.field_changes.setdefault(stream, Counter())
        for change in result.changes:
            # A create names the fields it set ({"fields": [...]}); an update maps each field to [old, new].
            fields.update(change["changes"]["fields"] if change["kind"] == "create" else change["changes"].keys())
            if len(summary.examples) < 10 and change["kind"] == "update":
                summary.examples.append({"stream": stream, "canonical_id": change["canonical_id"],
                                         "changes": change["changes"]})
        self.observer.page_stored(stream, result)
        self.lease.keep()  # renewed as long as pages keep coming

    def _run(self, summary: RunSummary, dry_run: bool) -> _RunRecord:
        return _RunRecord(self, summary, dry_run)


class _RunRecord:
    """Holds the connection's lease and keeps the SyncRun row: started, then finished with its outcome."""

    def __init__(self, runner: SyncRunner, summary: RunSummary, dry_run: bool) -> None:
        self.runner, self.summary, self.dry_run = runner, summary, dry_run
        self.engine = runner.workspace.engine

    def __enter__(self) -> None:
        if not self.runner.lease.take():
            raise lease.LeaseBusy(f"connection {self.runner.connection} is being synced by another process; "
                                  "wait for that run to finish")
        if self.dry_run:  # a dry run leaves no trace, not even its own run row
            return
        with self.engine.begin() as conn:
            # We hold the lease, so a run of this connection still marked running died without finishing.
            conn.execute(SYNC_RUN.update().where(and_(SYNC_RUN.c.connection == self.runner.connection,
                                                      SYNC_RUN.c.status == "running"))
                         .values(status="crashed", error="the process ended without finishing this run"))
            conn.execute(SYNC_RUN.insert().values(id=self.summary.run_id, connection=self.runner.connection,
                                                  kind=self.summary.kind, status="running",
                                                  started_at=datetime.now(UTC), counts={}))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> bool:
        summary = self.summary
        if exc is None:
            summary.status = "stopped" if self.runner.stop.is_set() else "ok"
        elif isinstance(exc, KeyboardInterrupt):
            summary.status, summary.error = "stopped", "interrupted"
        elif isinstance(exc, QuotaExhausted | MassDeletePaused):
            summary.status, summary.error = "paused", str(exc)
        else:
            summary.status = "failed"
            summary.error = str(exc) if isinstance(exc, CrmsyncError) else f"{type(exc).__name__}: {exc}"
        totals = {key: value for key, value in summary.totals().items() if value}
        try:
            if not self.dry_run:
                with self.engine.begin() as conn:
                    conn.execute(SYNC_RUN.update().where(SYNC_RUN.c.id == summary.run_id).values(
                        status=summary.status, finished_at=datetime.now(UTC), counts=totals,
                        error=(summary.error or "")[:2000] or None))
        finally:
            self.runner.lease.release()
        if summary.status != "ok":
            log.warning("%s %s run %s ended %s%s", self.runner.connection, summary.kind, summary.run_id,
                        summary.status, f": {summary.error}" if summary.error else "")
        return summary.status == "paused"  # a pause is an outcome, told in the summary: not an error to raise


def _records_of(page: Any) -> Sequence[SourceRecord]:
    return page.records  # type: ignore[no-any-return]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
