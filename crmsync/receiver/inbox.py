"""The durable inbox: verified events stored before the vendor is answered, processed after.

`store` is idempotent on (connection, vendor event id): a redelivery is acknowledged and ignored. Processing
claims due events oldest first; success marks them done in the same transaction as the records they
carried; failures back off and end as dead letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crmsync.receiver.events import InboundEvent
from crmsync.store.models import InboxEvent

INBOX: Table = InboxEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    connection: str
    event_id: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


def store(engine: Engine, connection: str, events: Sequence[InboundEvent], received_at: datetime) -> int:
    """Insert events not seen before; returns how many were new."""
    if not events:
        return 0
    rows = [{"connection": connection, "event_id": event.event_id[:255], "payload": event.payload,
             "occurred_at": event.occurred_at, "received_at": received_at, "status": "pending", "attempts": 0,
             "next_attempt_at": received_at} for event in events]
    with engine.begin() as conn:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(INBOX)
        result = conn.execute(insert.values(rows).on_conflict_do_nothing(index_elements=["connection", "event_id"]))
        return max(int(result.rowcount or 0), 0)


def due(engine: Engine, limit: int, not_before: datetime | None = None) -> list[StoredEvent]:
    """Pending events whose time has come, oldest first. `not_before` holds back events received after it."""
    now = datetime.now(UTC)
    where = and_(INBOX.c.status == "pending", INBOX.c.next_attempt_at <= now)
    if not_before is not None:
        where = and_(where, INBOX.c.received_at <= not_before)
    query = (select(INBOX.c.id, INBOX.c.connection, INBOX.c.event_id, INBOX.c.payload, INBOX.c.received_at,
                    INBOX.c.attempts).where(where).order_by(INBOX.c.id).limit(limit))
    with engine.connect() as conn:
        return [StoredEvent(*row) for row in conn.execute(query)]


def mark_done(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(update(INBOX).where(INBOX.c.id.in_(list(ids)))
                     .values(status="done", processed_at=datetime.now(UTC), last_error=None))


def mark_failed(engine: Engine, events: Sequence[StoredEvent], error: str, max_attempts: int,
                retry_seconds: float) -> int:
    """Back off each event; returns how many became dead letters."""
    now, dead = datetime.now(UTC), 0
    with engine.begin() as conn:
        for event in events:
            attempts = event.attempts + 1
            is_dead = attempts >= max_attempts
            dead += is_dead
            conn.execute(update(INBOX).where(INBOX.c.id == event.id).values(
                status="dead" if is_dead else "pending", attempts=attempts, last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=retry_seconds * 2 ** (attempts - 1))))
    return dead


def depth(engine: Engine) -> dict[tuple[str, str], int]:
    """(connection, status) → count."""
    query = select(INBOX.c.connection, INBOX.c.status, func.count()).group_by(INBOX.c.connection, INBOX.c.status)
    with engine.connect() as conn:
        return {(connection, status): count for connection, status, count in conn.execute(query)}


def retry_dead(engine: Engine) -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        return int(conn.execute(update(INBOX).where(INBOX.c.status == "dead")
                                .values(status="pending", attempts=0, next_attempt_at=now)).rowcount)
