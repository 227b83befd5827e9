"""Batched writes on the driver (store/bulk.py) store exactly what a row says, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, Table, event, select
from sqlalchemy.exc import IntegrityError

from crmsync.store.bulk import insert_rows
from crmsync.store.models import Lead
from crmsync.sync_engine.identity import REF

LEAD: Table = Lead.__table__  # type: ignore[assignment]

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
COLUMNS = ["system", "object", "external_id", "entity", "canonical_id", "seen_hash", "seen_at", "deleted_at"]


def stored(engine: Engine) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(REF.c.external_id, REF.c.seen_hash, REF.c.seen_at, REF.c.deleted_at))
        return {row.external_id: tuple(row[1:]) for row in rows}


def test_a_column_empty_in_every_row_is_left_to_the_database_and_stored_as_null(engine: Engine) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    batch = [("sf", "Lead", "a", "lead", "c1", "h1", T0, None),  # deleted_at: None in every row
             ("sf", "Lead", "b", "lead", "c2", None, T0, None)]  # seen_hash: None in one row only
    with engine.begin() as conn:
        insert_rows(conn, REF, COLUMNS, batch)
        insert_rows(conn, REF, COLUMNS, [("sf", "Lead", "c", "lead", "c3", "h3", T0, T0)])
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert "deleted_at" not in inserts[0] and "seen_hash" in inserts[0]
    assert "deleted_at" in inserts[1]
    assert stored(engine) == {"a": ("h1", T0, None), "b": (None, T0, None), "c": ("h3", T0, T0)}


def test_a_column_with_a_server_default_is_never_left_out(engine: Engine) -> None:
    """Leaving it out would store the default where the row said None: the database must see the None."""
    with pytest.raises(IntegrityError), engine.begin() as conn:  # provenance is NOT NULL, default '[]'
        insert_rows(conn, LEAD, ["id", "custom", "tags", "provenance", "created_at", "updated_at"],
                    [("l1", {}, [], None, T0, T0)])
