"""Request and response models of the evaluation API (PandaProbe's shapes, plus accounting)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from sightline.api_types import NulFreeStr, Timestamp

TraceStatus = Literal["PENDING", "RUNNING", "COMPLETED", "ERROR"]
RunStatus = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED"]
ScoreSource = Literal["AUTOMATED", "ANNOTATION", "PROGRAMMATIC"]
ScoreStatus = Literal["SUCCESS", "FAILED", "PENDING"]
ScoreDataType = Literal["NUMERIC", "BOOLEAN", "CATEGORICAL"]
Granularity = Literal["hour", "day", "week"]

Name255 = Annotated[NulFreeStr, Field(min_length=1, max_length=255)]
MetricName = Annotated[str, Field(min_length=1, max_length=64)]
Tag = Annotated[str, Field(max_length=255)]


class EvalRunFilters(BaseModel):
    """Which traces a filter run covers; the same semantics as GET /traces. Unknown keys and
    malformed dates are refused (PandaProbe drops the former and answers 500 to the latter)."""

    model_config = ConfigDict(extra="forbid")

    date_from: Timestamp | None = None
    date_to: Timestamp | None = None
    status: TraceStatus | None = None
    session_id: Annotated[str, Field(max_length=255)] | None = None
    user_id: Annotated[str, Field(max_length=255)] | None = None
    tags: Annotated[list[Tag], Field(max_length=100)] | None = None
    name: Annotated[str, Field(max_length=512)] | None = None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class _RunOptions(BaseModel):
    name: Name255 | None = None
    metrics: Annotated[list[MetricName], Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    use_cache: bool = True
    max_cost_usd: Annotated[float, Field(gt=0)] | None = None


class TraceRunCreate(_RunOptions):
    filters: EvalRunFilters | None = None
    sampling_rate: Annotated[float, Field(gt=0, le=1)] = 1.0


class TraceRunBatchCreate(_RunOptions):
    trace_ids: Annotated[list[uuid.UUID], Field(min_length=1)]


class EvalRunResponse(BaseModel):
    id: uuid.UUID
    name: str | None
    status: RunStatus
    metric_names: list[str]
    total_targets: int
    evaluated_count: int
    failed_count: int
    created_at: Timestamp
    completed_at: Timestamp | None
    project_id: uuid.UUID
    target_type: str
    filters: dict[str, Any]
    sampling_rate: float
    model: str | None
    monitor_id: uuid.UUID | None
    error_message: str | None
    # Sightline's additions: what the judge cost, and the run's options.
    judge_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    use_cache: bool
    max_cost_usd: float | None
    started_at: Timestamp | None

    model_config = ConfigDict(from_attributes=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_traces(self) -> int:
        """The counter's name in PandaProbe's published docs (older clients read it)."""
        return self.total_targets


class MetricInfo(BaseModel):
    name: str
    description: str
    category: str


class ProviderInfo(BaseModel):
    key: str
    name: str
    description: str
    available: bool
    message: str


class PromptStage(BaseModel):
    stage: str
    prompt: str


class MetricTemplate(MetricInfo):
    default_threshold: float
    prompt_preview: list[PromptStage]


class RunTemplate(BaseModel):
    metric: MetricTemplate
    filters: dict[str, Any]
    sampling_rate: float
    model: str


# -- scores ---------------------------------------------------------------------------


def check_value(value: str, data_type: str) -> str:
    """PandaProbe's value rules: NUMERIC in [0, 1], BOOLEAN true/false, CATEGORICAL free."""
    if data_type == "NUMERIC":
        try:
            number = float(value)
        except ValueError:
            raise ValueError("NUMERIC score must be a number") from None
        if not 0.0 <= number <= 1.0:  # also refuses nan
            raise ValueError("NUMERIC score must be in [0.0, 1.0]")
    elif data_type == "BOOLEAN" and value.strip().lower() not in ("true", "false"):
        raise ValueError("BOOLEAN score must be 'true' or 'false'")
    return value


class TraceScoreCreate(BaseModel):
    trace_id: uuid.UUID
    name: Name255
    value: Annotated[NulFreeStr, Field(max_length=255)]
    data_type: ScoreDataType = "NUMERIC"
    source: ScoreSource = "ANNOTATION"
    reason: Annotated[NulFreeStr, Field(max_length=10_000)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _value_matches_type(self) -> TraceScoreCreate:
        check_value(self.value, self.data_type)
        return self


class TraceScoreUpdate(BaseModel):
    """Only the fields present in the body change; `reason: null` clears the reason."""

    value: Annotated[NulFreeStr, Field(max_length=255)] | None = None
    reason: Annotated[NulFreeStr, Field(max_length=10_000)] | None = None
    metadata: dict[str, Any] | None = None


class TraceScoreResponse(BaseModel):
    id: uuid.UUID
    trace_id: uuid.UUID
    name: str
    value: str | None
    status: str
    source: str
    created_at: Timestamp
    project_id: uuid.UUID
    data_type: str
    eval_run_id: uuid.UUID | None
    author_user_id: str | None
    reason: str | None
    environment: str | None
    config_id: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    updated_at: Timestamp
    # Sightline's additions: the judge model and what the score cost.
    model: str | None = None
    judge_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


# -- analytics ------------------------------------------------------------------------


class ScoreSummary(BaseModel):
    metric_name: str
    avg_score: float | None
    min_score: float | None
    max_score: float | None
    median_score: float | None
    success_count: int
    failed_count: int
    latest_score_at: Timestamp | None


class ScoreTrendPoint(BaseModel):
    bucket: Timestamp | None
    metric_name: str
    avg_score: float
    count: int


class ScoreDistributionBucket(BaseModel):
    bucket: int
    bucket_min: float
    bucket_max: float
    count: int
