"""span.cost_source: whether a span's cost came from the client or the model price map

Existing rows are left null: every cost stored before this revision was sent by a client,
and the code reads a null source beside a cost as exactly that, so no table scan is needed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("span", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_source", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("span", schema=None) as batch_op:
        batch_op.drop_column("cost_source")
