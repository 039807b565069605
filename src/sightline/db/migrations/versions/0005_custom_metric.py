"""custom_metric: a project's own metrics, one row per version (filled in by issue 15)

Editing a metric adds a row with the next version; deleting one sets ``deleted_at`` on
every row of its name, so scores and history survive. ``eval_run.metric_versions`` pins the
version of each custom metric a run uses (null for a run of built-ins only, as every run
before this revision).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sightline.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "custom_metric",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("config", _JSON, nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_custom_metric_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_metric")),
    )
    with op.batch_alter_table("custom_metric", schema=None) as batch_op:
        batch_op.create_index(
            "uq_custom_metric_project_name_version",
            ["project_id", "name", "version"],
            unique=True,
        )
    with op.batch_alter_table("eval_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metric_versions", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_run", schema=None) as batch_op:
        batch_op.drop_column("metric_versions")
    op.drop_table("custom_metric")
