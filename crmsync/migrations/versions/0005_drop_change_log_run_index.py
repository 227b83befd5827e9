"""drop the change log's run_id index

No query reads the change log by run (history is read per record, through ix_change_log_record), and every
applied change paid for one more B-tree entry: a seventh of a created record's index writes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 19:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index('ix_change_log_run_id')


def downgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.create_index('ix_change_log_run_id', ['run_id'], unique=False)
