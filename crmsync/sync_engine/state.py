"""Read and write canonical records in batches, as flat field -> value maps (custom fields as `custom.<k>`).

The ingest path works on whole pages: one SELECT per chunk of ids and executemany writes, never an ORM round
trip per record. A record's provenance lives on its own row, so it is read and written with its values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

from crmsync.mappings.mapper import CUSTOM_PREFIX
from crmsync.store.bulk import insert_rows, update_rows
from crmsync.store.fetch import select_in
from crmsync.store.models import ENTITY_MODELS, field_type, mergeable_fields
from crmsync.store.provenance import Provenance, pack, unpack

# Shared: one JSON encoding per batch for the many records without custom fields or list values. Never changed.
EMPTY: dict[str, Any] = {}
EMPTY_LIST: list[Any] = []


def entity_table(entity: str) -> Table:
    return ENTITY_MODELS[entity].__table__  # type: ignore[return-value]


@cache
def _layout(entity: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Mergeable fields in column order for writes, and the positions of list fields (stored as [] when unset)."""
    fields = tuple(sorted(mergeable_fields(entity)))
    return fields, tuple(i for i, name in enumerate(fields) if field_type(entity, name) is list)


@dataclass(slots=True)
class RecordState:
    """One canonical record while a page is applied to it."""

    values: dict[str, Any]
    provenance: dict[str, Provenance]
    is_new: bool
    deleted_at: datetime | None = None
    dirty: bool = False
    provenance_dirty: bool = False


def load_states(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, RecordState]:
    """Current values and provenance of existing records."""
    fields, _ = _layout(entity)
    states: dict[str, RecordState] = {}
    for record_id, custom, deleted_at, provenance, *row in select_in(
            conn, entity_table(entity), ("id", "custom", "deleted_at", "provenance", *fields), "id", list(set(ids))):
        values = {name: value for name, value in zip(fields, row, strict=True) if value is not None}
        if custom:
            values.update({CUSTOM_PREFIX + k: v for k, v in custom.items()})
        states[record_id] = RecordState(values, unpack(provenance), is_new=False, deleted_at=deleted_at)
    return states


def write_states(conn: Connection, entity: str, states: dict[str, RecordState], now: datetime) -> None:
    """Insert new records, update changed ones (values and provenance in the same row)."""
    table = entity_table(entity)
    fields, list_positions = _layout(entity)
    columns = [*fields, "custom", "provenance", "updated_at", "deleted_at"]
    inserts, updates, provenance_only = [], [], []
    for record_id, state in states.items():
        if state.is_new or state.dirty:
            values = state.values
            row = [values.get(name) for name in fields]
            for index in list_positions:
                if row[index] is None:
                    row[index] = EMPTY_LIST
            custom = {k[len(CUSTOM_PREFIX):]: v for k, v in values.items()
                      if k.startswith(CUSTOM_PREFIX) and v is not None} or EMPTY
            row += (custom, pack(state.provenance), now, state.deleted_at, record_id)
            if state.is_new:
                row.append(now)
                inserts.append(row)
            else:
                updates.append(row)
        elif state.provenance_dirty:
            provenance_only.append((pack(state.provenance), record_id))
    insert_rows(conn, table, [*columns, "id", "created_at"], inserts)
    update_rows(conn, table, columns, ["id"], updates)
    update_rows(conn, table, ["provenance"], ["id"], provenance_only)
