"""Read and write canonical records in batches, as flat field -> value maps (custom fields as `custom.<k>`).

The ingest path works on whole pages: one SELECT per table per page and executemany writes, never an ORM
round trip per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, select

from crmsync.mappings.mapper import CUSTOM_PREFIX
from crmsync.store.models import ENTITY_MODELS, FieldProvenance, mergeable_fields
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


def _row(fields: list[str], state: RecordState, now: datetime) -> dict[str, Any]:
    row = {name: state.values.get(name) for name in fields}
    if "tags" in row and row["tags"] is None:
        row["tags"] = []
    row["custom"] = {k[len(CUSTOM_PREFIX):]: v for k, v in state.values.items()
                     if k.startswith(CUSTOM_PREFIX) and v is not None}
    row["updated_at"] = now
    row["deleted_at"] = state.deleted_at
    return row


def write_states(conn: Connection, entity: str, states: dict[str, RecordState], now: datetime) -> None:
    """Insert new records, update changed ones, and keep provenance beside them."""
    table = entity_table(entity)
    fields = sorted(mergeable_fields(entity))
    inserts, updates, prov_inserts, prov_updates = [], [], [], []
    for record_id, state in states.items():
        if state.is_new:
            row = _row(fields, state, now)
            row.update(id=record_id, created_at=now, merged_into=None)
            inserts.append(row)
        elif state.dirty:
            row = _row(fields, state, now)
            row["b_id"] = record_id
            updates.append(row)
        if state.provenance_dirty:
            if state.had_provenance:
                prov_updates.append({"b_entity": entity, "b_id": record_id, "fields": state.provenance})
            else:
                prov_inserts.append({"entity": entity, "canonical_id": record_id, "fields": state.provenance})
    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        conn.execute(table.update().where(table.c.id == bindparam("b_id")), updates)
    if prov_inserts:
        conn.execute(PROVENANCE.insert(), prov_inserts)
    if prov_updates:
        conn.execute(
            PROVENANCE.update().where(and_(PROVENANCE.c.entity == bindparam("b_entity"),
                                           PROVENANCE.c.canonical_id == bindparam("b_id"))),
            prov_updates,
        )
