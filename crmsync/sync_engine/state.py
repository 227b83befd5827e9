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
from crmsync.store.provenance import Packed, Provenance, SourceEntry, pack, unpack

# Shared: one JSON encoding per batch for the many records without custom fields or list values. Never changed.
# (An empty tuple is stored as the same JSON array as an empty list, and leaves a row tuple untrackable.)
EMPTY: dict[str, Any] = {}
EMPTY_ARRAY: tuple[Any, ...] = ()


def entity_table(entity: str) -> Table:
    return ENTITY_MODELS[entity].__table__  # type: ignore[return-value]


@cache
def _layout(entity: str) -> tuple[tuple[str, ...], tuple[tuple[int, Any], ...]]:
    """Mergeable fields in column order for writes, and the positions of list and map fields with the value stored
    when they are unset ([] or {}: their columns are NOT NULL)."""
    fields = tuple(sorted(mergeable_fields(entity)))
    empties = {list: EMPTY_ARRAY, dict: EMPTY}
    return fields, tuple((i, empties[kind]) for i, name in enumerate(fields)
                         if (kind := field_type(entity, name)) in empties)


@cache
def _field_set(entity: str) -> frozenset[str]:
    return frozenset(_layout(entity)[0])


@cache
def _empty_values(entity: str) -> dict[str, Any]:
    """List and map fields -> what is stored when they are unset."""
    fields, positions = _layout(entity)
    return {fields[i]: empty for i, empty in positions}


@dataclass(slots=True)
class RecordState:
    """One canonical record while a page is applied to it."""

    values: dict[str, Any]
    provenance: dict[str, Provenance]
    is_new: bool
    deleted_at: datetime | None = None
    dirty: bool = False
    provenance_dirty: bool = False
    # Names of the fields (and `deleted_at`) changed, when the caller tracks them: the UPDATE then sets only those
    # columns, so indexes on unchanged columns are left alone. None: a dirty record rewrites every column.
    changed: tuple[str, ...] | None = None
    # A new record whose every field came from one source keeps just that source's stored entry (system, source
    # time, run, its field names), with `provenance` empty, until something needs the per-field map (expand); its
    # values must not change before that. A page holds one per new record,
    # and a tuple costs the garbage collector nothing where a dict of lists is traversed on every collection.
    source: SourceEntry | None = None

    def expand(self) -> None:
        """Turn `source` into the per-field provenance map."""
        if self.source is not None:
            entry = list(self.source[:3])
            self.provenance = {name: entry for name in self.values}
            self.source = None

    def packed_provenance(self) -> Packed:
        if self.source is not None:
            return (self.source,) if self.values else ()
        return pack(self.provenance)


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
    fields, empty_positions = _layout(entity)
    columns = (*fields, "custom", "provenance", "updated_at", "deleted_at")
    inserts: list[tuple[Any, ...]] = []
    provenance_only: list[tuple[Any, ...]] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for record_id, state in states.items():
        if state.is_new or (state.dirty and state.changed is None):
            values = state.values
            row = [values.get(name) for name in fields]
            for index, empty in empty_positions:
                if row[index] is None:
                    row[index] = empty
            # Custom fields are the keys beyond the columns: one set difference finds there are none (usually).
            custom = _custom(values) if values.keys() - _field_set(entity) else EMPTY
            row += (custom, state.packed_provenance(), now, state.deleted_at, record_id)
            if state.is_new:
                row.append(now)
                inserts.append(tuple(row))  # rows wait for the batch as tuples: see Packed
            else:
                updates.setdefault(columns, []).append(tuple(row))
        elif state.dirty:
            changed_columns, row = _changed_row(entity, state, now)
            row.append(record_id)
            updates.setdefault(changed_columns, []).append(tuple(row))
        elif state.provenance_dirty:
            provenance_only.append((state.packed_provenance(), record_id))
    insert_rows(conn, table, [*columns, "id", "created_at"], inserts)
    for update_columns, rows in updates.items():
        update_rows(conn, table, update_columns, ["id"], rows)
    update_rows(conn, table, ["provenance"], ["id"], provenance_only)


def _custom(values: dict[str, Any]) -> dict[str, Any]:
    return {k[len(CUSTOM_PREFIX):]: v for k, v in values.items()
            if k.startswith(CUSTOM_PREFIX) and v is not None} or EMPTY


def _changed_row(entity: str, state: RecordState, now: datetime) -> tuple[tuple[str, ...], list[Any]]:
    """The columns a tracked change touched (plus provenance and updated_at) and their values."""
    fields, _ = _layout(entity)
    changed = set(state.changed or ())
    names = [name for name in fields if name in changed]
    values = state.values
    empties = _empty_values(entity)
    row = [empties.get(name) if values.get(name) is None else values.get(name) for name in names]
    if any(name.startswith(CUSTOM_PREFIX) for name in changed):
        names.append("custom")
        row.append(_custom(state.values))
    if "deleted_at" in changed:
        names.append("deleted_at")
        row.append(state.deleted_at)
    names += ("provenance", "updated_at")
    row += (state.packed_provenance(), now)
    return tuple(names), row
