"""Request and response models of session runs, session scores and their analytics."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from sightline.api_types import NulFreeStr, Timestamp
from sightline.engine.session.aggregation import SIGNALS

MAX_SESSION_METRICS = 10
MAX_BATCH_SESSIONS = 1000
MAX_FILTER_TAGS = 50

ShortStr = Annotated[NulFreeStr, Field(min_length=1, max_length=255)]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def check_signal_weights(value: dict[str, float] | None) -> dict[str, float] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - set(SIGNALS))
    if unknown:
        raise ValueError(f"unknown signals {unknown}; signal_weights accepts {sorted(SIGNALS)}")
    return value


SignalWeights = Annotated[dict[str, Weight], Field(max_length=len(SIGNALS))]
_WEIGHTS = TypeAdapter(SignalWeights)


def parse_signal_weights(value: Any) -> dict[str, float]:
    """Finite, non-negative weights of known signals (PandaProbe accepted anything)."""
    weights = check_signal_weights(_WEIGHTS.validate_python(value))
    assert weights is not None
    return weights


class SessionEvalRunFilters(BaseModel):
    """Trace-level conditions; a session is in scope when one of its traces matches."""

    model_config = ConfigDict(extra="forbid")

    date_from: Timestamp | None = None
    date_to: Timestamp | None = None
    user_id: ShortStr | None = None
    tags: Annotated[list[ShortStr], Field(max_length=MAX_FILTER_TAGS)] | None = None
    has_error: bool | None = None
    min_trace_count: Annotated[int, Field(ge=1)] | None = None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class _RunOptions(BaseModel):
    name: ShortStr | None = None
    metrics: Annotated[list[ShortStr], Field(min_length=1, max_length=MAX_SESSION_METRICS)]
    model: ShortStr | None = None
    signal_weights: SignalWeights | None = None
    use_cache: bool = True
    max_cost_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    _weights = field_validator("signal_weights")(check_signal_weights)

    @field_validator("metrics")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class SessionRunCreate(_RunOptions):
    filters: SessionEvalRunFilters | None = None
    sampling_rate: Annotated[float, Field(gt=0, le=1)] = 1.0


class SessionBatchRunCreate(_RunOptions):
    session_ids: Annotated[list[ShortStr], Field(min_length=1, max_length=MAX_BATCH_SESSIONS)]


class SessionScoreResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    session_id: str
    project_id: uuid.UUID
    name: str
    data_type: str
    value: str | None
    source: str
    status: str
    eval_run_id: uuid.UUID | None
    author_user_id: str | None
    reason: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    model: str | None = None  # Sightline's addition: the judge model
    created_at: Timestamp
    updated_at: Timestamp


class ScoreTrendPoint(BaseModel):
    bucket: str | None
    metric_name: str
    avg_score: float
    count: int


class ScoreDistributionBucket(BaseModel):
    bucket: int
    bucket_min: float
    bucket_max: float
    count: int


class SessionHistoryPoint(BaseModel):
    metric_name: str
    score: float | None
    eval_run_id: str | None
    created_at: str | None
    status: str


class SessionComparisonItem(BaseModel):
    session_id: str
    score: float | None
    evaluated_at: str | None
    eval_run_id: str | None


class SessionMetricInfo(BaseModel):
    name: str
    description: str
    category: Literal["session"] = "session"
