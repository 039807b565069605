"""Request and response models of the evaluation API (PandaProbe's shapes, plus accounting)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from sightline.kit.statuses import RunStatus, TraceStatus
from sightline.kit.types import CleanStr, Name255, Timestamp

MetricName = Annotated[CleanStr, Field(min_length=1, max_length=64)]
Tag = Annotated[CleanStr, Field(max_length=255)]


class EvalRunFilters(BaseModel):
    """Which traces a filter run covers; the same semantics as GET /traces. Unknown keys and
    malformed dates are refused (PandaProbe drops the former and answers 500 to the latter)."""

    model_config = ConfigDict(extra="forbid")

    date_from: Timestamp | None = None
    date_to: Timestamp | None = None
    status: TraceStatus | None = None
    session_id: Annotated[CleanStr, Field(max_length=255)] | None = None
    user_id: Annotated[CleanStr, Field(max_length=255)] | None = None
    tags: Annotated[list[Tag], Field(max_length=100)] | None = None
    name: Annotated[CleanStr, Field(max_length=512)] | None = None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RunOptions(BaseModel):
    """What every run request may set (trace and session runs alike)."""

    name: Name255 | None = None
    metrics: Annotated[list[MetricName], Field(min_length=1, max_length=64)]
    model: Name255 | None = None
    use_cache: bool = True
    max_cost_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class TraceRunCreate(RunOptions):
    filters: EvalRunFilters | None = None
    sampling_rate: Annotated[float, Field(gt=0, le=1)] = 1.0


class TraceRunBatchCreate(RunOptions):
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
    # On a run's own answer (GET by ID): how many processes hold its tasks under a live
    # lease right now, i.e. the workers evaluating it; null in lists.
    active_workers: int | None = None

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


# -- analytics ------------------------------------------------------------------------
