"""Read and write canonical records in batches, as flat field -> value maps (custom fields as `custom.<k>`).

The ingest path works on whole pages: one SELECT per table per page and executemany writes, never an ORM
round trip per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, select

from crmsync.mappings.mapper import CUSTOM_PREFIX
from crmsync.store.bulk import insert_rows, update_rows
from crmsync.store.models import ENTITY_MODELS, FieldProvenance, field_type, mergeable_fields
from crmsync.sync_engine.identity import chunks
from crmsync.sync_engine.merge import Provenance

PROVENANCE: Table = FieldProvenance.__table__  # type: ignore[assignment]


def entity_table(entity: str) -> Table:
    return ENTITY_MODELS[entity].__table__  # type: ignore[return-value]


@dataclass(slots=True)
class RecordState:
    """One canonical record while a page is applied to it."""

    values: dict[str, Any]
    provenance: dict[str, Provenance]
    is_new: bool
    created_at: datetime | None = None
    deleted_at: datetime | None = None
    dirty: bool = False
    provenance_dirty: bool = False
    had_provenance: bool = False
    changes: dict[str, list[Any]] = field(default_factory=dict)


def load_states(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, RecordState]:
    """Current values and provenance of existing records."""
    table = entity_table(entity)
    fields = sorted(mergeable_fields(entity))
    states: dict[str, RecordState] = {}
    id_list = sorted(set(ids))
    for part in chunks(id_list):
        for row in conn.execute(select(table).where(table.c.id.in_(part))).mappings():
            values = {name: row[name] for name in fields if row[name] is not None}
            values.update({CUSTOM_PREFIX + k: v for k, v in (row["custom"] or {}).items()})
            states[row["id"]] = RecordState(values, {}, is_new=False, created_at=row["created_at"],
                                             deleted_at=row["deleted_at"])
        query = select(PROVENANCE.c.canonical_id, PROVENANCE.c.fields).where(
            and_(PROVENANCE.c.entity == entity, PROVENANCE.c.canonical_id.in_(part)))
        for row in conn.execute(query):
            if row.canonical_id in states:
                states[row.canonical_id].provenance = dict(row.fields)
                states[row.canonical_id].had_provenance = True
    return states


def write_states(conn: Connection, entity: str, states: dict[str, RecordState], now: datetime) -> None:
    """Insert new records, update changed ones, and keep provenance beside them."""
    table = entity_table(entity)
    fields = sorted(mergeable_fields(entity))
    list_fields = {name for name in fields if field_type(entity, name) is list}
    columns = [*fields, "custom", "updated_at", "deleted_at"]
    inserts, updates, prov_inserts, prov_updates = [], [], [], []
    for record_id, state in states.items():
        if not (state.is_new or state.dirty or state.provenance_dirty):
            continue
        if state.is_new or state.dirty:
            values = state.values
            row = [values.get(name) for name in fields]
            for index, name in enumerate(fields):
                if row[index] is None and name in list_fields:
                    row[index] = []
            custom = {k[len(CUSTOM_PREFIX):]: v for k, v in values.items()
                      if k.startswith(CUSTOM_PREFIX) and v is not None}
            row += [custom, now, state.deleted_at]
            if state.is_new:
                inserts.append((*row, record_id, now, None))
            else:
                updates.append((*row, record_id))
        if state.provenance_dirty:
            if state.had_provenance:
                prov_updates.append((state.provenance, entity, record_id))
            else:
                prov_inserts.append((entity, record_id, state.provenance))
    insert_rows(conn, table, [*columns, "id", "created_at", "merged_into"], inserts)
    update_rows(conn, table, columns, ["id"], updates)
    insert_rows(conn, PROVENANCE, ["entity", "canonical_id", "fields"], prov_inserts)
    update_rows(conn, PROVENANCE, ["fields"], ["entity", "canonical_id"], prov_updates)
