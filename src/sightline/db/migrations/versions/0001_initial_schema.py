"""initial schema

The eval_run <-> eval_monitor foreign keys form a cycle, so eval_monitor.last_run_id gets
its constraint after eval_run exists.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 09:17:30.385791
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sightline.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_cache",
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cache_key", name=op.f("pk_judge_cache")),
    )
    op.create_table(
        "organization",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("name", name=op.f("uq_organization_name")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_api_key_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_org_id"), ["org_id"], unique=False)

    op.create_table(
        "project",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_project_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
    )
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.create_index("uq_project_org_name", ["org_id", "name"], unique=True)

    op.create_table(
        "eval_monitor",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column(
            "metric_names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sampling_rate", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("cadence", sa.String(length=255), nullable=False),
        sa.Column("only_if_changed", sa.Boolean(), nullable=False),
        sa.Column("only_unscored", sa.Boolean(), nullable=False),
        sa.Column("max_cost_usd", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_run_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_id", sa.Uuid(), nullable=True),
        sa.Column("next_run_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_skip_reason", sa.Text(), nullable=True),
        sa.Column("last_skip_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_eval_monitor_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_monitor")),
    )
    with op.batch_alter_table("eval_monitor", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eval_monitor_project_status_created",
            ["project_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_eval_monitor_status_next_run", ["status", "next_run_at"], unique=False
        )

    op.create_table(
        "trace",
        sa.Column("trace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "input",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("started_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("release", sa.String(length=255), nullable=True),
        sa.Column("span_count", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Float(), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_trace_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trace_id", name=op.f("pk_trace")),
    )
    with op.batch_alter_table("trace", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trace_project_created", ["project_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_trace_project_ended", ["project_id", "ended_at"], unique=False)
        batch_op.create_index(
            "ix_trace_project_ingested", ["project_id", "ingested_at"], unique=False
        )
        batch_op.create_index(
            "ix_trace_project_latency", ["project_id", "latency_ms"], unique=False
        )
        batch_op.create_index("ix_trace_project_name", ["project_id", "name"], unique=False)
        batch_op.create_index(
            "ix_trace_project_session", ["project_id", "session_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_trace_project_started", ["project_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_trace_project_status", ["project_id", "status", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_trace_project_user", ["project_id", "user_id", "started_at"], unique=False
        )

    op.create_table(
        "eval_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column(
            "metric_names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sampling_rate", sa.Float(), nullable=False),
        sa.Column("sample_salt", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("monitor_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("use_cache", sa.Boolean(), nullable=False),
        sa.Column("max_cost_usd", sa.Float(), nullable=True),
        sa.Column("total_targets", sa.Integer(), nullable=False),
        sa.Column("evaluated_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("judge_calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["eval_monitor.id"],
            name=op.f("fk_eval_run_monitor_id_eval_monitor"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_eval_run_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_run")),
    )
    with op.batch_alter_table("eval_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eval_run_monitor_created", ["monitor_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_eval_run_project_type_created",
            ["project_id", "target_type", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_eval_run_status", ["status"], unique=False)

    op.create_table(
        "span",
        sa.Column("span_id", sa.Uuid(), nullable=False),
        sa.Column("trace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("parent_span_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "input",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column(
            "token_usage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("started_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "completion_start_time", sightline.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "model_parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "cost",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_total", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["trace.trace_id"],
            name=op.f("fk_span_trace_id_trace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("span_id", name=op.f("pk_span")),
    )
    with op.batch_alter_table("span", schema=None) as batch_op:
        batch_op.create_index("ix_span_project_model", ["project_id", "model"], unique=False)
        batch_op.create_index("ix_span_project_started", ["project_id", "started_at"], unique=False)
        batch_op.create_index("ix_span_trace_started", ["trace_id", "started_at"], unique=False)

    op.create_table(
        "trace_tag",
        sa.Column("trace_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["trace.trace_id"],
            name=op.f("fk_trace_tag_trace_id_trace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trace_id", "tag", name=op.f("pk_trace_tag")),
    )
    with op.batch_alter_table("trace_tag", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trace_tag_project_tag", ["project_id", "tag", "trace_id"], unique=False
        )

    with op.batch_alter_table("eval_monitor", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_eval_monitor_last_run_id_eval_run"),
            "eval_run",
            ["last_run_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "eval_task",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.String(length=255), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_expires_at", sightline.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["eval_run.id"],
            name=op.f("fk_eval_task_run_id_eval_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_task")),
    )
    with op.batch_alter_table("eval_task", schema=None) as batch_op:
        batch_op.create_index("ix_eval_task_run_status", ["run_id", "status"], unique=False)
        batch_op.create_index(
            "uq_eval_task_run_target_metric", ["run_id", "target_id", "metric"], unique=True
        )

    op.create_table(
        "session_score",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("eval_run_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_user_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("judge_calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["eval_run_id"],
            ["eval_run.id"],
            name=op.f("fk_session_score_eval_run_id_eval_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_session_score_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_score")),
    )
    with op.batch_alter_table("session_score", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_score_project_name_created",
            ["project_id", "name", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_session_score_project_session",
            ["project_id", "session_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_session_score_run_session_name", ["eval_run_id", "session_id", "name"], unique=True
        )

    op.create_table(
        "trace_score",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("trace_id", sa.Uuid(), nullable=False),
        sa.Column("eval_run_id", sa.Uuid(), nullable=True),
        sa.Column("environment", sa.String(length=255), nullable=True),
        sa.Column("config_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author_user_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("judge_calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("created_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sightline.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["eval_run_id"],
            ["eval_run.id"],
            name=op.f("fk_trace_score_eval_run_id_eval_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_trace_score_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["trace.trace_id"],
            name=op.f("fk_trace_score_trace_id_trace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_score")),
    )
    with op.batch_alter_table("trace_score", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trace_score_project_created", ["project_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_trace_score_project_name_created",
            ["project_id", "name", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_trace_score_trace_name_created", ["trace_id", "name", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_trace_score_run_trace_name", ["eval_run_id", "trace_id", "name"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("trace_score", schema=None) as batch_op:
        batch_op.drop_index("uq_trace_score_run_trace_name")
        batch_op.drop_index("ix_trace_score_trace_name_created")
        batch_op.drop_index("ix_trace_score_project_name_created")
        batch_op.drop_index("ix_trace_score_project_created")

    op.drop_table("trace_score")
    with op.batch_alter_table("session_score", schema=None) as batch_op:
        batch_op.drop_index("uq_session_score_run_session_name")
        batch_op.drop_index("ix_session_score_project_session")
        batch_op.drop_index("ix_session_score_project_name_created")

    op.drop_table("session_score")
    with op.batch_alter_table("eval_task", schema=None) as batch_op:
        batch_op.drop_index("uq_eval_task_run_target_metric")
        batch_op.drop_index("ix_eval_task_run_status")

    op.drop_table("eval_task")
    with op.batch_alter_table("trace_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_tag_project_tag")

    op.drop_table("trace_tag")
    with op.batch_alter_table("span", schema=None) as batch_op:
        batch_op.drop_index("ix_span_trace_started")
        batch_op.drop_index("ix_span_project_started")
        batch_op.drop_index("ix_span_project_model")

    op.drop_table("span")
    with op.batch_alter_table("eval_run", schema=None) as batch_op:
        batch_op.drop_index("ix_eval_run_status")
        batch_op.drop_index("ix_eval_run_project_type_created")
        batch_op.drop_index("ix_eval_run_monitor_created")

    op.drop_table("eval_run")
    with op.batch_alter_table("trace", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_project_user")
        batch_op.drop_index("ix_trace_project_status")
        batch_op.drop_index("ix_trace_project_started")
        batch_op.drop_index("ix_trace_project_session")
        batch_op.drop_index("ix_trace_project_name")
        batch_op.drop_index("ix_trace_project_latency")
        batch_op.drop_index("ix_trace_project_ingested")
        batch_op.drop_index("ix_trace_project_ended")
        batch_op.drop_index("ix_trace_project_created")

    op.drop_table("trace")
    with op.batch_alter_table("eval_monitor", schema=None) as batch_op:
        batch_op.drop_index("ix_eval_monitor_status_next_run")
        batch_op.drop_index("ix_eval_monitor_project_status_created")

    op.drop_table("eval_monitor")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_index("uq_project_org_name")

    op.drop_table("project")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_org_id"))

    op.drop_table("api_key")
    op.drop_table("organization")
    op.drop_table("judge_cache")
