"""Background WAL checkpoints: while the block runs, commits leave checkpointing to the thread and the log stays
in the database file; after it, connections are back on SQLite's default; other stores are left alone."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from crmsync.store import db, wal


def autocheckpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def write_pages(engine: Engine, pages: int, rows: int = 400) -> None:
    blob = "x" * 2000
    for page in range(pages):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO filler (page, body) VALUES (:page, :body)"),
                         [{"page": page, "body": blob} for _ in range(rows)])


def test_checkpoints_run_off_the_writer_while_the_block_runs(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (page INTEGER, body TEXT)"))
    assert autocheckpoint(engine) == wal.DEFAULT_AUTOCHECKPOINT_PAGES
    database = tmp_path / "store.db"
    with wal.background_checkpoints(engine) as checkpointer:
        assert checkpointer is not None
        assert autocheckpoint(engine) == wal.BACKSTOP_AUTOCHECKPOINT_PAGES
        write_pages(engine, 30)  # about 24 MB: 6,000 log pages, past SQLite's default threshold, under the backstop
        # Only a checkpoint moves the rows from the log into the database file; the writer did not run one.
        deadline = time.monotonic() + 10
        while (database.stat().st_size < 20_000_000 or not checkpointer.checkpoints) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.stat().st_size >= 20_000_000 and checkpointer.checkpoints >= 1
    assert not checkpointer.thread.is_alive()
    assert autocheckpoint(engine) == wal.DEFAULT_AUTOCHECKPOINT_PAGES
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM filler")).scalar_one() == 30 * 400
    engine.dispose()


def test_other_stores_are_left_alone() -> None:
    engine = db.make_engine("sqlite://")
    with wal.background_checkpoints(engine) as checkpointer:
        assert checkpointer is None
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    engine.dispose()
