"""eval_task.lease_holder: which process holds a running task's lease

A restarted process frees the leases of its dead predecessors at once instead of waiting
for them to expire (engine/holder.py). Existing rows are left null: a running task without
a holder is freed by its lease's expiry, as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eval_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_holder", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_task", schema=None) as batch_op:
        batch_op.drop_column("lease_holder")
