"""dashboard_session: the dashboard's signed-in sessions, so that signing out ends one

The cookie is signed and names its session; a page is served only while the session's row
exists, and signing out deletes it (a copied cookie is then refused). Rows cascade with
their API key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sightline.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_key.id"],
            name=op.f("fk_dashboard_session_key_id_api_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
    )
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_session_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dashboard_session_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("dashboard_session")
