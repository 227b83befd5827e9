"""provenance on entity rows

Field provenance moves from the field_provenance table (one row per record, {field: [system, ts, run]}) to a
`provenance` column on each entity table, grouped by source assertion: [[system, ts, run, [field, ...]], ...].
Existing provenance is carried over record by record; downgrade carries it back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:20:06.755208
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ENTITIES = ("lead", "company", "deal", "activity", "payment")
BATCH = 1000

# The packing rules are copied here, not imported, so this revision keeps meaning what it meant when written.


def _pack(fields: dict[str, list[Any]]) -> list[list[Any]]:
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, (system, ts, run) in fields.items():
        groups.setdefault((system, ts, run), []).append(name)
    ordered = sorted(groups.items(), key=lambda item: (item[0][1], item[0][0], item[0][2] or ""))
    return [[system, ts, run, sorted(names)] for (system, ts, run), names in ordered]


def _unpack(packed: list[list[Any]]) -> dict[str, list[Any]]:
    return {name: [system, ts, run] for system, ts, run, names in packed for name in names}


def _old_table() -> sa.TableClause:
    return sa.table("field_provenance", sa.column("entity", sa.String), sa.column("canonical_id", sa.String),
                    sa.column("fields", sa.JSON))


def _entity_table(entity: str) -> sa.TableClause:
    return sa.table(entity, sa.column("id", sa.String), sa.column("provenance", sa.JSON))


def upgrade() -> None:
    for entity in ENTITIES:
        with op.batch_alter_table(entity, schema=None) as batch_op:
            batch_op.add_column(sa.Column('provenance', sa.JSON(), server_default='[]', nullable=False))
    conn = op.get_bind()
    old = _old_table()
    last: tuple[str, str] = ("", "")
    while True:  # keyset pages over the primary key: memory stays flat on a large store
        rows = conn.execute(
            sa.select(old.c.entity, old.c.canonical_id, old.c.fields)
            .where(sa.tuple_(old.c.entity, old.c.canonical_id) > sa.tuple_(*last))
            .order_by(old.c.entity, old.c.canonical_id).limit(BATCH)).all()
        if not rows:
            break
        by_entity: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entity, canonical_id, fields in rows:
            by_entity[entity].append({"record_id": canonical_id, "packed": _pack(fields or {})})
        for entity, updates in by_entity.items():
            table = _entity_table(entity)
            conn.execute(table.update().where(table.c.id == sa.bindparam("record_id"))
                         .values(provenance=sa.bindparam("packed", type_=sa.JSON)), updates)
        last = (rows[-1][0], rows[-1][1])
    op.drop_table('field_provenance')


def downgrade() -> None:
    op.create_table('field_provenance',
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('canonical_id', sa.String(length=32), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('entity', 'canonical_id')
    )
    conn = op.get_bind()
    old = _old_table()
    for entity in ENTITIES:
        table = _entity_table(entity)
        last = ""
        while True:
            rows = conn.execute(sa.select(table.c.id, table.c.provenance).where(table.c.id > last)
                                .order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            inserts = [{"entity": entity, "canonical_id": record_id, "fields": _unpack(packed)}
                       for record_id, packed in rows if packed]
            if inserts:
                conn.execute(old.insert(), inserts)
            last = rows[-1][0]
        with op.batch_alter_table(entity, schema=None) as batch_op:
            batch_op.drop_column('provenance')
