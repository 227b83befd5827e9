"""A lease per connection in the store, so two processes never run the same connection at once.

APScheduler's `max_instances=1` covers one scheduler; the lease also covers a second `crmsync serve`, or
`crmsync sync --once` while `serve` runs. Taking it is one conditional UPDATE (or an INSERT), atomic on
SQLite and PostgreSQL alike. A crashed holder's lease expires; one held by a dead process on this same
machine (kill -9) is taken over at once, so `backfill --resume` right after a crash just works.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Table, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from crmsync.errors import CrmsyncError
from crmsync.store.models import RunLease

LEASE: Table = RunLease.__table__  # type: ignore[assignment]


def this_process() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"

LEASE_SECONDS = 600.0


class LeaseBusy(CrmsyncError):
    """Another process is running this connection right now."""


def acquire(engine: Engine, key: str, seconds: float = LEASE_SECONDS, holder: str | None = None) -> bool:
    holder = holder or this_process()
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=seconds)
    with engine.begin() as conn:
        taken = conn.execute(update(LEASE).where(and_(
            LEASE.c.connection == key, or_(LEASE.c.expires_at < now, LEASE.c.holder == holder)))
            .values(holder=holder, expires_at=expires)).rowcount
    if taken:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(LEASE.insert().values(connection=key, holder=holder, expires_at=expires))
        return True
    except IntegrityError:
        pass  # someone holds a live lease; it may be a process on this machine that died (kill -9)
    with engine.begin() as conn:
        current = conn.execute(select(LEASE.c.holder).where(LEASE.c.connection == key)).scalar()
        if current is None or not _dead_local_holder(current):
            return False
        return bool(conn.execute(update(LEASE).where(and_(LEASE.c.connection == key, LEASE.c.holder == current))
                                 .values(holder=holder, expires_at=expires)).rowcount)


def _dead_local_holder(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
    if host != this_process().rpartition(":")[0] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release(engine: Engine, key: str, holder: str | None = None) -> None:
    holder = holder or this_process()
    with engine.begin() as conn:
        conn.execute(delete(LEASE).where(and_(LEASE.c.connection == key, LEASE.c.holder == holder)))


@contextmanager
def held(engine: Engine, key: str, seconds: float = LEASE_SECONDS) -> Iterator[None]:
    """Hold the lease for `key` or raise LeaseBusy. Long runs renew it (`acquire` again) as they go."""
    if not acquire(engine, key, seconds):
        raise LeaseBusy(f"{key} is already running in another process; wait for it to finish "
                        "(a crashed run's lease expires on its own)")
    try:
        yield
    finally:
        release(engine, key)


class HeldLease:
    """A lease this process takes and keeps: `keep()` renews it in the store only once a third of its time has
    passed, so a loop calling it per page or per poll does not add a write transaction each time."""

    def __init__(self, engine: Engine, key: str, seconds: float = LEASE_SECONDS) -> None:
        self.engine, self.key, self.seconds = engine, key, seconds
        self._taken_at: float | None = None

    def take(self) -> bool:
        if not acquire(self.engine, self.key, self.seconds):
            self._taken_at = None
            return False
        self._taken_at = time.monotonic()
        return True

    def keep(self) -> bool:
        """True while this process holds the lease (taking it when free)."""
        if self._taken_at is not None and time.monotonic() - self._taken_at < self.seconds / 3:
            return True
        return self.take()

    def release(self) -> None:
        if self._taken_at is not None:
            release(self.engine, self.key)
            self._taken_at = None
