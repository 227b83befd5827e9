"""WAL checkpoints in a background thread while a long write runs on an SQLite file store.

SQLite copies the write-ahead log back into the database file (a checkpoint) on the commit that finds the log
past `wal_autocheckpoint` pages, so the writing thread waits for that copy. During a backfill a second thread
with its own connection checkpoints instead (PASSIVE: it never blocks the writer, and sqlite3 releases the GIL
while it runs), and the writer's own threshold is raised to a backstop that only applies if this thread falls
behind. Outside such a block, connections keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger("crmsync.store")

DEFAULT_AUTOCHECKPOINT_PAGES = 1000  # SQLite's own default
BACKSTOP_AUTOCHECKPOINT_PAGES = 16_000  # about 64 MB of log with 4 KiB pages, should the thread fall behind
POLL_SECONDS = 0.1  # a page of a backfill writes about 1-4 MB of log; SQLite checkpoints every 4 MB

_active: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()  # engine -> blocks running
_active_lock = threading.Lock()


def sqlite_file(engine: Engine) -> str | None:
    """The database file of an SQLite engine (None for other databases and in-memory ones)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return engine.url.database


def install(engine: Engine) -> None:
    """Give each checked-out connection the autocheckpoint threshold of the moment (one PRAGMA when it changes)."""

    @event.listens_for(engine, "checkout")
    def _threshold(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = BACKSTOP_AUTOCHECKPOINT_PAGES if _active.get(engine) else DEFAULT_AUTOCHECKPOINT_PAGES
        if record.info.get("wal_autocheckpoint") != wanted:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint={wanted}")
            cursor.close()
            record.info["wal_autocheckpoint"] = wanted


class Checkpointer:
    """The thread and its own connection."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False)
        self.connection.execute("PRAGMA busy_timeout=10000")
        self.stopping = threading.Event()
        self.checkpoints = 0  # how many ran (tests read it)
        self.thread = threading.Thread(target=self._run, name="crmsync-wal-checkpoints", daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            try:
                self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # the writer's backstop still bounds the log
                log.warning("background WAL checkpoint failed (%s); the writer checkpoints instead", exc)
                return
            self.checkpoints += 1

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.connection.close()


@contextmanager
def background_checkpoints(engine: Engine) -> Iterator[Checkpointer | None]:
    """Checkpoint the WAL off the writing thread for the duration of the block (SQLite files only; yields
    None, and changes nothing, for other stores)."""
    path = sqlite_file(engine)
    if path is None:
        yield None
        return
    checkpointer = Checkpointer(path)
    with _active_lock:
        _active[engine] = _active.get(engine, 0) + 1
    checkpointer.thread.start()
    try:
        yield checkpointer
    finally:
        checkpointer.close()
        with _active_lock:
            _active[engine] -= 1
            if not _active[engine]:
                del _active[engine]
