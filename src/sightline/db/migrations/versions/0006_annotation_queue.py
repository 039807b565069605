"""annotation queues: human review of traces (filled in by issue 15)

`annotation_queue` names the metrics its reviewers fill (with each metric's score type at
creation) and how its traces were chosen; `annotation_queue_item` is one trace of a queue,
its status (PENDING, DONE, SKIPPED) and the short lease of the reviewer it was handed to.
The annotations are `trace_score` rows (source ANNOTATION, no run): nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sightline.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sightline.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "annotation_queue",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        sa.Column("filters", _JSON, nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_annotation_queue_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_queue")),
    )
    with op.batch_alter_table("annotation_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_annotation_queue_project_created", ["project_id", "created_at"], unique=False
        )
    op.create_table(
        "annotation_queue_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("trace_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("leased_by", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("completed_by", sa.String(length=255), nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["annotation_queue.id"],
            name=op.f("fk_annotation_queue_item_queue_id_annotation_queue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["trace.trace_id"],
            name=op.f("fk_annotation_queue_item_trace_id_trace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_queue_item")),
    )
    with op.batch_alter_table("annotation_queue_item", schema=None) as batch_op:
        batch_op.create_index(
            "uq_annotation_queue_item_queue_trace", ["queue_id", "trace_id"], unique=True
        )
        batch_op.create_index(
            "ix_annotation_queue_item_queue_status_position",
            ["queue_id", "status", "position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_annotation_queue_item_trace_id"), ["trace_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("annotation_queue_item")
    op.drop_table("annotation_queue")
