"""A project's own metrics (issue 15): one row per version of a definition.

Editing a metric adds a row with the next version; deleting marks every row of the name
(``deleted_at``), so the scores that name a version and the history survive. A name deleted
and defined again continues its version numbers (a new definition is never mistaken for an
old one's scores)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sightline.db.models.base import Base
from sightline.db.types import JSONType, UTCDateTime, utcnow


class CustomMetric(Base):
    __tablename__ = "custom_metric"
    __table_args__ = (
        Index(
            "uq_custom_metric_project_name_version", "project_id", "name", "version", unique=True
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set on every row of the name when the metric is deleted; live rows have it null.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
