"""Request and response models of annotation queues.

The values of an annotation are checked twice: once by FastAPI for their shape, and once by
the service against the queue's metrics (`AnnotationCreate.model_validate(..., context=)`),
so a value that does not fit its metric's score type is a 422 naming that very field
("scores -> 1 -> value"), like every other request-schema error."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sightline.evals.runs.schemas import EvalRunFilters, MetricName
from sightline.evals.scores.schemas import TraceScoreResponse, check_value
from sightline.kit.statuses import AnnotationItemStatus, ScoreDataType
from sightline.kit.types import CleanStr, Name255, Timestamp

MAX_QUEUE_METRICS = 20
MAX_QUEUE_TRACES = 10_000
# The validation context key under which the service passes the queue's metrics.
QUEUE_METRICS = "queue_metrics"


class QueueMetric(BaseModel):
    """A metric a queue's reviewers fill, with its score type when the queue was made."""

    name: str
    data_type: ScoreDataType
    labels: list[str] | None = None
    version: int = 1


class AnnotationQueueCreate(BaseModel):
    """The traces come either as IDs or as a trace-run filter (`{}`: every trace), of which
    at most `sample_size` are taken, by the same deterministic hash that samples runs."""

    model_config = ConfigDict(extra="forbid")

    name: Name255
    metrics: Annotated[list[MetricName], Field(min_length=1, max_length=MAX_QUEUE_METRICS)]
    trace_ids: (
        Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_QUEUE_TRACES)] | None
    ) = None
    filters: EvalRunFilters | None = None
    sample_size: Annotated[int, Field(ge=1, le=MAX_QUEUE_TRACES)] | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> AnnotationQueueCreate:
        if (self.trace_ids is None) == (self.filters is None):
            raise ValueError("give either trace_ids or filters (filters: {} for every trace)")
        if self.sample_size is not None and self.filters is None:
            raise ValueError("sample_size applies to filters; list the trace_ids you want instead")
        return self


class QueueProgress(BaseModel):
    total: int
    done: int
    skipped: int
    remaining: int


class AnnotationQueueResponse(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    metrics: list[QueueMetric]
    filters: dict[str, Any] | None
    sample_size: int | None
    created_by: str | None
    created_at: Timestamp
    progress: QueueProgress


class QueueItemResponse(BaseModel):
    id: uuid.UUID
    queue_id: uuid.UUID
    trace_id: uuid.UUID
    position: int
    status: AnnotationItemStatus
    leased_by: str | None
    lease_expires_at: Timestamp | None
    completed_by: str | None
    completed_at: Timestamp | None

    model_config = ConfigDict(from_attributes=True)


class NextItemResponse(QueueItemResponse):
    """The item handed to the caller, with what to fill in (the trace: GET /traces/{id})."""

    metrics: list[QueueMetric]


class AnnotationValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: MetricName
    value: Annotated[CleanStr, Field(min_length=1, max_length=255)]
    reason: Annotated[CleanStr, Field(max_length=10_000)] | None = None

    @field_validator("name")
    @classmethod
    def _a_queue_metric(cls, name: str, info: ValidationInfo) -> str:
        metrics = _queue_metrics(info)
        if metrics is not None and name not in metrics:
            raise ValueError(
                f"{name!r} is not a metric of this queue; its metrics: {', '.join(metrics)}"
            )
        return name

    @field_validator("value")
    @classmethod
    def _fits_the_metric(cls, value: str, info: ValidationInfo) -> str:
        metrics = _queue_metrics(info)
        metric = None if metrics is None else metrics.get(info.data.get("name", ""))
        if metric is None:  # the shape-only pass, or a name already refused
            return value
        if metric.data_type is ScoreDataType.BOOLEAN:
            return check_value(value, metric.data_type).strip().lower()
        if metric.data_type is ScoreDataType.CATEGORICAL and metric.labels:
            if value not in metric.labels:
                raise ValueError(f"must be one of the labels: {', '.join(metric.labels)}")
            return value
        return check_value(value, metric.data_type)


def _queue_metrics(info: ValidationInfo) -> dict[str, QueueMetric] | None:
    found: dict[str, QueueMetric] | None = (info.context or {}).get(QUEUE_METRICS)
    return found


class AnnotationCreate(BaseModel):
    """One score per queue metric given (at least one; each metric at most once)."""

    model_config = ConfigDict(extra="forbid")

    scores: Annotated[list[AnnotationValue], Field(min_length=1, max_length=MAX_QUEUE_METRICS)]

    @field_validator("scores")
    @classmethod
    def _each_metric_once(cls, scores: list[AnnotationValue]) -> list[AnnotationValue]:
        names = [s.name for s in scores]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each metric at most once; repeated: {', '.join(repeated)}")
        return scores


class AnnotationResult(BaseModel):
    item: QueueItemResponse
    scores: list[TraceScoreResponse]
