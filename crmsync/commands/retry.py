"""Re-applying stored record errors through the normal ingest path (`crmsync errors retry`).

Each failed record is retried once, from its newest stored payload, as a record of its connection. In the
same transaction as the page: a record that now applies loses its error rows; one that still fails keeps a
single row, the one retried, with the new reason (the row the ingest path wrote for this attempt goes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, update

from crmsync.errors import CrmsyncError, RecordMappingError
from crmsync.mappings.transforms import parse_utc
from crmsync.store.models import RecordError
from crmsync.sync_engine.identity import new_id
from crmsync.sync_engine.ingest import PageResult
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.workspace import Workspace

RECORD_ERROR: Table = RecordError.__table__  # type: ignore[assignment]
PAGE_SIZE = 200
RecordKey = tuple[str, str, str]  # connection, object, external id


@dataclass(frozen=True)
class Retried:
    error_id: int
    key: RecordKey
    outcome: str  # applied | failing | skipped
    detail: str = ""


def retry_errors(workspace: Workspace, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Retried]]:
    """Retry the records of these record_error rows; returns the retry's run id and what became of each."""
    newest: dict[RecordKey, Mapping[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        newest[(row["system"], row["object"], row["external_id"])] = row  # a record failing again: its latest try
    run_id = new_id()
    results: list[Retried] = []
    by_connection: dict[str, list[Mapping[str, Any]]] = {}
    for row in newest.values():
        by_connection.setdefault(row["system"], []).append(row)
    for connection, errors in sorted(by_connection.items()):
        ready: list[tuple[Mapping[str, Any], SourceRecord]] = []
        for error in errors:
            try:
                ready.append((error, _source_record(workspace, connection, error)))
            except CrmsyncError as exc:  # the connection or this object's mapping is gone: nothing to apply with
                results.append(Retried(error["id"], _key(error), "skipped", str(exc)))
        for start in range(0, len(ready), PAGE_SIZE):
            page = [error for error, _ in ready[start:start + PAGE_SIZE]]
            ingestor = workspace.ingestor(connection, run_id)
            ingestor.page_hooks.append(lambda conn, result, _records, page=page: results.extend(
                _settle(conn, page, result, run_id)))
            ingestor.ingest_page([record for _, record in ready[start:start + PAGE_SIZE]], run_id)
    return run_id, results


def _key(row: Mapping[str, Any]) -> RecordKey:
    return row["system"], row["object"], row["external_id"]


def _source_record(workspace: Workspace, connection: str, error: Mapping[str, Any]) -> SourceRecord:
    config = workspace.connection(connection)
    mapper = workspace.mappings_for(connection).get(config.system, error["object"])
    payload = error["payload"] or {}
    return SourceRecord(system=config.system, object=error["object"], external_id=error["external_id"],
                        modified_at=_modified_at(payload, mapper.modified_field, error["created_at"]),
                        payload=payload, connection=connection)


def _modified_at(payload: Mapping[str, Any], field: str | None, failed_at: datetime) -> datetime:
    """The source's own modification time when the payload carries it (so an old payload cannot win over newer
    values), else when the error was recorded."""
    value: Any = payload
    for part in (field or "").split(".") if field else ():
        value = value.get(part) if isinstance(value, Mapping) else None
    if field and value not in (None, ""):
        try:
            return parse_utc(value)
        except RecordMappingError:
            pass
    return failed_at if failed_at.tzinfo else failed_at.replace(tzinfo=UTC)


def _settle(conn: Connection, page: Sequence[Mapping[str, Any]], result: PageResult, run_id: str) -> list[Retried]:
    """In the page's transaction: drop the error rows of records that applied; keep one row, with the new
    reason, for each record that still fails."""
    reasons = {(e["system"], e["object"], e["external_id"]): e["error"] for e in result.errors}
    now = datetime.now(UTC)
    settled = []
    for error in page:
        key = _key(error)
        same_record = and_(RECORD_ERROR.c.system == key[0], RECORD_ERROR.c.object == key[1],
                           RECORD_ERROR.c.external_id == key[2])
        reason = reasons.get(key)
        if reason is None:
            conn.execute(delete(RECORD_ERROR).where(same_record))
            settled.append(Retried(error["id"], key, "applied"))
            continue
        conn.execute(delete(RECORD_ERROR).where(and_(same_record, RECORD_ERROR.c.id != error["id"])))
        conn.execute(update(RECORD_ERROR).where(RECORD_ERROR.c.id == error["id"]).values(
            error=reason, run_id=run_id, created_at=now))
        settled.append(Retried(error["id"], key, "failing", reason))
    return settled
