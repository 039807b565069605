from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sightline.db.models.base import Base
from sightline.db.types import JSONType, UTCDateTime, utcnow
from sightline.kit.statuses import RunStatus, ScoreDataType, TaskStatus


class EvalRun(Base):
    """An evaluation run. Counters and cost totals are recomputed from task and score rows."""

    __tablename__ = "eval_run"
    __table_args__ = (
        Index("ix_eval_run_project_type_created", "project_id", "target_type", "created_at"),
        Index("ix_eval_run_monitor_created", "monitor_id", "created_at"),
        Index("ix_eval_run_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    target_type: Mapped[str] = mapped_column(String(20))
    metric_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The version of each custom metric of metric_names, pinned at creation (null when the
    # run uses built-ins only).
    metric_versions: Mapped[dict[str, int] | None] = mapped_column(JSONType, nullable=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sampling_rate: Mapped[float] = mapped_column(Float, default=1.0)
    sample_salt: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    monitor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("eval_monitor.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.PENDING)
    use_cache: Mapped[bool] = mapped_column(Boolean, default=True)
    max_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    total_targets: Mapped[int] = mapped_column(Integer, default=0)
    evaluated_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    judge_calls: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EvalTask(Base):
    """One unit of work of a run: a (target, metric) pair. Claimed with a conditional UPDATE."""

    __tablename__ = "eval_task"
    __table_args__ = (
        Index("uq_eval_task_run_target_metric", "run_id", "target_id", "metric", unique=True),
        Index("ix_eval_task_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("eval_run.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    target_id: Mapped[str] = mapped_column(String(255))
    metric: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # PENDING -> RUNNING -> DONE | FAILED; RUNNING with an expired lease is claimable again.
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The process holding the lease (engine/holder.py): a dead holder's lease is free at once.
    lease_holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class _ScoreColumns:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    data_type: Mapped[str] = mapped_column(String(20), default=ScoreDataType.NUMERIC)
    value: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    author_user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # Judge model and accounting of automated scores (null/0 for human and SDK scores).
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    judge_calls: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TraceScore(_ScoreColumns, Base):
    __tablename__ = "trace_score"
    __table_args__ = (
        # One automated score per (run, trace, metric): retries and duplicate deliveries upsert.
        Index("uq_trace_score_run_trace_name", "eval_run_id", "trace_id", "name", unique=True),
        Index("ix_trace_score_trace_name_created", "trace_id", "name", "created_at"),
        Index("ix_trace_score_project_name_created", "project_id", "name", "created_at"),
        Index("ix_trace_score_project_created", "project_id", "created_at"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    trace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trace.trace_id", ondelete="CASCADE")
    )
    eval_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("eval_run.id", ondelete="SET NULL"), nullable=True
    )
    environment: Mapped[str | None] = mapped_column(String(255), nullable=True)
    config_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class SessionScore(_ScoreColumns, Base):
    __tablename__ = "session_score"
    __table_args__ = (
        Index(
            "uq_session_score_run_session_name", "eval_run_id", "session_id", "name", unique=True
        ),
        Index("ix_session_score_project_session", "project_id", "session_id", "created_at"),
        Index("ix_session_score_project_name_created", "project_id", "name", "created_at"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    session_id: Mapped[str] = mapped_column(String(255))
    eval_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("eval_run.id", ondelete="SET NULL"), nullable=True
    )


class JudgeCacheEntry(Base):
    """Durable judge cache: sha256(model, messages, schema) -> parsed answer."""

    __tablename__ = "judge_cache"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(255))
    response: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
