"""owners per system, the values each system last held, outbox kinds and held items

- `lead.owner` and `deal.owner` become `owners` ({connection: that system's user id}): an owner is a user of
  one system, and merging one system's user id over another's made every system overwrite the others. An
  existing owner moves under the connection its provenance names, and its provenance follows it.
- `external_ref.seen_values`: the canonical values the system last held for the record; NULL until known.
- `outbox_item.kind`: upsert or delete (a delete propagated to the target).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:45:00.000000
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ("lead", "deal")


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _rename_in_provenance(provenance: list[Any], old: str, new: str) -> list[Any]:
    return [[*entry[:3], sorted(new if name == old else name for name in entry[3])] for entry in provenance]


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('owners', sa.JSON(), nullable=False, server_default='{}'))
        rows = op.get_bind().execute(sa.text(
            f"SELECT id, owner, provenance FROM {table} WHERE owner IS NOT NULL")).all()
        for record_id, owner, provenance in rows:
            provenance = _load(provenance) or []
            system = next((entry[0] for entry in provenance if "owner" in entry[3]), "unknown")
            op.get_bind().execute(sa.text(f"UPDATE {table} SET owners = :owners, provenance = :provenance "
                                          "WHERE id = :id"),
                                  {"owners": json.dumps({system: owner}), "id": record_id,
                                   "provenance": json.dumps(_rename_in_provenance(provenance, "owner", "owners"))})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('owner')
    with op.batch_alter_table('external_ref', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_values', sa.JSON(), nullable=True))
    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='upsert'))


def downgrade() -> None:
    with op.batch_alter_table('outbox_item', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('external_ref', schema=None) as batch_op:
        batch_op.drop_column('seen_values')
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('owner', sa.String(), nullable=True))
        rows = op.get_bind().execute(sa.text(f"SELECT id, owners, provenance FROM {table}")).all()
        for record_id, owners, provenance in rows:
            owners = _load(owners) or {}
            if not owners:
                continue
            provenance = _rename_in_provenance(_load(provenance) or [], "owners", "owner")
            op.get_bind().execute(sa.text(f"UPDATE {table} SET owner = :owner, provenance = :provenance "
                                          "WHERE id = :id"),
                                  {"owner": next(iter(owners.values())), "provenance": json.dumps(provenance),
                                   "id": record_id})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('owners')
