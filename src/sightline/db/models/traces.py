from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sightline.db.models.base import Base
from sightline.db.types import JSONType, UTCDateTime, utcnow


class Trace(Base):
    """A trace; span aggregates are kept on the row so lists never scan spans."""

    __tablename__ = "trace"
    __table_args__ = (
        Index("ix_trace_project_started", "project_id", "started_at"),
        Index("ix_trace_project_created", "project_id", "created_at"),
        Index("ix_trace_project_ingested", "project_id", "ingested_at"),
        Index("ix_trace_project_session", "project_id", "session_id", "started_at"),
        Index("ix_trace_project_status", "project_id", "status", "started_at"),
        Index("ix_trace_project_user", "project_id", "user_id", "started_at"),
        Index("ix_trace_project_name", "project_id", "name"),
        Index("ix_trace_project_latency", "project_id", "latency_ms"),
        Index("ix_trace_project_ended", "project_id", "ended_at"),
    )

    trace_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    environment: Mapped[str | None] = mapped_column(String(255), nullable=True)
    release: Mapped[str | None] = mapped_column(String(255), nullable=True)
    span_count: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last time anything about the trace was ingested; monitors use it to notice late arrivals.
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TraceTag(Base):
    """One row per (trace, tag): makes the ANY-tag filter an indexed lookup on both databases."""

    __tablename__ = "trace_tag"
    __table_args__ = (Index("ix_trace_tag_project_tag", "project_id", "tag", "trace_id"),)

    trace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trace.trace_id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class Span(Base):
    __tablename__ = "span"
    __table_args__ = (
        Index("ix_span_trace_started", "trace_id", "started_at"),
        Index("ix_span_project_started", "project_id", "started_at"),
        Index("ix_span_project_model", "project_id", "model"),
    )

    span_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    trace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trace.trace_id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    parent_span_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    token_usage: Mapped[dict[str, int] | None] = mapped_column(JSONType, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    completion_start_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    model_parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    cost: Mapped[dict[str, float] | None] = mapped_column(JSONType, nullable=True)
    # "client" or "price_map" (derived at ingestion, traces/ingest/pricing.py); null with a
    # cost in rows from before the column existed, which all came from clients.
    cost_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Derived on write from token_usage / cost so aggregates never cast JSON in SQL.
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_total: Mapped[float] = mapped_column(Float, default=0.0)
