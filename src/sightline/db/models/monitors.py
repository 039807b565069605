from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sightline.db.models.base import Base
from sightline.db.types import JSONType, UTCDateTime, utcnow
from sightline.kit.statuses import MonitorStatus


class EvalMonitor(Base):
    __tablename__ = "eval_monitor"
    __table_args__ = (
        Index("ix_eval_monitor_project_status_created", "project_id", "status", "created_at"),
        Index("ix_eval_monitor_status_next_run", "status", "next_run_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    target_type: Mapped[str] = mapped_column(String(20))
    metric_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sampling_rate: Mapped[float] = mapped_column(Float, default=1.0)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    cadence: Mapped[str] = mapped_column(String(255))
    only_if_changed: Mapped[bool] = mapped_column(Boolean, default=True)
    only_unscored: Mapped[bool] = mapped_column(Boolean, default=True)
    max_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=MonitorStatus.ACTIVE)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("eval_run.id", ondelete="SET NULL", use_alter=True), nullable=True
    )
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_skip_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_skip_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
