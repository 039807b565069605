"""Annotation queues (issue 15): traces set aside for people to score, and their progress.

A queue names the metrics its reviewers fill, each with the score type it had when the
queue was made (a later edit of a custom metric does not change what a queue accepts). Each
trace of the queue is an item; `GET .../next` leases an item to one reviewer for a short
while, so two reviewers are never handed the same trace at once. The annotations themselves
are ordinary `trace_score` rows (source ANNOTATION, no run), never columns here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sightline.db.models.base import Base
from sightline.db.types import JSONType, UTCDateTime, utcnow
from sightline.kit.statuses import AnnotationItemStatus


class AnnotationQueue(Base):
    __tablename__ = "annotation_queue"
    __table_args__ = (Index("ix_annotation_queue_project_created", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("project.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    # [{"name", "data_type", "labels", "version"}], in the order the creator gave them.
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The trace-run filter that selected the traces (null when they were given by ID).
    filters: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    sample_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnnotationQueueItem(Base):
    __tablename__ = "annotation_queue_item"
    __table_args__ = (
        Index("uq_annotation_queue_item_queue_trace", "queue_id", "trace_id", unique=True),
        # The next-item look-up: a queue's pending items in order.
        Index("ix_annotation_queue_item_queue_status_position", "queue_id", "status", "position"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    queue_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("annotation_queue.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # A deleted trace takes its item with it: there is nothing left to review.
    trace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trace.trace_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=AnnotationItemStatus.PENDING)
    # The reviewer (API key name) holding the item, until lease_expires_at; free after it.
    leased_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
