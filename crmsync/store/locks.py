"""One writer of canonical records at a time, on SQLite and PostgreSQL alike.

Applying a page reads (refs, match keys, current values and provenance), decides, then writes. Two applies at
once (a scheduled pass beside the webhook processor, a backfill beside `serve`) would each decide on state the
other has not committed yet: the later one then overwrites the provenance the other wrote with its stale copy,
judges a newer value unchanged because it equals what it read, and both create a record for the same new
person. So a transaction that reads canonical records in order to write them takes the store's write lock
before its first read:

- SQLite: BEGIN IMMEDIATE. sqlite3 opens its implicit transaction only at the first write, so the reads ran
  before any lock; IMMEDIATE takes the database's single write lock up front, and another writer waits for it
  (the connection's busy_timeout).
- PostgreSQL: a transaction-level advisory lock (one per store schema), released at commit or rollback. Every
  read after it sees what the previous holder committed (READ COMMITTED takes a snapshot per statement).

Readers never wait. Fetching, mapping and write-back still run in parallel; only the apply step is serial.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from crmsync.errors import StoreError

# The advisory lock's key: a hash of this text and the store's schema (two stores in one database, in two
# schemas, do not wait for each other).
RECORD_WRITES_LOCK = "crmsync:record-writes:"


def lock_record_writes(conn: Connection) -> None:
    """Take the store's canonical-record write lock for the rest of `conn`'s transaction (begun, nothing read)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            raise StoreError("internal: the record write lock must be taken before the transaction writes")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            raise StoreError(f"the canonical store {conn.engine.url.database} stayed locked by another writer "
                             f"longer than its busy timeout; nothing was written, run the command again") from exc
    elif dialect == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtextextended(%s || current_schema(), 0))",
                             (RECORD_WRITES_LOCK,))
